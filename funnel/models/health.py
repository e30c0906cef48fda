"""Funnel health: the scan's alerts and the organisation's health settings."""

from datetime import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reps.models import ScopedQuerySet

from .opportunities import Opportunity
from .pipelines import Pipeline, Stage


class AlertKind(models.TextChoices):
    STALLED = "stalled", _("Stalled opportunity")
    BLOCKAGE = "blockage", _("Blockage")
    GAP = "gap", _("Gap")
    EMPTY_CUP = "empty_cup", _("Empty cup")
    MISSING_LOG = "missing_log", _("Missing daily log")
    FORECAST_RISK = "forecast_risk", _("Forecast at risk")
    QUOTA_RISK = "quota_at_risk", _("Quota at risk")


class AlertSeverity(models.TextChoices):
    INFO = "info", _("Info")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


class AlertQuerySet(ScopedQuerySet):
    owner_path = "rep"

    def open(self):
        return self.filter(resolved_at__isnull=True)

    def needing_attention(self, now: datetime):
        """Open, not acknowledged, and not snoozed past `now`: a snooze expires by itself (one alert:
        Alert.needs_attention, the same rule)."""
        return self.open().filter(acknowledged_at__isnull=True).exclude(snoozed_until__gt=now)

    def set_aside(self, now: datetime):
        """The rest of the open alerts: acknowledged, or snoozed past `now` (the inbox's second tab)."""
        return self.open().filter(Q(acknowledged_at__isnull=False) | Q(snoozed_until__gt=now))


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
    # The numbers that raised the alert, as its finding gave them (funnel.health.why words them): a re-seen
    # alert takes its finding's latest numbers.
    details = models.JSONField(_("details"), default=dict, blank=True)
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
            # manager's, walked per member and merged: funnel.health.pages), resolved ones, and the few set aside.
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

    def is_snoozed(self, now: datetime | None = None) -> bool:
        """Set aside until `snoozed_until`, which is still ahead (a snooze expires by itself); an acknowledged
        alert is acknowledged, not snoozed."""
        now = now or timezone.now()
        return self.acknowledged_at is None and self.snoozed_until is not None and self.snoozed_until > now

    def needs_attention(self, now: datetime | None = None) -> bool:
        """AlertQuerySet.needing_attention for one alert: open, not acknowledged, not snoozed at `now` (the
        inbox offers acknowledge and snooze on exactly these; the badge counts them)."""
        return self.resolved_at is None and self.acknowledged_at is None and not self.is_snoozed(now)


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
    # The reverse-funnel plan's shortfall (funnel.planning) that makes a "quota at risk" finding: the rep's
    # open weighted pipeline covers less than this share of what the rest of the period needs.
    quota_risk_percent = models.PositiveSmallIntegerField(
        _("quota at risk below (%)"),
        default=70,
        validators=[MaxValueValidator(100)],
        help_text=_("A rep whose open weighted pipeline covers less than this share of the quota still to win."),
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
