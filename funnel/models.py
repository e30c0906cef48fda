from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reps.models import ScopedQuerySet


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    # The funnel-health thresholds of this pipeline's deals (funnel.health); admins edit them.
    blockage_share = models.PositiveSmallIntegerField(
        _("blockage share (%)"), default=50, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    blockage_min_deals = models.PositiveSmallIntegerField(
        _("blockage minimum deals"), default=3, validators=[MinValueValidator(1)]
    )
    inflow_minimum = models.PositiveSmallIntegerField(_("minimum new deals"), default=1)
    inflow_weeks = models.PositiveSmallIntegerField(
        _("inflow weeks"), default=4, validators=[MinValueValidator(1), MaxValueValidator(52)]
    )
    next_step_cap_days = models.PositiveSmallIntegerField(
        _("next-step cap (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_pipeline"),
            models.CheckConstraint(
                condition=Q(blockage_share__gte=1, blockage_share__lte=100), name="pipeline_blockage_share_1_100"
            ),
            models.CheckConstraint(
                condition=Q(blockage_min_deals__gte=1, inflow_weeks__gte=1, next_step_cap_days__gte=1),
                name="pipeline_health_counts_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# Opportunity fields an admin may require before a deal enters a stage (Stage.required_fields).
REQUIRABLE_FIELDS = {
    "amount": _("Amount"),
    "expected_close_date": _("Expected close date"),
    "contact": _("Contact"),
    "source": _("Source"),
    "next_step": _("Next step"),
    "next_step_date": _("Next step date"),
    "description": _("Description"),
}


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="stages")
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=100)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    stall_days = models.PositiveSmallIntegerField(
        _("stall after (days)"), default=14, help_text=_("An open opportunity idle this long is flagged as stalled.")
    )
    kind = models.CharField(_("kind"), max_length=4, choices=StageKind.choices, default=StageKind.OPEN)
    playbook = models.TextField(_("playbook"), blank=True, help_text=_("The standard way to work this stage."))
    checklist = models.TextField(_("checklist"), blank=True, help_text=_("One item per line."))
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    is_archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        ordering = ["pipeline", "order"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_unique_in_pipeline"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability_at_most_100"),
        ]

    def __str__(self) -> str:
        return self.name

    def checklist_items(self) -> list[str]:
        return [line.strip() for line in self.checklist.splitlines() if line.strip()]

    def required_field_labels(self) -> list[str]:
        return [str(REQUIRABLE_FIELDS[name]) for name in self.required_fields if name in REQUIRABLE_FIELDS]


class Source(models.Model):
    """Where an opportunity came from: a marketing channel or campaign."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return self.name


class LostReason(models.Model):
    """Why a deal was lost: an admin-edited list, so losses can be counted by reason."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")

    def __str__(self) -> str:
        return self.name


class AccountQuerySet(ScopedQuerySet):
    pass


class Account(models.Model):
    """A customer (客户)."""

    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    website = models.URLField(_("website"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="accounts"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["owner", "name"], name="account_owner_name"),
            # The customer picker's first names for everyone (funnel.pickers); its search has trigram indexes.
            models.Index(fields=["name", "id"], name="account_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactQuerySet(ScopedQuerySet):
    owner_path = "account__owner"


class Contact(models.Model):
    account = models.ForeignKey(Account, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [models.Index(fields=["name", "id"], name="contact_name")]  # the contact picker (funnel.pickers)

    def __str__(self) -> str:
        return self.name


class OpportunityQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(status=StageKind.OPEN)


class Opportunity(models.Model):
    """A deal (商机) moving through the stages of one pipeline."""

    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        Account, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="opportunities"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="opportunities"
    )
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT)
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities")
    # Copy of stage.kind, kept by the services, so open/won/lost filters need no join.
    status = models.CharField(_("status"), max_length=4, choices=StageKind.choices, default=StageKind.OPEN)
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.ForeignKey(Source, verbose_name=_("source"), on_delete=models.PROTECT, null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=Decimal(0))
    probability_override = models.PositiveSmallIntegerField(
        _("probability override (%)"), null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_date = models.DateField(_("next step date"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    lost_reason = models.ForeignKey(
        LostReason, verbose_name=_("lost reason"), on_delete=models.PROTECT, null=True, blank=True
    )
    close_note = models.CharField(_("won/lost note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            # Also the board's column totals for a rep or a team, read from the index alone.
            models.Index(
                fields=["owner", "status", "stage"],
                include=["pipeline", "amount", "probability_override"],
                name="opp_owner_status_stage",
            ),
            models.Index(fields=["status", "stage"], name="opp_status_stage"),
            # The list's default order, walked from the top for everyone, a manager's team, a rep;
            # and the board's newest cards per column.
            models.Index(fields=["status", "-updated_at", "-id"], name="opp_status_recent"),
            models.Index(fields=["owner", "status", "-updated_at", "-id"], name="opp_owner_status_recent"),
            models.Index(fields=["stage", "-updated_at", "-id"], name="opp_stage_recent"),
            # The dashboard's period figures per owner (a rep, a manager's team): inflow, outcomes, per rep.
            models.Index(fields=["owner", "created_at"], name="opp_owner_created"),
            models.Index(fields=["owner", "closed_at"], name="opp_owner_closed"),
            # The organisation's period figures and the forecast (open deals by expected close date).
            models.Index(fields=["created_at"], name="opp_created"),
            models.Index(fields=["closed_at"], name="opp_closed"),
            models.Index(fields=["status", "expected_close_date"], name="opp_status_close_date"),
            # The dashboard's forecast: a period's open deals per owner, read from the index alone.
            models.Index(
                fields=["status", "pipeline", "expected_close_date"],
                include=["owner", "stage", "source", "amount", "probability_override"],
                name="opp_forecast",
            ),
            # The home page: the latest deals of everyone in view, and the stalled panel's candidates (the
            # first of each stage by entry or last activity, and the first by next step date).
            models.Index(fields=["-updated_at", "-id"], name="opp_recent"),
            models.Index(fields=["stage", "stage_entered_at"], name="opp_stage_entered"),
            models.Index(fields=["stage", "last_activity_at"], name="opp_stage_last_activity"),
            models.Index(fields=["status", "next_step_date"], name="opp_status_next_step"),
            models.Index(fields=["owner", "next_step_date"], name="opp_owner_next_step"),
            # The deal picker's names (funnel.pickers), open deals only; its search has trigram indexes.
            models.Index(fields=["name", "id"], condition=Q(status="open"), name="opp_open_name"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def probability(self) -> int:
        return self.stage.probability if self.probability_override is None else self.probability_override

    @property
    def weighted_amount(self) -> Decimal:
        return self.amount * self.probability / Decimal(100)

    def days_in_stage(self, now: datetime | None = None) -> int:
        return ((now or timezone.now()) - self.stage_entered_at).days


class StageChangeQuerySet(ScopedQuerySet):
    owner_path = "opportunity__owner"


class StageChange(models.Model):
    """One move of one opportunity; append-only, the source of conversion and time-in-stage figures."""

    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("opportunity"), on_delete=models.PROTECT, related_name="stage_changes"
    )
    from_stage = models.ForeignKey(
        Stage, verbose_name=_("from"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, null=True, blank=True
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    checklist = models.JSONField(_("checklist confirmed"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = StageChangeQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [
            models.Index(fields=["opportunity", "at"], name="stagechange_opp_at"),
            # The dashboard's moves in a period (conversion, time in stage) across a whole organisation.
            models.Index(fields=["at"], name="stagechange_at"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage}"


class ImportBatch(models.Model):
    """An uploaded CSV file between its preview and its import; private to the person who uploaded it.

    Batches are kept after import (the error report is read from them); old ones may be deleted freely.
    """

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        OPPORTUNITIES = "opportunities", _("Opportunities")

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        QUEUED = "queued", _("Waiting to import")
        IMPORTING = "importing", _("Importing")
        IMPORTED = "imported", _("Imported")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    text = models.TextField(_("file content"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    imported_count = models.PositiveIntegerField(_("rows imported"), default=0)
    skipped_count = models.PositiveIntegerField(_("rows skipped"), default=0)
    # The skipped rows' numbers and reasons, as found at import: [{"row": 7, "errors": ["…"]}, …].
    report = models.JSONField(_("skipped rows"), default=list, blank=True)
    # The import job's progress: rows of the file taken so far (committed chunk by chunk), of rows_total.
    all_or_nothing = models.BooleanField(_("only if every row is valid"), default=False)
    rows_total = models.PositiveIntegerField(_("rows in the file"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    progress_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    # Why the last import of this file was refused as a whole (nothing imported); empty otherwise.
    error = models.TextField(_("refused because"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self) -> str:
        return self.filename or f"{self.get_kind_display()} #{self.pk}"


class ExportJob(models.Model):
    """A CSV export of the opportunity list, written by a background job into ExportChunk rows, then
    downloaded by the person who asked for it (nobody else) until it expires."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Writing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    filters = models.TextField(_("filters"), blank=True)  # the list's query string
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    # Each run of the job counts up; chunks carry their run's number, so a rerun never mixes with a
    # run it replaced (a worker killed mid-export runs the job again).
    attempt = models.PositiveIntegerField(_("attempt"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["created_by", "created_at"], name="exportjob_user_created")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class ExportChunk(models.Model):
    """One piece (about a megabyte) of an export's file, in order."""

    job = models.ForeignKey(ExportJob, verbose_name=_("export"), on_delete=models.CASCADE, related_name="chunks")
    attempt = models.PositiveIntegerField(_("attempt"))
    index = models.PositiveIntegerField(_("index"))
    data = models.BinaryField(_("data"))

    class Meta:
        verbose_name = _("export chunk")
        verbose_name_plural = _("export chunks")
        constraints = [
            models.UniqueConstraint(fields=["job", "attempt", "index"], name="exportchunk_job_attempt_index")
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.attempt}.{self.index}"


class AlertKind(models.TextChoices):
    STALLED = "stalled", _("Stalled opportunity")
    BLOCKAGE = "blockage", _("Blockage")
    GAP = "gap", _("Gap")
    EMPTY_CUP = "empty_cup", _("Empty cup")
    MISSING_LOG = "missing_log", _("Missing daily log")
    FORECAST_RISK = "forecast_risk", _("Forecast at risk")


class AlertSeverity(models.TextChoices):
    INFO = "info", _("Info")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


class AlertQuerySet(ScopedQuerySet):
    owner_path = "rep"

    def open(self):
        return self.filter(resolved_at__isnull=True)

    def needing_attention(self, now: datetime):
        """Open, not acknowledged, and not snoozed past `now`: a snooze expires by itself."""
        return self.open().filter(acknowledged_at__isnull=True).exclude(snoozed_until__gt=now)


OPEN = Q(resolved_at__isnull=True)  # an open alert, for the partial indexes below


class Alert(models.Model):
    """A finding of the funnel-health scan, about one rep's deal, funnel stage, inflow or day, or a team's
    funnel stage or forecast (then `rep` is the team's manager, who the alert is for, and `team` is set).

    `key` names the kind and subject; the database keeps one open alert per key, so a scan run twice
    (or by two workers at once) cannot open a duplicate. A later scan that no longer finds it resolves it.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=AlertKind.choices)
    severity = models.CharField(
        _("severity"), max_length=8, choices=AlertSeverity.choices, default=AlertSeverity.WARNING
    )
    key = models.CharField(_("key"), max_length=200)
    # The scan writes alerts in bulk (600,000 at a million deals): the references are not checked by the
    # database row by row (a check locks each alerted deal: 16 s of a first scan) nor indexed whole (Meta
    # indexes them where they are read). The scan takes them from the rows it reads; Django still cascades.
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rep"),
        on_delete=models.CASCADE,
        related_name="alerts",
        db_index=False,
        db_constraint=False,
    )
    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    team = models.ForeignKey(
        "reps.Team",
        verbose_name=_("team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    pipeline = models.ForeignKey(
        Pipeline,
        verbose_name=_("pipeline"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    stage = models.ForeignKey(
        Stage,
        verbose_name=_("stage"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    day = models.DateField(_("day"), null=True, blank=True)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    ack_reason = models.CharField(_("reason"), max_length=300, blank=True)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-first_seen", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(resolved_at__isnull=True), name="one_open_alert_per_key"
            )
        ]
        indexes = [
            # Open alerts per kind (the scan's sync, the inbox's kind filter), per rep (a rep's inbox; a
            # manager's, walked per member and merged: funnel.alert_pages), resolved ones, and the few set aside.
            # The per-rep ones run one way (all descending), so (rep, first_seen, id) < (…) is one index bound.
            # Not the stalled ones (the scan syncs those by its own statements; they are most open alerts):
            # a first scan writes 600,000 of them with one index entry fewer each.
            models.Index(
                "kind",
                F("first_seen").desc(),
                F("id").desc(),
                condition=OPEN & ~Q(kind=AlertKind.STALLED),
                name="alert_open_kind_newest",
            ),
            models.Index(
                F("rep").desc(), F("first_seen").desc(), F("id").desc(), condition=OPEN, name="alert_rep_open_newest"
            ),
            models.Index(F("resolved_at").desc(), F("id").desc(), condition=~OPEN, name="alert_resolved_newest"),
            models.Index(
                F("rep").desc(),
                F("resolved_at").desc(),
                F("id").desc(),
                condition=~OPEN,
                name="alert_rep_resolved_newest",
            ),
            models.Index(
                F("first_seen").desc(),
                F("id").desc(),
                condition=OPEN & (Q(acknowledged_at__isnull=False) | Q(snoozed_until__isnull=False)),
                name="alert_set_aside_newest",
            ),
            models.Index("team", condition=Q(team__isnull=False), name="alert_team"),
            models.Index("pipeline", condition=Q(pipeline__isnull=False), name="alert_pipeline"),
            models.Index("acknowledged_by", condition=Q(acknowledged_by__isnull=False), name="alert_acknowledged_by"),
            # The inbox and the dashboard's panel, newest first, walk these instead of sorting every open
            # alert. last_seen is deliberately in no index: each scan rewrites it on every open alert, and
            # PostgreSQL can then update in place (HOT, see migration 0011) without touching the indexes.
            models.Index(
                F("severity"),
                F("first_seen").desc(),
                F("id").desc(),
                condition=Q(resolved_at__isnull=True, acknowledged_at__isnull=True),
                name="alert_attention_newest",
            ),
            models.Index(
                F("first_seen").desc(), F("id").desc(), condition=Q(resolved_at__isnull=True), name="alert_open_newest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.key}"


WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def default_working_days() -> list[int]:
    return [0, 1, 2, 3, 4]  # date.weekday(): Monday to Friday


class HealthSettings(models.Model):
    """The organisation's funnel-health settings that belong to no pipeline: one row, pk 1.

    Read through `current()`, which answers the defaults until an admin first saves the page.
    """

    working_days = models.JSONField(
        _("working days"),
        default=default_working_days,
    )

    class Meta:
        verbose_name = _("health settings")
        verbose_name_plural = _("health settings")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="one_health_settings_row")]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

    @classmethod
    def current(cls) -> "HealthSettings":
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class Target(models.Model):
    """An admin-set sales target for one team over a period (both days included), until quotas exist."""

    team = models.ForeignKey("reps.Team", verbose_name=_("team"), on_delete=models.PROTECT, related_name="targets")
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-period_start", "team__name"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.UniqueConstraint(fields=["team", "period_start", "period_end"], name="one_target_per_team_period"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="target_ends_after_start"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="target_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.period_start} – {self.period_end}"


# The dashboard's rollup tables live in their own module; imported here so Django registers them.
from .rollup_models import DealDay, FlowDay, OpenDeals, RollupDirt, RollupState, StayLength  # noqa: E402, F401
