"""The home page's own panels: the stalled opportunities in view and my next steps due.

Each panel is one query for its rows and their total (a window count), however many deals there are.
"""

from datetime import UTC, date, datetime, timedelta

from django.db.models import Case, Count, DateTimeField, F, Value, When, Window
from django.db.models.functions import Cast, Coalesce, Least

from reps.models import Role, User

from . import health
from .models import Opportunity, Stage, StageKind

ROWS_SHOWN = 10
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
    """The stalled open deals in the user's view (a rep: their own), most overdue first: up to ten, and the total."""
    scope = Opportunity.objects.visible_to(user)
    if user.role == Role.REP:
        scope = scope.filter(owner=user)
    rows = list(
        health.stalled(now, scope)
        .select_related("account", "owner", "stage")
        .annotate(overdue_since=_overdue_since(), total=Window(Count("pk")))
        .order_by("overdue_since", "pk")[:ROWS_SHOWN]
    )
    for row in rows:
        row.overdue_days = max((now - row.overdue_since).days, 0)
    return {"rows": rows, "count": rows[0].total if rows else 0}


def next_steps_panel(user: User, today: date) -> dict:
    """The user's own open deals with a next step due by a week from today (overdue ones first), up to ten."""
    due = Opportunity.objects.visible_to(user).filter(
        owner=user, status=StageKind.OPEN, next_step_date__lte=today + timedelta(days=NEXT_STEP_DAYS)
    )
    rows = list(
        due.select_related("account", "stage")
        .annotate(total=Window(Count("pk")))
        .order_by("next_step_date", "pk")[:ROWS_SHOWN]
    )
    return {"rows": rows, "count": rows[0].total if rows else 0, "today": today}
