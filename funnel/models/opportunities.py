"""Deals (opportunities) and their append-only stage history."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import BooleanField, Case, DateTimeField, ExpressionWrapper, F, Q, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reps.models import ScopedQuerySet

from .customers import Account, Contact
from .pipelines import Campaign, LostReason, Pipeline, Source, Stage, StageKind


def stalled_condition(now: datetime) -> Q:
    """An open deal is stalled when, with `days` its stage's stall_days and `cap` its pipeline's
    next_step_cap_days:

    - it has been in its stage longer than `days`; or
    - it has had no activity for longer than `days` and has no plan: its next step has no date, or a
      date more than `cap` days after the day of its last activity (so a date a year away is no plan).
      A next step dated within the cap keeps an idle deal off the list until that date is overdue,
      which stretches the idle clock by `cap` days at most; or
    - its next step is overdue: dated before yesterday in UTC, so over in every time zone (a rep ahead
      of UTC is never flagged early; the flag may come up to a day late).

    Days after the last activity are counted in the site's time zone (TIME_ZONE). A stage with
    stall_days 0 is checked for overdue next steps only. One condition (an OR over the open stages, a
    handful), read with one query, so the stalled sync stays one INSERT … SELECT and blockage counts
    with it (Count(filter=...)).
    """
    overdue = Q(next_step_date__lt=(now - timedelta(days=1)).date())
    by_stage = Q(pk__in=[])
    stages = Stage.objects.filter(kind=StageKind.OPEN, stall_days__gt=0).values_list(
        "pk", "stall_days", "pipeline__next_step_cap_days"
    )
    for stage_id, days, cap in stages:
        cutoff = now - timedelta(days=days)
        no_plan = Q(next_step_date__isnull=True) | Q(next_step_date__gt=_last_planned_day(cap))
        idle = Q(last_activity_at__lt=cutoff) & no_plan
        by_stage |= Q(stage_id=stage_id) & (Q(stage_entered_at__lt=cutoff) | idle)
    return Q(status=StageKind.OPEN) & (by_stage | overdue)


def _last_planned_day(cap: int) -> TruncDate:
    """The last day a next step may be dated and still count as a plan: `cap` days after the last activity."""
    capped = ExpressionWrapper(F("last_activity_at") + timedelta(days=cap), output_field=DateTimeField())
    return TruncDate(capped, tzinfo=timezone.get_default_timezone())


class OpportunityQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(status=StageKind.OPEN)

    def for_pipeline(self, pipeline: "Pipeline | int"):
        """The deals of one pipeline (a Pipeline or its id)."""
        return self.filter(pipeline=pipeline)

    def stalled(self, now: datetime):
        """The open deals that are stalled at `now` (see `stalled_condition`): the stalled alerts, the home
        page's panel and the list's "stalled" filter."""
        return self.open().filter(stalled_condition(now))

    def flag_stalled(self, now: datetime):
        """Each deal with `stalled_now`, the same rule, for the "Stalled" badge on lists, cards and pages: the
        badge and the stalled alerts can never disagree."""
        flag = Case(When(stalled_condition(now), then=Value(True)), default=Value(False), output_field=BooleanField())
        return self.annotate(stalled_now=flag)


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
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.TextField(_("description"), blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=Decimal(0))
    probability_override = models.PositiveSmallIntegerField(
        _("probability override (%)"), null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_date = models.DateField(_("next step date"), null=True, blank=True)
    # Optional time of day of the next step (a scheduled activity), in the owner's time zone.
    next_step_time = models.TimeField(_("next step time"), null=True, blank=True)
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
            # A person's open deals by expected close date, read from the index alone: the weighted pipeline closing
            # within a quota's period (the scan's quota risk, the load-balance page, the dashboard's quotas).
            models.Index(
                fields=["owner", "status", "expected_close_date"],
                include=["amount", "probability_override", "stage"],
                name="opp_owner_close_date",
            ),
            # The deal picker's names (funnel.search.pickers), open deals only; its search has trigram indexes.
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
