"""The missing-daily-log diagnosis, registered into the funnel's scan through funnel.hooks.

Each rep's days are their own: the last working day in the rep's time zone whose submission
deadline has passed must have a submitted log. One query for the reps, one for their logs.
"""

from datetime import date, datetime, timedelta

from funnel.health import finding
from funnel.models import AlertKind, AlertSeverity
from reps.models import Role, User

from .models import DailyLog
from .selectors import WORKING_DAYS
from .services import local_date, submission_deadline


def last_due_day(rep: User, now: datetime) -> date | None:
    """The latest working day, in the rep's own time zone, whose log was due by `now` (None before they joined)."""
    day = local_date(rep, now)
    for _ in range(14):
        if day.weekday() in WORKING_DAYS and submission_deadline(rep, day) <= now:
            return day if day >= local_date(rep, rep.date_joined) else None
        day -= timedelta(days=1)
    return None


def missing_log_findings(now: datetime) -> list[dict]:
    """Per active rep: the last working day past its deadline without a submitted log."""
    reps = User.objects.filter(role=Role.REP, is_active=True).only("pk", "time_zone", "date_joined")
    due = {rep.pk: day for rep in reps if (day := last_due_day(rep, now)) is not None}
    submitted = set(
        DailyLog.objects.filter(rep_id__in=due, date__in=set(due.values()), submitted_at__isnull=False).values_list(
            "rep_id", "date"
        )
    )
    return [
        finding(
            AlertKind.MISSING_LOG, f"rep:{rep_id}:{day:%Y-%m-%d}", rep_id=rep_id, day=day, severity=AlertSeverity.INFO
        )
        for rep_id, day in due.items()
        if (rep_id, day) not in submitted
    ]
