"""The home page's own panels: the stalled opportunities in view and my next steps due.

A fixed number of queries per panel, however many deals there are.
"""

from datetime import UTC, date, datetime, timedelta

from django.db import connection
from django.db.models import Case, Count, DateTimeField, F, QuerySet, Value, When, Window
from django.db.models.functions import Cast, Coalesce, Least
from django.utils import timezone

from reps.models import Role, User

from ..insights import metrics
from ..models import Opportunity, Stage, StageKind

ROWS_SHOWN = 10
COUNTED = 1000
NEXT_STEP_DAYS = 7  # next steps due up to a week ahead, and every overdue one
NEVER = datetime(9999, 12, 31, tzinfo=UTC)  # stands in for "not by this rule"


def _overdue_since() -> Least:
    """The moment a deal first ran past a limit, to put the most overdue first: its stage's stall_days after
    it went idle (entered the stage, or its last activity), or the day after its next step's date.

    One CASE branch per stage with stall days (a handful): SQLite cannot multiply an interval by a column.
    """
    idle = Least(F("stage_entered_at"), Coalesce(F("last_activity_at"), F("stage_entered_at")))
    thresholds = Stage.objects.filter(kind=StageKind.OPEN, stall_days__gt=0).values_list("pk", "stall_days")
    never = Value(NEVER, output_field=DateTimeField())
    by_stage = Case(
        *[When(stage_id=pk, then=idle + timedelta(days=days)) for pk, days in thresholds],
        default=never,
        output_field=DateTimeField(),
    )
    step_missed = Coalesce(Cast("next_step_date", DateTimeField()) + timedelta(days=1), never)
    return Least(by_stage, step_missed)


def stalled_panel(user: User, now: datetime) -> dict:
    """The stalled open deals in the user's view (a rep: their own), most overdue first: up to ten, and how
    many there are, counted up to COUNTED (a manager of thousands of stalled deals reads "over 1,000")."""
    stalled = Opportunity.objects.visible_to(user, listed=True).stalled(now)  # a rep sees only their own deals
    # One person's deals are ranked whole (their owner index finds them); a team's or the organisation's
    # are first narrowed to the few that can be the most overdue.
    candidates = (
        stalled if user.role == Role.REP else Opportunity.objects.filter(pk__in=_most_overdue_candidates(stalled))
    )
    rows = list(
        candidates.select_related("account", "owner", "stage")
        .annotate(overdue_since=_overdue_since())
        .order_by("overdue_since", "pk")[:ROWS_SHOWN]
    )
    for row in rows:
        row.overdue_days = max((now - row.overdue_since).days, 0)
    counted = metrics.count_up_to(stalled, COUNTED)
    return {"rows": rows, "count": min(counted, COUNTED), "more_than": counted > COUNTED}


def _most_overdue_candidates(stalled: QuerySet[Opportunity]) -> list[int]:
    """Ids among which the ROWS_SHOWN most overdue deals are, without ranking every stalled deal.

    A deal's clock is its stage's (the earlier of entering it and its last activity, plus the stage's
    stall days) or its next step's date: within one stage the first by either moment, and overall the
    first by next step date, hold the most overdue (each walks an index). On SQLite, with no slicing in a
    UNION, every stalled deal is a candidate (the embedded demo is small). Two queries either way.
    """
    stage_ids = list(Stage.objects.filter(kind=StageKind.OPEN, stall_days__gt=0).values_list("pk", flat=True))
    ids = stalled.order_by().values_list("pk", flat=True)
    if not connection.features.supports_slicing_ordering_in_compound:
        return list(ids)
    # Only a next step already due can be what makes a stalled deal overdue (every stalled deal's clock
    # has run out, so a future step is never the earlier of its two).
    due = ids.filter(next_step_date__lte=timezone.localdate())
    parts = [due.order_by("next_step_date", "pk")[:ROWS_SHOWN]]
    for stage_id in stage_ids:
        in_stage = ids.filter(stage_id=stage_id)
        parts.append(in_stage.order_by("stage_entered_at", "pk")[:ROWS_SHOWN])
        parts.append(in_stage.filter(last_activity_at__isnull=False).order_by("last_activity_at", "pk")[:ROWS_SHOWN])
    first, *rest = parts
    return list(first.union(*rest, all=True))


def next_steps_panel(user: User, today: date) -> dict:
    """The user's own open deals with a next step due by a week from today, up to ten: overdue ones first, then
    each day's, those with a time of day first, by time."""
    due = Opportunity.objects.visible_to(user).filter(
        owner=user, status=StageKind.OPEN, next_step_date__lte=today + timedelta(days=NEXT_STEP_DAYS)
    )
    rows = list(
        due.select_related("account", "stage")
        .annotate(total=Window(Count("pk")))
        .order_by("next_step_date", F("next_step_time").asc(nulls_last=True), "pk")[:ROWS_SHOWN]
    )
    return {"rows": rows, "count": rows[0].total if rows else 0, "today": today}
