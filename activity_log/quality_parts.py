"""The data-quality score's building blocks (activity_log.quality defines the parts and counts them): a week's
window, and what makes a record pass each part, as conditions the counts and the scorecard's lists of records to
fix share, so a list shows exactly what a number counted."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DurationField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Length, Trim
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual
from django.utils import timezone

from funnel.models import Contact, Opportunity, Stage, StageKind
from funnel.opportunities.filters import QUALITY_GAPS
from reps.models import AuditAction, AuditEvent, User

from .models import Activity, Amendment
from .services import local_date, submission_deadline

WINDOW_WEEKS = 4
SUBSTANTIVE_OUTCOME = 10  # characters
PUSHES_ALLOWED = 1

# The open-deal parts and the opportunity list's ?quality= filter that lists the deals each counts against.
DEAL_GAPS = {
    "deal_amount": "no_amount",
    "deal_close_date": "no_close_date",
    "deal_contact": "no_contact",
    "deal_next_step": "no_next_step",
    "probability_stage": "overridden",
}


# --- The window -------------------------------------------------------------------------------------------


def week_of(moment: datetime) -> date:
    """The Monday of the week `moment` falls in, in the site's time zone (whoever is reading)."""
    day = timezone.localtime(moment, timezone.get_default_timezone()).date()
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Window:
    week: date  # its Monday
    now: datetime
    history: bool  # a past week: the state now says nothing about it

    @property
    def first_day(self) -> date:
        return self.week - timedelta(weeks=WINDOW_WEEKS - 1)

    @property
    def last_day(self) -> date:
        return self.week + timedelta(days=6)

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=timezone.get_default_timezone())

    @property
    def ends_at(self) -> datetime:
        """The end of the window's last day, or now when that is still ahead."""
        end = datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=timezone.get_default_timezone())
        return min(end, self.now)


def window_for(week: date, now: datetime) -> Window:
    return Window(week=week, now=now, history=week < week_of(now))


# --- The parts' conditions (also the scorecard's lists of records to fix) -------------------------------


def read_stages() -> list[dict]:
    """Every stage's pipeline, order, kind, whether archived and stall days: a handful of rows, read once."""
    return list(Stage.objects.order_by().values("pk", "pipeline_id", "order", "kind", "is_archived", "stall_days"))


def stall_stages(stages: list[dict]) -> dict[int, int]:
    """Open stages with stall days: {stage id: days}."""
    return {
        stage["pk"]: stage["stall_days"] for stage in stages if stage["kind"] == StageKind.OPEN and stage["stall_days"]
    }


def open_deals(reps) -> "Q":
    return Q(owner__in=reps, status=StageKind.OPEN)


def deal_conditions(now: datetime, stalls: dict[int, int]) -> dict[str, Q]:
    """What makes an open deal pass each open-deal part."""
    touched = Q(pk__in=[])
    for stage_id, days in stalls.items():
        cutoff = now - timedelta(days=days)
        recent = Q(last_activity_at__gte=cutoff) | Q(last_activity_at__isnull=True, created_at__gte=cutoff)
        touched |= Q(stage_id=stage_id) & recent
    passes = {part: ~QUALITY_GAPS[gap][1] for part, gap in DEAL_GAPS.items()}
    return {**passes, "deals_touched": touched}


def has_contact() -> Exists:
    return Exists(Contact.objects.filter(account=OuterRef("pk")))


def window_activities(reps, window: Window) -> Q:
    return Q(daily_log__rep__in=reps, daily_log__date__gte=window.first_day, daily_log__date__lte=window.last_day)


def corrected() -> Exists:
    """An amendment that changed the activity after its day was submitted (not the one that added it)."""
    return Exists(Amendment.objects.filter(activity=OuterRef("pk")).exclude(changes__has_key="added"))


def activity_conditions() -> dict[str, Q]:
    return {
        "activity_outcome": Q(GreaterThanOrEqual(Length(Trim("outcome")), SUBSTANTIVE_OUTCOME)),
        "activity_on_day": Q(is_backdated=False),
        "activity_unamended": ~Q(corrected()),
    }


def pushed_out_deals(window: Window) -> Subquery:
    """Ids of the deals whose expected close date was moved later more than PUSHES_ALLOWED times before the
    window's end (one grouped read of the field history)."""
    events = AuditEvent.objects.filter(
        action=AuditAction.FIELD_CHANGED,
        object_type=Opportunity._meta.label_lower,
        at__lte=window.ends_at,
        detail__has_key="expected_close_date",
    )
    pushes = (
        events.filter(GreaterThan(KT("detail__expected_close_date__1"), KT("detail__expected_close_date__0")))
        .annotate(deal=Cast("object_id", output_field=BigIntegerField()))
        .order_by()
        .values("deal")
        .annotate(pushes=Count("pk"))
        .filter(pushes__gt=PUSHES_ALLOWED)
        .values("deal")
    )
    return Subquery(pushes)


def deals_open_in(reps, window: Window) -> Q:
    return Q(owner__in=reps, created_at__lte=window.ends_at) & (
        Q(status=StageKind.OPEN) | Q(closed_at__gte=window.starts_at)
    )


def window_moves(reps, window: Window) -> Q:
    """The judged moves: from an open stage to an open or won one, in the window, of the reps' deals."""
    return Q(
        opportunity__owner__in=reps,
        at__gte=window.starts_at,
        at__lte=window.ends_at,
        from_stage__kind=StageKind.OPEN,
        to_stage__kind__in=[StageKind.OPEN, StageKind.WON],
    )


def move_conditions(stages: list[dict]) -> dict[str, Q]:
    """A skip passes an active open stage between; a backward move goes to an earlier open stage. Each stage's
    rank among its pipeline's active open stages is written into the query (a handful of stages), so a move
    needs no lookup of the stages between."""
    active = {}
    for stage in stages:
        if stage["kind"] == StageKind.OPEN and not stage["is_archived"]:
            active.setdefault(stage["pipeline_id"], []).append(stage["order"])
    upto, below = [], []
    for stage in stages:
        orders = active.get(stage["pipeline_id"], [])
        if stage["kind"] == StageKind.WON:
            below.append(When(to_stage_id=stage["pk"], then=Value(len(orders))))
        elif stage["kind"] == StageKind.OPEN:
            upto.append(When(from_stage_id=stage["pk"], then=Value(sum(1 for o in orders if o <= stage["order"]))))
            below.append(When(to_stage_id=stage["pk"], then=Value(sum(1 for o in orders if o < stage["order"]))))
    to_rank = Case(*below, default=Value(0), output_field=IntegerField())
    from_rank = Case(*upto, default=Value(0), output_field=IntegerField())
    skip = Q(GreaterThan(to_rank, from_rank)) if upto and below else Q(pk__in=[])
    backward = Q(to_stage__kind=StageKind.OPEN, to_stage__order__lt=F("from_stage__order"))
    return {"moves_in_order": ~skip, "moves_forward": ~backward}


def previous_activity() -> Subquery:
    """When the deal's activity before this one happened (any rep's)."""
    earlier = Activity.objects.filter(opportunity=OuterRef("opportunity"), when__lt=OuterRef("when"))
    return Subquery(earlier.order_by("-when").values("when")[:1])


def gap_condition(stalls: dict[int, int]) -> Q:
    """The previous activity on the deal came within its stage's stall days (`previous`: previous_activity())."""
    if not stalls:
        return Q(pk__in=[])
    days = [When(opportunity__stage_id=stage_id, then=Value(timedelta(days=n))) for stage_id, n in stalls.items()]
    allowed = Case(*days, default=Value(timedelta(0)), output_field=DurationField())
    return Q(previous__gte=F("when") - allowed)


def days_judged(rep: User, window: Window, working_days: frozenset[int], submitted: set[date]) -> list[date]:
    """The window's working days with a submitted log, and those from the rep's first day whose log was due by
    now; newest first."""
    joined = local_date(rep, rep.date_joined)
    days = [window.last_day - timedelta(days=n) for n in range((window.last_day - window.first_day).days + 1)]
    return [
        day
        for day in days
        if day.weekday() in working_days
        and (day in submitted or (day >= joined and submission_deadline(rep, day) <= window.now))
    ]
