"""The missing-daily-log diagnosis: each rep's last working day, in their own time zone, past its deadline."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from activity_log.health import missing_log_findings
from activity_log.models import DailyLog
from funnel import hooks
from funnel.models import AlertKind

pytestmark = pytest.mark.django_db
THURSDAY = date(2026, 11, 26)
# Thursday's log is due by Friday 02:00 in Shanghai (midnight plus DAILY_LOG_GRACE_HOURS), 18:00 UTC on Thursday.
DEADLINE = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)


def submitted(rep, day: date) -> DailyLog:
    return DailyLog.objects.create(rep=rep, date=day, submitted_at=datetime(2026, 11, 20, tzinfo=UTC))


def test_just_before_the_deadline_yesterdays_log_is_not_missing(shanghai_rep):
    submitted(shanghai_rep, date(2026, 11, 25))
    with time_machine.travel(DEADLINE - timedelta(seconds=1), tick=False):
        assert missing_log_findings(timezone.now()) == []


def test_just_after_the_deadline_an_unsubmitted_log_is_missing(shanghai_rep):
    submitted(shanghai_rep, date(2026, 11, 25))
    DailyLog.objects.create(rep=shanghai_rep, date=THURSDAY)  # started, never submitted
    with time_machine.travel(DEADLINE, tick=False):
        [found] = missing_log_findings(timezone.now())
    assert found["key"] == f"missing_log:rep:{shanghai_rep.pk}:2026-11-26"
    assert (found["kind"], found["rep_id"], found["day"]) == (AlertKind.MISSING_LOG, shanghai_rep.pk, THURSDAY)


def test_a_submitted_log_is_not_missing(shanghai_rep):
    submitted(shanghai_rep, THURSDAY)
    assert missing_log_findings(datetime(2026, 11, 26, 18, 1, tzinfo=UTC)) == []


def test_the_day_is_the_reps_own(shanghai_rep, teammate):
    """At 18:01 UTC Thursday is past due in Shanghai, but not in New York, where it is 13:01 on Thursday."""
    teammate.time_zone = "America/New_York"
    teammate.date_joined = shanghai_rep.date_joined
    teammate.save()
    submitted(teammate, date(2026, 11, 25))
    findings = missing_log_findings(datetime(2026, 11, 26, 18, 1, tzinfo=UTC))
    assert {(f["rep_id"], f["day"]) for f in findings} == {(shanghai_rep.pk, THURSDAY)}


def test_on_monday_the_last_working_day_is_friday(shanghai_rep):
    [found] = missing_log_findings(datetime(2026, 11, 30, 6, 0, tzinfo=UTC))  # Monday 14:00 in Shanghai
    assert found["day"] == date(2026, 11, 27)


def test_days_before_a_rep_joined_are_not_missing(shanghai_rep):
    shanghai_rep.date_joined = datetime(2026, 11, 26, 16, 30, tzinfo=UTC)  # Friday 00:30 in Shanghai
    shanghai_rep.save()
    assert missing_log_findings(datetime(2026, 11, 26, 18, 1, tzinfo=UTC)) == []


def test_managers_and_inactive_reps_are_not_asked_for_logs(shanghai_rep, manager):
    shanghai_rep.is_active = False
    shanghai_rep.save()
    assert missing_log_findings(datetime(2026, 11, 26, 18, 1, tzinfo=UTC)) == []


def test_the_diagnosis_is_registered_into_the_funnel_scan():
    assert hooks.registered_diagnoses()[AlertKind.MISSING_LOG] is missing_log_findings


def test_three_queries_however_many_reps(shanghai_rep, teammate, other_rep, django_assert_num_queries):
    with django_assert_num_queries(3):  # the working days, the reps, their logs
        missing_log_findings(datetime(2026, 11, 26, 18, 1, tzinfo=UTC))
