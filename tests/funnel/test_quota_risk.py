"""The health scan's "quota at risk" (issue 14): a quota in force whose open weighted pipeline closing by its end covers
less than HealthSettings.quota_risk_percent of what is left; the rep's alert, the team's for its manager, the numbers
worded, re-seen alerts taking new numbers, and a fixed number of queries."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from funnel.health.links import subject_url
from funnel.health.quota_risk import quota_risk_findings
from funnel.health.services import scan_funnel
from funnel.health.why import why
from funnel.models import Alert, AlertKind, AlertSeverity, HealthSettings, Opportunity
from reps.models import Quota
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
Q4 = (date(2026, 10, 1), date(2026, 12, 31))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def quota(person, amount, period=Q4) -> Quota:
    return Quota.objects.create(user=person, period_start=period[0], period_end=period[1], amount=Decimal(amount),
                                updated_by=person)  # fmt: skip


def won(person, stages, amount, day=date(2026, 10, 15)) -> Opportunity:
    closed = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
    return OpportunityFactory(owner=person, stage=stages["Won"], amount=Decimal(amount), closed_at=closed)


def proposal(person, stages, amount, close=date(2026, 12, 1)) -> Opportunity:
    """An open deal in Proposal (40 %) expected to close on `close`."""
    return OpportunityFactory(owner=person, stage=stages["Proposal"], amount=Decimal(amount), expected_close_date=close)


@pytest.fixture
def at_risk(cast, stages):
    """R1: quota ¥1,000,000 for Q4, ¥200,000 won, ¥1,000,000 in Proposal closing on Dec 1: ¥400,000 weighted for
    the ¥800,000 left = 50 %, below 70 %. R2: quota ¥500,000, nothing won or open."""
    quota(cast["rep"], 1_000_000)
    won(cast["rep"], stages, 200_000)
    deal = proposal(cast["rep"], stages, 1_000_000)
    quota(cast["teammate"], 500_000)
    return deal


def keyed(findings) -> dict:
    return {found["key"]: found for found in findings}


def test_a_rep_below_the_threshold_is_at_risk_and_the_numbers_are_kept(cast, at_risk):
    found = keyed(quota_risk_findings(NOW))
    rep_quota = Quota.objects.get(user=cast["rep"])
    mine = found[f"quota_at_risk:rep:{cast['rep'].pk}:quota:{rep_quota.pk}"]
    assert (mine["rep_id"], mine["team_id"], mine["severity"]) == (cast["rep"].pk, None, AlertSeverity.WARNING)
    assert mine["details"] == {"quota": "1000000.00", "won": "200000.00", "remaining": "800000.00",
                               "weighted": "400000.00", "start": "2026-10-01", "end": "2026-12-31",
                               "coverage": 50, "threshold": 70}  # fmt: skip


def test_covered_met_and_inactive_quotas_raise_nothing(cast, stages, at_risk):
    at_risk.amount = Decimal(1_400_000)  # ¥560,000 weighted for the ¥800,000 left: 70 %, not below
    at_risk.save()
    quota(cast["other_rep"], 100_000)
    won(cast["other_rep"], stages, 150_000)  # met
    cast["teammate"].is_active = False
    cast["teammate"].save()
    assert quota_risk_findings(NOW) == []


def test_the_threshold_is_the_health_settings_and_zero_turns_it_off(cast, at_risk):
    HealthSettings.objects.create(pk=1, quota_risk_percent=50)  # R1 at exactly 50 %: not below; R2 and T1 are
    assert {found["rep_id"] for found in quota_risk_findings(NOW)} == {cast["teammate"].pk, cast["manager"].pk}
    HealthSettings.objects.filter(pk=1).update(quota_risk_percent=0)
    assert quota_risk_findings(NOW) == []


def test_deals_closing_after_the_period_or_lost_do_not_cover_it(cast, stages, at_risk):
    at_risk.expected_close_date = date(2027, 1, 5)
    at_risk.save()
    rep_finding = next(found for found in quota_risk_findings(NOW) if found["rep_id"] == cast["rep"].pk)
    assert (rep_finding["details"]["weighted"], rep_finding["severity"]) == ("0.00", AlertSeverity.CRITICAL)


def test_below_half_the_threshold_is_critical(cast, at_risk):
    at_risk.amount = Decimal(600_000)  # ¥240,000 for ¥800,000: 30 %, under 35 %
    at_risk.save()
    rep_finding = next(found for found in quota_risk_findings(NOW) if found["rep_id"] == cast["rep"].pk)
    assert (rep_finding["details"]["coverage"], rep_finding["severity"]) == (30, AlertSeverity.CRITICAL)


def test_the_teams_quotas_added_up_go_to_its_manager(cast, at_risk):
    found = keyed(quota_risk_findings(NOW))
    team = found[f"quota_at_risk:team:{cast['rep'].team_id}:quotas:2026-10-01:2026-12-31"]
    assert (team["rep_id"], team["team_id"]) == (cast["manager"].pk, cast["rep"].team_id)
    # ¥1,500,000 in quotas, ¥200,000 won, ¥400,000 weighted for the ¥1,300,000 left: 30 %
    assert team["details"] == {"quota": "1500000.00", "won": "200000.00", "remaining": "1300000.00",
                               "weighted": "400000.00", "start": "2026-10-01", "end": "2026-12-31",
                               "coverage": 30, "threshold": 70, "people": 2}  # fmt: skip
    assert team["severity"] == AlertSeverity.CRITICAL
    assert len(found) == 3  # R1's, R2's and the team's; T2 has no quota


def test_a_team_with_one_quota_is_that_reps_alone(cast, stages):
    quota(cast["other_rep"], 300_000)
    [found] = quota_risk_findings(NOW)
    assert (found["rep_id"], found["team_id"]) == (cast["other_rep"].pk, None)


def test_the_why_words_the_numbers(cast, at_risk):
    scan_funnel(NOW)
    mine = Alert.objects.get(kind=AlertKind.QUOTA_RISK, rep=cast["rep"])
    assert why(mine) == (
        "¥800,000 of the ¥1,000,000 quota still to win by 12/31/2026; the open weighted pipeline closing by then is "
        "¥400,000 = 50%, below 70%."
    )
    team = Alert.objects.get(kind=AlertKind.QUOTA_RISK, team__isnull=False)
    assert why(team) == (
        "¥1,300,000 of the ¥1,500,000 in quotas of 2 people still to win by 12/31/2026; the open weighted pipeline "
        "closing by then is ¥400,000 = 30%, below 70%."
    )


def test_re_seen_alerts_take_their_new_numbers_and_resolve_when_covered(cast, at_risk):
    assert scan_funnel(NOW)[AlertKind.QUOTA_RISK] == (3, 0, 0)
    mine = Alert.objects.get(kind=AlertKind.QUOTA_RISK, rep=cast["rep"])
    at_risk.amount = Decimal(600_000)  # 30 %: worse, critical
    at_risk.save()
    later = NOW + timedelta(minutes=15)
    assert scan_funnel(later)[AlertKind.QUOTA_RISK] == (0, 3, 0)
    mine.refresh_from_db()
    assert (mine.details["weighted"], mine.details["coverage"], mine.severity) == (
        "240000.00", 30, AlertSeverity.CRITICAL)  # fmt: skip
    assert mine.last_seen == later and mine.resolved_at is None
    assert "= 30%, below 70%" in why(mine)
    at_risk.amount = Decimal(2_000_000)  # ¥800,000 weighted: 100 % of R1's ¥800,000 left
    at_risk.save()
    assert scan_funnel(later + timedelta(minutes=15))[AlertKind.QUOTA_RISK][2] == 1
    mine.refresh_from_db()
    assert mine.resolved_at == later + timedelta(minutes=15)


def test_who_sees_the_alerts(cast, at_risk):
    scan_funnel(NOW)
    seen = {name: set(Alert.objects.visible_to(cast[name]).filter(kind=AlertKind.QUOTA_RISK)
                      .values_list("rep__username", "team__name")) for name in cast}  # fmt: skip
    own, mate, team = ("r1", None), ("r2", None), ("m1", "T1")
    assert seen == {"rep": {own}, "teammate": {mate}, "manager": {own, mate, team}, "other_rep": set(),
                    "other_manager": set(), "admin": {own, mate, team}}  # fmt: skip


def test_the_alerts_link_to_the_reverse_funnel_plans(cast, at_risk):
    scan_funnel(NOW)
    mine = Alert.objects.get(kind=AlertKind.QUOTA_RISK, rep=cast["rep"])
    team = Alert.objects.get(kind=AlertKind.QUOTA_RISK, team__isnull=False)
    assert subject_url(mine, cast["manager"]) == reverse("planning:person_plan", args=[cast["rep"].pk])
    assert subject_url(team, cast["manager"]) == reverse("planning:team_plan", args=[cast["rep"].team_id])


def test_the_inbox_shows_the_plan_and_why(cast, at_risk, client_for):
    scan_funnel(NOW)
    content = client_for(cast["rep"]).get(reverse("health:alert_list")).content.decode()
    assert "Quota at risk" in content and "Reverse-funnel plan" in content
    assert reverse("planning:person_plan", args=[cast["rep"].pk]) in content
    assert "¥800,000 of the ¥1,000,000 quota still to win by 12/31/2026" in content


@pytest.mark.parametrize("people", [2, 12])
def test_the_diagnosis_costs_four_queries_however_many_people(people, cast, stages, django_assert_num_queries):
    for index in range(people):
        person = UserFactory(team=cast["rep"].team)
        quota(person, 100_000 * (index + 1))
        proposal(person, stages, 50_000)
        won(person, stages, 10_000)
    with django_assert_num_queries(4):  # the threshold, the quotas with their teams, won and weighted per quota
        found = quota_risk_findings(NOW)
    assert len(found) == people + 1  # each person, and their team
