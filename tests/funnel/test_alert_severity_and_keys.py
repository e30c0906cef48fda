"""alerts_sync keeps a re-seen alert's severity current, set-based; forecast alerts are keyed by target."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funnel.health.services import alerts_sync, scan_funnel
from funnel.models import Alert, AlertKind, AlertSeverity, Stage, Target
from tests.factories import OpportunityFactory

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def finding(key: str, rep, severity: str) -> dict:
    return {"key": key, "kind": AlertKind.BLOCKAGE, "severity": severity, "rep_id": rep.pk}


def severities() -> dict[str, str]:
    return dict(Alert.objects.open().values_list("key", "severity"))


def test_a_re_seen_alert_takes_its_findings_new_severity(rep, pipeline):
    alerts_sync(findings=[finding("blockage:a", rep, AlertSeverity.WARNING)], kinds=[AlertKind.BLOCKAGE], now=NOW)
    later = NOW + timedelta(minutes=15)
    counts = alerts_sync(
        findings=[finding("blockage:a", rep, AlertSeverity.CRITICAL)], kinds=[AlertKind.BLOCKAGE], now=later
    )
    assert counts == (0, 1, 0)
    alert = Alert.objects.get()
    assert (alert.severity, alert.first_seen, alert.last_seen) == (AlertSeverity.CRITICAL, NOW, later)


def test_unchanged_severities_are_left_alone(rep, pipeline):
    found = [finding("blockage:a", rep, AlertSeverity.WARNING)]
    alerts_sync(findings=found, kinds=[AlertKind.BLOCKAGE], now=NOW)
    with CaptureQueriesContext(connection) as queries:
        alerts_sync(findings=found, kinds=[AlertKind.BLOCKAGE], now=NOW + timedelta(minutes=15))
    assert not [q for q in queries if "severity" in q["sql"] and q["sql"].startswith("UPDATE")]
    assert severities() == {"blockage:a": AlertSeverity.WARNING}


def test_severities_change_with_one_update_per_new_severity_not_per_alert(rep, pipeline):
    keys = [f"blockage:{n}" for n in range(12)]
    alerts_sync(
        findings=[finding(key, rep, AlertSeverity.WARNING) for key in keys], kinds=[AlertKind.BLOCKAGE], now=NOW
    )
    changed = {key: (AlertSeverity.CRITICAL if n < 5 else AlertSeverity.INFO if n < 9 else AlertSeverity.WARNING)
               for n, key in enumerate(keys)}  # fmt: skip
    findings = [finding(key, rep, severity) for key, severity in changed.items()]
    with CaptureQueriesContext(connection) as queries:
        alerts_sync(findings=findings, kinds=[AlertKind.BLOCKAGE], now=NOW + timedelta(minutes=15))
    updates = [q for q in queries if q["sql"].startswith("UPDATE") and '"severity"' in q["sql"]]
    assert len(updates) == 2  # to critical, to info
    assert severities() == changed


# --- forecast at risk: warning → critical, and one alert per target -----------------------------------------


def target(team, by, amount, start=date(2026, 11, 1), end=date(2026, 11, 30)) -> Target:
    return Target.objects.create(team=team, period_start=start, period_end=end, amount=Decimal(amount), created_by=by)


def test_a_forecast_alert_turns_critical_when_the_pipeline_shrinks(rep, manager, team1, pipeline):
    """Target 10,000; a Negotiation deal (80 %) of 10,000 weighs 8,000: warning. It is lost: critical."""
    negotiation = Stage.objects.get(pipeline=pipeline, name="Negotiation")
    lost = Stage.objects.get(pipeline=pipeline, name="Lost")
    big = OpportunityFactory(
        owner=rep, stage=negotiation, amount=Decimal(10000), expected_close_date=date(2026, 11, 28)
    )
    target(team1, manager, 10_000)
    scan_funnel(NOW)
    assert Alert.objects.get(kind=AlertKind.FORECAST_RISK).severity == AlertSeverity.WARNING
    type(big).objects.filter(pk=big.pk).update(stage=lost, status=lost.kind)
    assert scan_funnel(NOW + timedelta(minutes=15))[AlertKind.FORECAST_RISK] == (0, 1, 0)
    alert = Alert.objects.get(kind=AlertKind.FORECAST_RISK)
    assert alert.severity == AlertSeverity.CRITICAL and alert.first_seen == NOW


def test_two_targets_of_a_team_starting_the_same_day_get_an_alert_each(rep, manager, team1, pipeline):
    month = target(team1, manager, 10_000)
    quarter = target(team1, manager, 30_000, end=date(2027, 1, 31))
    assert scan_funnel(NOW)[AlertKind.FORECAST_RISK] == (2, 0, 0)
    assert set(Alert.objects.filter(kind=AlertKind.FORECAST_RISK).values_list("key", flat=True)) == {
        f"forecast_risk:team:{team1.pk}:target:{month.pk}",
        f"forecast_risk:team:{team1.pk}:target:{quarter.pk}",
    }
    assert scan_funnel(NOW + timedelta(minutes=15))[AlertKind.FORECAST_RISK] == (0, 2, 0)
