"""Heavy reads of the manager's review: one day of the team's logs and weekly compliance. Each takes the
viewer, applies the visibility rule through `visible_to`, and costs a fixed number of queries however many
reps or rows there are.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import models
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils.translation import gettext_lazy as _

from funnel.models import HealthSettings
from reps.models import Role, Team, User

from ..models import Activity, Amendment, Comment, DailyLog, PlanItem, PlanItemStatus
from ..selectors import WORKING_DAYS
from ..services import local_date, submission_deadline

COMPLIANCE_WEEKS = 4  # the current ISO week and the three before it


# --- One day under review ----------------------------------------------------------------------------


class LogStatus(models.TextChoices):
    REVIEWED = "reviewed", _("Reviewed")
    ON_TIME = "on_time", _("Submitted on time")
    LATE = "late", _("Submitted late")
    NOT_SUBMITTED = "not_submitted", _("Not submitted")
    MISSING = "missing", _("Missing")


def organisation_working_days() -> frozenset[int]:
    """The days of the week (date.weekday()) reps owe a daily log, as admins set them (funnel health settings):
    the review, the compliance table and the missing-log alert all count with these. One query."""
    return frozenset(HealthSettings.current().working_days)


def log_status(
    *, rep: User, day: date, log: DailyLog | None, now: datetime, working_days: frozenset[int] = WORKING_DAYS
) -> LogStatus:
    """Where the rep's log for `day` stands at `now`: missing once a working day's deadline has passed."""
    if log is not None and log.is_submitted:
        if log.reviewed_at is not None:
            return LogStatus.REVIEWED
        return LogStatus.LATE if log.is_late else LogStatus.ON_TIME
    if day.weekday() in working_days and now >= submission_deadline(rep, day):
        return LogStatus.MISSING
    return LogStatus.NOT_SUBMITTED


@dataclass(frozen=True)
class ReviewRow:
    rep: User
    log: DailyLog | None
    status: LogStatus


def reviewable_teams(viewer: User) -> QuerySet[Team]:
    """The teams the viewer may choose on the review (Team.objects.visible_to): a manager's own and the ones they
    manage; every team for an admin."""
    return Team.objects.visible_to(viewer).order_by("name")


def review_people(viewer: User, *, day: date, team: Team | None = None) -> QuerySet[User]:
    """The active people the viewer manages: every rep, and anyone else (the manager too) with a log that day."""
    people = User.objects.visible_to(viewer).active().select_related("team")
    if team is not None:
        people = people.filter(team=team)
    has_log = Exists(DailyLog.objects.filter(rep=OuterRef("pk"), date=day))
    return people.filter(Q(role=Role.REP) | has_log).order_by("first_name", "last_name", "username")


def with_contents(logs: QuerySet[DailyLog]) -> QuerySet[DailyLog]:
    """Logs with everything a reader sees prefetched: plan, activities, amendments, comments."""
    related = ("kind", "account", "opportunity", "contact")
    return logs.select_related("reviewed_by").prefetch_related(
        Prefetch("plan", PlanItem.objects.select_related(*related)),
        Prefetch("activities", Activity.objects.select_related(*related)),
        Prefetch("amendments", Amendment.objects.select_related("by")),
        Prefetch("comments", Comment.objects.select_related("author")),
    )


def review_day(
    viewer: User, *, day: date, team: Team | None, now: datetime, working_days: frozenset[int] | None = None
) -> list[ReviewRow]:
    """Each person under review with their log for `day` (fully prefetched) and its status; `working_days` as
    organisation_working_days() answers, when the caller has read them already."""
    logs = with_contents(DailyLog.objects.visible_to(viewer).filter(date=day))
    people = review_people(viewer, day=day, team=team).prefetch_related(
        Prefetch("daily_logs", queryset=logs, to_attr="logs_of_day")
    )
    rows = []
    working_days = organisation_working_days() if working_days is None else working_days
    for person in people:
        log = person.logs_of_day[0] if person.logs_of_day else None
        status = log_status(rep=person, day=day, log=log, now=now, working_days=working_days)
        rows.append(ReviewRow(rep=person, log=log, status=status))
    return rows


# --- Compliance over the last weeks --------------------------------------------------------------------


@dataclass(frozen=True)
class WeekCompliance:
    """One rep's ISO week: logs on time, late and missing out of the working days so far."""

    start: date
    working_days: int
    on_time: int = 0
    late: int = 0
    missing: int = 0
    activities: int = 0
    plan_done: int = 0
    plan_carried: int = 0

    @property
    def activities_per_day(self) -> float:
        return self.activities / self.working_days if self.working_days else 0.0


@dataclass
class RepCompliance:
    rep: User
    weeks: list[WeekCompliance] = field(default_factory=list)


def week_starts(today: date, weeks: int = COMPLIANCE_WEEKS) -> list[date]:
    """The Mondays of the current ISO week and the `weeks - 1` before it, oldest first."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def _working_days(start: date, *, before: date, since: date, working_days: frozenset[int]) -> int:
    """Working days of the week starting `start`, from `since` (the rep's first day) up to `before`."""
    return sum(
        1 for n in range(7) if since <= (day := start + timedelta(days=n)) < before and day.weekday() in working_days
    )


def compliance(
    viewer: User, people: list[User], *, today: date, working_days: frozenset[int] | None = None
) -> list[RepCompliance]:
    """Per person and week, counted by one GROUP BY over (rep, ISO week) in the database.

    Working days count up to and including `today`; a day before today without a submitted log is
    missing; today is not missing yet. Activities and plan items count on every day of the week.
    """
    starts = week_starts(today)
    working_days = organisation_working_days() if working_days is None else working_days
    working = Q(date__iso_week_day__in=[day + 1 for day in working_days])
    submitted = Q(submitted_at__isnull=False) & working
    totals = (
        DailyLog.objects.visible_to(viewer)
        .filter(rep__in=[person.pk for person in people], date__gte=starts[0], date__lte=today)
        .order_by()
        .annotate(week=TruncWeek("date"))
        .values("rep", "week")
        .annotate(
            on_time=Count("pk", filter=submitted & Q(is_late=False), distinct=True),
            late=Count("pk", filter=submitted & Q(is_late=True), distinct=True),
            submitted_before_today=Count("pk", filter=submitted & Q(date__lt=today), distinct=True),
            activities=Count("activities", distinct=True),
            plan_done=Count("plan", filter=Q(plan__status=PlanItemStatus.DONE), distinct=True),
            plan_carried=Count("plan", filter=Q(plan__status=PlanItemStatus.CARRIED_OVER), distinct=True),
        )
    )
    found = {(row["rep"], _as_date(row["week"])): row for row in totals}
    result = []
    for person in people:
        weeks = []
        joined = local_date(person, person.date_joined)  # days before a rep joined are not missing
        for start in starts:
            row = found.get((person.pk, start), {})
            due = _working_days(start, before=today, since=joined, working_days=working_days)
            weeks.append(
                WeekCompliance(
                    start=start,
                    working_days=_working_days(
                        start, before=today + timedelta(days=1), since=joined, working_days=working_days
                    ),
                    on_time=row.get("on_time", 0),
                    late=row.get("late", 0),
                    missing=max(due - row.get("submitted_before_today", 0), 0),
                    activities=row.get("activities", 0),
                    plan_done=row.get("plan_done", 0),
                    plan_carried=row.get("plan_carried", 0),
                )
            )
        result.append(RepCompliance(rep=person, weeks=weeks))
    return result


def _as_date(value: date | datetime) -> date:
    # TruncWeek of a date is a date on SQLite and may come back as a datetime elsewhere.
    return value.date() if isinstance(value, datetime) else value
