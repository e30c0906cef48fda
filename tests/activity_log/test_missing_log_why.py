"""The missing-daily-log alert says which day and by when it was due (funnel.health.why)."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.utils import timezone

from activity_log.health import missing_log_findings
from funnel.health.why import why
from funnel.models import Alert, AlertKind

pytestmark = pytest.mark.django_db
# Thursday's log is due by Friday 02:00 in Shanghai (midnight plus DAILY_LOG_GRACE_HOURS), 18:00 UTC on Thursday.
DEADLINE = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)


def test_missing_log_stores_the_day_and_its_deadline(shanghai_rep):
    with time_machine.travel(DEADLINE, tick=False):
        [found] = missing_log_findings(timezone.now())
    assert found["details"] == {"day": "2026-11-26", "deadline": "2026-11-27T02:00:00+08:00"}
    assert found["day"] == date(2026, 11, 26)
    with timezone.override("Asia/Shanghai"):
        sentence = why(Alert(kind=AlertKind.MISSING_LOG, details=found["details"]))
    assert sentence == "No daily log submitted for 11/26/2026; it was due by 02:00 on 11/27/2026."
