"""The missing-daily-log diagnosis, registered into the funnel's scan through funnel.hooks.

Each rep's days are their own: the last working day in the rep's time zone whose submission
deadline has passed must have a submitted log. The working days are the admins' (funnel.HealthSettings,
Monday to Friday unless changed). One query for them, one for the reps, one for their logs.
"""

from datetime import date, datetime, timedelta

from funnel.health.diagnoses import finding
from funnel.models import AlertKind, AlertSeverity, HealthSettings
from reps.models import Role, User

from .models import DailyLog
from .selectors import WORKING_DAYS
from .services import local_date, submission_deadline


def last_due_day(rep: User, now: datetime, working_days: frozenset[int] = WORKING_DAYS) -> date | None:
    """The latest working day (date.weekday() in `working_days`), in the rep's own time zone, whose log was
    due by `now` (None before they joined, or without working days)."""
    day = local_date(rep, now)
    for _ in range(14):
        if day.weekday() in working_days and submission_deadline(rep, day) <= now:
            return day if day >= local_date(rep, rep.date_joined) else None
        day -= timedelta(days=1)
    return None


def missing_log_findings(now: datetime) -> list[dict]:
    """Per active rep: the last working day past its deadline without a submitted log."""
    working_days = frozenset(HealthSettings.current().working_days)
    reps = list(User.objects.filter(role=Role.REP, is_active=True).only("pk", "time_zone", "date_joined"))
    due = {rep.pk: day for rep in reps if (day := last_due_day(rep, now, working_days)) is not None}
    deadlines = {rep.pk: submission_deadline(rep, due[rep.pk]) for rep in reps if rep.pk in due}
    submitted = set(
        DailyLog.objects.filter(rep_id__in=due, date__in=set(due.values()), submitted_at__isnull=False).values_list(
            "rep_id", "date"
        )
    )
    return [
        finding(
            AlertKind.MISSING_LOG,
            f"rep:{rep_id}:{day:%Y-%m-%d}",
            rep_id=rep_id,
            day=day,
            severity=AlertSeverity.INFO,
            details={"day": day.isoformat(), "deadline": deadlines[rep_id].isoformat()},
        )
        for rep_id, day in due.items()
        if (rep_id, day) not in submitted
    ]
