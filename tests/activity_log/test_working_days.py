"""The missing-daily-log alert asks for the last of the admins' working days (Monday to Friday by default)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from activity_log.health import last_due_day, missing_log_findings
from activity_log.models import DailyLog
from funnel.models import HealthSettings

pytestmark = pytest.mark.django_db
# Monday 30 November 2026, 14:00 in Shanghai.
MONDAY_AFTERNOON = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def working(*days: int) -> None:
    HealthSettings.objects.update_or_create(pk=1, defaults={"working_days": list(days)})


def missing_days(now: datetime) -> list[date]:
    return [f["day"] for f in missing_log_findings(now)]


def test_by_default_the_last_working_day_before_monday_is_friday(shanghai_rep):
    assert missing_days(MONDAY_AFTERNOON) == [date(2026, 11, 27)]


def test_with_saturday_a_working_day_the_saturday_log_is_asked_for(shanghai_rep):
    working(0, 1, 2, 3, 4, 5)
    assert missing_days(MONDAY_AFTERNOON) == [date(2026, 11, 28)]


def test_a_submitted_log_for_the_saturday_clears_it(shanghai_rep):
    working(0, 1, 2, 3, 4, 5)
    DailyLog.objects.create(rep=shanghai_rep, date=date(2026, 11, 28), submitted_at=MONDAY_AFTERNOON)
    assert missing_days(MONDAY_AFTERNOON) == []


def test_a_week_of_tuesday_to_saturday_skips_sunday_and_monday(shanghai_rep):
    """On Tuesday 02:00 in Shanghai Monday's log would be due, but Monday is not a working day."""
    working(1, 2, 3, 4, 5)
    tuesday_night = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # Tuesday 02:00 in Shanghai
    assert missing_days(tuesday_night) == [date(2026, 11, 28)]


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (datetime(2026, 11, 28, 17, 59, 59, tzinfo=UTC), date(2026, 11, 27)),  # Sunday 01:59: Saturday not yet due
        (datetime(2026, 11, 28, 18, 0, tzinfo=UTC), date(2026, 11, 28)),  # Sunday 02:00 in Shanghai: due
    ],
)
def test_saturdays_log_is_due_at_its_deadline_in_the_reps_time_zone(now, day, shanghai_rep):
    working(0, 1, 2, 3, 4, 5)
    with time_machine.travel(now, tick=False):
        assert missing_days(timezone.now()) == [day]


def test_without_working_days_nothing_is_due(shanghai_rep):
    assert last_due_day(shanghai_rep, MONDAY_AFTERNOON, frozenset()) is None


def test_the_rule_holds_however_the_week_starts(shanghai_rep):
    working(6)  # Sundays only
    assert missing_days(MONDAY_AFTERNOON + timedelta(days=1)) == [date(2026, 11, 29)]


# --- The review page and its compliance table count the same working days as the alert -----------------


def test_the_review_calls_a_saturday_without_a_log_missing_once_saturday_is_a_working_day(manager, shanghai_rep):
    from activity_log.review import selectors

    saturday, after_it = date(2026, 11, 28), MONDAY_AFTERNOON
    status = {row.rep.pk: row.status for row in selectors.review_day(manager, day=saturday, team=None, now=after_it)}
    assert status[shanghai_rep.pk] == selectors.LogStatus.NOT_SUBMITTED
    working(0, 1, 2, 3, 4, 5)
    status = {row.rep.pk: row.status for row in selectors.review_day(manager, day=saturday, team=None, now=after_it)}
    assert status[shanghai_rep.pk] == selectors.LogStatus.MISSING


def test_compliance_counts_the_admins_working_days(manager, shanghai_rep):
    from activity_log.review import selectors

    week = date(2026, 11, 23)  # Monday; counted up to Sunday the 29th

    def this_week():
        weeks = selectors.compliance(manager, [shanghai_rep], today=date(2026, 11, 30))[0].weeks
        return next(w for w in weeks if w.start == week)

    assert (this_week().working_days, this_week().missing) == (5, 5)
    working(1, 2, 3, 4, 5)  # Tuesday to Saturday
    assert (this_week().working_days, this_week().missing) == (5, 5)
    working(0, 1, 2)
    assert (this_week().working_days, this_week().missing) == (3, 3)
