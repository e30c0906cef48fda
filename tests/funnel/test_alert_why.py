"""Alerts that say why: each kind's finding stores the numbers that raised it, a re-seen alert takes its finding's
latest numbers, and the inbox, the digest and the deal page word them (funnel.health.why)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from funnel.health import diagnoses
from funnel.health.digest import send_alert_digests
from funnel.health.services import alerts_sync, scan_funnel, stalled_sync
from funnel.health.why import why
from funnel.models import Alert, AlertKind, Pipeline, Target
from tests.factories import OpportunityFactory

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def deal(owner, stage, *, idle_days: float = 0, **fields):
    entered = NOW - timedelta(days=idle_days)
    fields.setdefault("created_at", entered)
    return OpportunityFactory(owner=owner, stage=stage, stage_entered_at=entered, **fields)


def test_stalled_alert_stores_when_the_deal_entered_its_stage_its_activity_and_next_step(rep, stages):
    opportunity = deal(rep, stages["Proposal"], idle_days=41, last_activity_at=NOW - timedelta(days=19),
                       next_step_date=date(2026, 11, 20))  # fmt: skip
    stalled_sync(now=NOW)
    alert = Alert.objects.get(opportunity=opportunity)
    assert alert.details["stall_days"] == 14 and alert.details["next_step"] == "2026-11-20"
    assert why(alert, NOW) == (
        "in Proposal for 41 days; stalls after 14; last activity 19 days ago; next step overdue since 11/20/2026"
    )
    [found] = diagnoses.stalled_findings(NOW)  # the finding in Python says the same
    again = Alert(kind=AlertKind.STALLED, stage=stages["Proposal"], details=found["details"])
    assert why(again, NOW) == why(alert, NOW)


def test_a_re_seen_stalled_alert_takes_the_deals_new_numbers(rep, stages):
    opportunity = deal(rep, stages["Proposal"], idle_days=41)
    stalled_sync(now=NOW)
    assert "no activity recorded" in why(Alert.objects.get(opportunity=opportunity), NOW)
    type(opportunity).objects.filter(pk=opportunity.pk).update(last_activity_at=NOW - timedelta(days=2))
    stalled_sync(now=NOW + timedelta(hours=1))
    alert = Alert.objects.get(opportunity=opportunity)
    assert "last activity 2 days ago" in why(alert, NOW) and alert.first_seen == NOW


def test_blockage_stores_the_stages_open_and_stalled_deals_and_the_threshold(rep, stages):
    for idle in (30, 30, 30, 0):
        deal(rep, stages["Proposal"], idle_days=idle)
    [found] = diagnoses.blockage_findings(NOW)
    assert found["details"] == {"open": 4, "stalled": 3, "threshold": 50}
    alerts_sync(findings=[found], kinds=[AlertKind.BLOCKAGE], now=NOW)
    alert = Alert.objects.get(kind=AlertKind.BLOCKAGE)
    assert why(alert) == "3 of the 4 open deals in Proposal are stalled (75%); the threshold is 50%."


def test_a_re_seen_alert_takes_its_findings_new_numbers(rep, stages):
    for idle in (30, 30, 30, 0):
        deal(rep, stages["Proposal"], idle_days=idle)
    alerts_sync(findings=diagnoses.blockage_findings(NOW), kinds=[AlertKind.BLOCKAGE], now=NOW)
    deal(rep, stages["Proposal"], idle_days=30)
    alerts_sync(findings=diagnoses.blockage_findings(NOW), kinds=[AlertKind.BLOCKAGE], now=NOW)
    assert Alert.objects.get(kind=AlertKind.BLOCKAGE).details == {"open": 5, "stalled": 4, "threshold": 50}


def test_gap_stores_the_deals_before_and_after_it(rep, stages):
    deal(rep, stages["Qualified"])
    deal(rep, stages["Qualified"])
    deal(rep, stages["Negotiation"])
    [found] = diagnoses.gap_findings(NOW)
    assert found["details"] == {"before": 2, "after": 1}
    alert = Alert(kind=AlertKind.GAP, stage=stages["Proposal"], details=found["details"])
    assert why(alert) == "No deal in Proposal: 2 in the stages before it, 1 after it."


def test_empty_cup_stores_the_deals_in_later_stages_and_the_inflow(rep, stages):
    Pipeline.objects.update(inflow_minimum=5)
    deal(rep, stages["Proposal"], idle_days=1)
    deal(rep, stages["Negotiation"], idle_days=40)
    by_key = {f["key"].rsplit(":", 1)[-1]: f for f in diagnoses.empty_cup_findings(NOW)}
    assert by_key["inflow"]["details"] == {"new": 1, "minimum": 5, "weeks": 4}
    first = next(f for f in by_key.values() if f["stage_id"])
    assert first["details"] == {"open": 2}
    inflow = Alert(kind=AlertKind.EMPTY_CUP, details=by_key["inflow"]["details"])
    assert why(inflow) == "1 new deal in the last 4 weeks; the pipeline expects 5."
    cup = Alert(kind=AlertKind.EMPTY_CUP, stage=stages["Qualified"], details=first["details"])
    assert why(cup) == "No deal in Qualified, the first stage; 2 open deals in later stages."


def test_forecast_risk_stores_the_targets_figures(manager, rep, stages):
    Target.objects.create(team=rep.team, period_start=date(2026, 10, 1), period_end=date(2026, 12, 31),
                          amount=Decimal(1000000), created_by=manager)  # fmt: skip
    deal(rep, stages["Proposal"], amount=Decimal(100000), expected_close_date=date(2026, 12, 1))
    [found] = diagnoses.forecast_risk_findings(NOW)
    numbers = found["details"]
    assert {name: Decimal(numbers[name]) for name in ("target", "won", "remaining", "weighted", "coverage")} == {
        "target": 1000000, "won": 0, "remaining": 1000000, "weighted": 40000, "coverage": Decimal("0.04")}  # fmt: skip
    assert (numbers["start"], numbers["end"]) == ("2026-10-01", "2026-12-31")
    sentence = why(Alert(kind=AlertKind.FORECAST_RISK, details=found["details"]))
    assert sentence.startswith("Target ¥1,000,000 for 10/01/2026 to 12/31/2026: ¥0 won, ¥1,000,000 left")
    assert sentence.endswith("(coverage 0.04×).")


def test_an_alert_without_numbers_says_nothing(rep, stages):
    assert why(Alert(kind=AlertKind.GAP, stage=stages["Proposal"])) == ""
    assert why(Alert(kind=AlertKind.GAP, stage=stages["Proposal"], details={"before": 1})) == ""  # an older shape


def test_the_inbox_and_the_digest_say_why(client_for, manager, rep, stages):
    opportunity = deal(rep, stages["Proposal"], idle_days=41)
    with time_machine.travel(NOW, tick=False):
        scan_funnel(NOW)
        page = client_for(manager).get("/alerts/").content.decode()
        assert "in Proposal for 41 days; stalls after 14; no activity recorded; no next step dated" in page
        send_alert_digests(NOW + timedelta(hours=1))
    text = next(message for message in mail.outbox if manager.email in message.to).body
    assert f"{opportunity.name}" in text and "in Proposal for 41 days" in text


def test_the_deal_page_says_why_it_is_stalled(client_for, rep, stages):
    opportunity = deal(rep, stages["Proposal"], idle_days=41)
    with time_machine.travel(NOW, tick=False):
        page = client_for(rep).get(f"/opportunities/{opportunity.pk}/").content.decode()
    assert 'data-testid="stalled-why"' in page and "in Proposal for 41 days; stalls after 14" in page


def test_a_rescan_writes_only_the_stalled_alerts_whose_numbers_changed(rep, stages):
    unchanged = deal(rep, stages["Proposal"], idle_days=41)
    moved = deal(rep, stages["Proposal"], idle_days=41)
    stalled_sync(now=NOW)
    type(moved).objects.filter(pk=moved.pk).update(last_activity_at=NOW - timedelta(days=2))
    later = NOW + timedelta(minutes=15)
    assert stalled_sync(now=later) == (0, 2, 0)  # both found again
    kept, renewed = (Alert.objects.get(opportunity=deal) for deal in (unchanged, moved))
    assert kept.last_seen == NOW  # same numbers: not written
    assert renewed.last_seen == later and "last activity 2 days ago" in why(renewed, later)
