"""The 三E daily log (日清单): every rep, every day, every thing.

One DailyLog per rep and local date holds the morning plan (PlanItem), the day's activities
(Activity) and the evening report. Once submitted, a log is never edited in place: a correction
is an Amendment with a reason, kept in the log's history.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from funnel.models import Account, Contact, Opportunity
from reps.models import ScopedQuerySet


class ActivityKind(models.Model):
    """Visit, call, meeting, demo, e-mail, other… an admin-edited list."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("activity kind")
        verbose_name_plural = _("activity kinds")

    def __str__(self) -> str:
        # The built-in kinds are stored in English and shown in the reader's language.
        return gettext(self.name)


class DailyLogQuerySet(ScopedQuerySet):
    owner_path = "rep"


class DailyLog(models.Model):
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("rep"), on_delete=models.PROTECT, related_name="daily_logs"
    )
    date = models.DateField(_("date"), help_text=_("The day in the rep's own time zone."))
    summary = models.TextField(_("summary of the day"), blank=True)
    problems = models.TextField(_("problems met"), blank=True)
    support_needed = models.TextField(_("support needed from my manager"), blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    is_late = models.BooleanField(_("submitted late"), default=False)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = DailyLogQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "rep"]
        verbose_name = _("daily log")
        verbose_name_plural = _("daily logs")
        constraints = [models.UniqueConstraint(fields=["rep", "date"], name="one_daily_log_per_rep_and_day")]
        indexes = [models.Index(fields=["date", "rep"], name="dailylog_date_rep")]

    def __str__(self) -> str:
        return f"{self.rep} · {self.date:%Y-%m-%d}"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None


class PlanItemStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DONE = "done", _("Done")
    CARRIED_OVER = "carried", _("Carried over")


class PlanItem(models.Model):
    """One thing the rep means to do today: cleared (done or carried over) before the report."""

    daily_log = models.ForeignKey(DailyLog, verbose_name=_("daily log"), on_delete=models.CASCADE, related_name="plan")
    kind = models.ForeignKey(ActivityKind, verbose_name=_("kind"), on_delete=models.PROTECT)
    account = models.ForeignKey(Account, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+")
    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("opportunity"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    goal = models.CharField(_("goal"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=PlanItemStatus.choices, default=PlanItemStatus.PLANNED
    )
    carry_reason = models.CharField(_("why carried over"), max_length=300, blank=True)
    carried_from = models.ForeignKey(
        "self", verbose_name=_("carried over from"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    follows_up = models.ForeignKey(
        "Activity",
        verbose_name=_("follows up"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The activity whose next date is this day."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("plan item")
        verbose_name_plural = _("plan items")

    def __str__(self) -> str:
        return f"{self.kind} · {self.account}"


class ActivityQuerySet(ScopedQuerySet):
    owner_path = "daily_log__rep"


class Activity(models.Model):
    """A visit, call or meeting as it happened: a sales action without a record did not happen."""

    daily_log = models.ForeignKey(
        DailyLog, verbose_name=_("daily log"), on_delete=models.PROTECT, related_name="activities"
    )
    kind = models.ForeignKey(ActivityKind, verbose_name=_("kind"), on_delete=models.PROTECT)
    account = models.ForeignKey(
        Account, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="activities"
    )
    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    plan_item = models.ForeignKey(
        PlanItem, verbose_name=_("plan item"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    when = models.DateTimeField(_("when"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    outcome = models.TextField(_("outcome"))
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    next_date = models.DateField(_("next date"), null=True, blank=True)
    next_time = models.TimeField(_("next time"), null=True, blank=True)
    is_backdated = models.BooleanField(_("back-dated"), default=False)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)
    # A random token from the form: a double tap or a resubmitted form creates one record (QUALITY R9).
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["when", "id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["account", "when"], name="activity_account_when"),
            models.Index(fields=["opportunity", "when"], name="activity_opportunity_when"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} · {self.account}"


class Amendment(models.Model):
    """A correction to a submitted log: what changed, why, by whom. Append-only."""

    daily_log = models.ForeignKey(
        DailyLog, verbose_name=_("daily log"), on_delete=models.PROTECT, related_name="amendments"
    )
    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT)
    at = models.DateTimeField(_("at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=300)
    changes = models.JSONField(_("changes"), default=dict)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("amendment")
        verbose_name_plural = _("amendments")

    def __str__(self) -> str:
        return f"{self.daily_log} · {self.reason}"

    @property
    def change_lines(self):
        """The changed fields by their labels, old and new values as a reader sees them ("Kind: Visit → Call")."""
        from .amendments import change_lines

        return change_lines(Activity, self.changes)


class Comment(models.Model):
    """A manager's comment on a log (or the rep's reply); answers a support request when flagged."""

    daily_log = models.ForeignKey(
        DailyLog, verbose_name=_("daily log"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT)
    body = models.TextField(_("comment"))
    answers_support = models.BooleanField(_("answers the support request"), default=False)
    at = models.DateTimeField(_("at"), default=timezone.now)
    read_at = models.DateTimeField(_("read by the rep"), null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="comment_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.author}: {self.body[:40]}"


class OutboxReceipt(models.Model):
    """A write sent from a phone's outbox (activity_log.offline) under its idempotency key: a resend after a lost
    answer finds the receipt and is answered as the first send was, instead of being done again (or refused as
    stale, like a second move of a deal already moved)."""

    key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10)
    url = models.CharField(max_length=200)  # where the first send's answer sent the user
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("outbox receipt")
        verbose_name_plural = _("outbox receipts")

    def __str__(self) -> str:
        return f"{self.kind} · {self.key}"


class CalendarFeed(models.Model):
    """A person's private calendar address (activity_log.calendar): its secret is kept as a hash only, so the
    address is shown once, when made; making a new one or stopping the feed ends the old address at once."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    include_names = models.BooleanField(
        _("show customer and opportunity names"),
        default=False,
        help_text=_("Otherwise an event shows only the next step; its link opens the record."),
    )
    created_at = models.DateTimeField(_("made"), default=timezone.now)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"{self.user} · {self.created_at:%Y-%m-%d}"


class ReminderSetting(models.Model):
    """When a person's morning e-mail of scheduled activities comes (activity_log.reminders); without a row, at
    the default hour, on the organisation's working days."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="reminder_setting"
    )
    enabled = models.BooleanField(_("send me the morning e-mail"), default=True)
    hour = models.PositiveSmallIntegerField(
        _("at (hour, my time)"), default=8, choices=[(hour, f"{hour:02d}:00") for hour in range(5, 13)]
    )

    class Meta:
        verbose_name = _("reminder setting")
        verbose_name_plural = _("reminder settings")

    def __str__(self) -> str:
        return f"{self.user} · {self.hour:02d}:00"


class ReminderSent(models.Model):
    """One morning e-mail per person and local day: claimed before it is sent, so two scheduler runs (or two
    workers) never send it twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    items = models.PositiveIntegerField(default=0)  # 0: nothing was due, no e-mail was sent

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="one_reminder_per_person_and_day")]

    def __str__(self) -> str:
        return f"{self.user} · {self.day}"


class NotificationKind(models.TextChoices):
    STEP_DUE = "step_due", _("Next step due today")
    ALERT = "alert", _("Alert on my deal")
    COMMENT = "comment", _("Comment on my daily log")
    HANDOVER = "handover", _("Handed over to me")


class NotificationQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One entry of a person's in-app notification list (the bell): what it is about is its kind and `details`
    (worded when shown, in the reader's language), where it leads is `url`. `key` names the event, so a
    scheduler run twice (or two workers) never notifies twice."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=NotificationKind.choices)
    key = models.CharField(max_length=200)
    details = models.JSONField(pgettext_lazy("what a notification says", "details"), default=dict, blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_notification_per_event")]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_recent"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_user_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind} · {self.key}"


class QualityScoreQuerySet(ScopedQuerySet):
    owner_path = "rep"


class QualityScore(models.Model):
    """A rep's data-quality score (全面、真实、持续) for one week (`week` is its Monday): three numbers from 0 to
    100 and the parts behind them (activity_log.quality computes them; the refresh job keeps this week's and
    the last eight current)."""

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("rep"), on_delete=models.CASCADE, related_name="quality_scores"
    )
    week = models.DateField(_("week"))
    complete = models.PositiveSmallIntegerField(_("complete"))
    true = models.PositiveSmallIntegerField(_("true"))
    continuous = models.PositiveSmallIntegerField(_("continuous"))
    parts = models.JSONField(_("parts"), default=dict, blank=True)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    objects = QualityScoreQuerySet.as_manager()

    class Meta:
        ordering = ["-week", "rep_id"]
        verbose_name = _("data-quality score")
        verbose_name_plural = _("data-quality scores")
        constraints = [models.UniqueConstraint(fields=["rep", "week"], name="one_quality_score_per_rep_week")]
        indexes = [models.Index(fields=["week", "rep"], name="quality_week_rep")]

    def __str__(self) -> str:
        return f"{self.rep} · {self.week}"
