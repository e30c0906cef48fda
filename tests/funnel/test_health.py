"""The funnel's diagnoses, each both ways at its threshold: findings only, nothing written."""

from datetime import UTC, datetime, timedelta

import pytest

from funnel import health
from funnel.models import Alert, Stage
from tests.factories import OpportunityFactory

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture
def stages(pipeline):
    return {stage.name: stage for stage in Stage.objects.filter(pipeline=pipeline)}


def deal(owner, stage, *, idle_days: float = 0, **fields):
    entered = NOW - timedelta(days=idle_days)
    fields.setdefault("created_at", entered)
    return OpportunityFactory(owner=owner, stage=stage, stage_entered_at=entered, **fields)


def keys(findings) -> set[str]:
    return {f["key"] for f in findings}


def test_deal_just_under_its_stages_stall_days_is_not_stalled(rep, stages):
    deal(rep, stages["Proposal"], idle_days=14 - 1 / 1440)
    assert health.stalled_findings(NOW) == []


def test_deal_just_over_its_stages_stall_days_is_stalled(rep, stages):
    opportunity = deal(rep, stages["Proposal"], idle_days=14 + 1 / 1440)
    [found] = health.stalled_findings(NOW)
    assert found["key"] == f"stalled:opp:{opportunity.pk}"
    assert (found["rep_id"], found["opportunity_id"], found["stage_id"]) == (
        rep.pk,
        opportunity.pk,
        stages["Proposal"].pk,
    )


def test_deal_without_activity_for_longer_than_stall_days_is_stalled(rep, stages):
    opportunity = deal(rep, stages["Proposal"], last_activity_at=NOW - timedelta(days=15))
    assert keys(health.stalled_findings(NOW)) == {f"stalled:opp:{opportunity.pk}"}


def test_deal_whose_next_step_is_over_everywhere_is_stalled(rep, stages):
    """At 10:00 UTC on the 26th, the 24th is over in every time zone; the 25th may not be yet."""
    late = deal(rep, stages["Proposal"], next_step_date=NOW.date() - timedelta(days=2))
    deal(rep, stages["Proposal"], next_step_date=NOW.date() - timedelta(days=1))
    assert keys(health.stalled_findings(NOW)) == {f"stalled:opp:{late.pk}"}


def test_deal_both_idle_and_overdue_is_found_once(rep, stages):
    deal(rep, stages["Proposal"], idle_days=30, next_step_date=NOW.date() - timedelta(days=5))
    assert len(health.stalled_findings(NOW)) == 1


def test_overdue_next_steps_count_towards_blockage(rep, stages):
    for overdue in (True, True, False):
        deal(rep, stages["Proposal"], next_step_date=NOW.date() - timedelta(days=5) if overdue else None)
    assert len(health.blockage_findings(NOW)) == 1


def test_closed_deals_are_never_stalled(rep, stages):
    deal(rep, stages["Won"], idle_days=100, next_step_date=NOW.date() - timedelta(days=30))
    assert health.stalled_findings(NOW) == []


def test_empty_stage_between_filled_ones_is_a_gap(rep, stages):
    deal(rep, stages["Qualified"])
    deal(rep, stages["Negotiation"])
    assert keys(health.gap_findings(NOW)) == {f"gap:rep:{rep.pk}:stage:{stages['Proposal'].pk}"}


def test_no_gap_when_every_stage_between_is_filled(rep, stages):
    for name in ("Qualified", "Proposal", "Negotiation"):
        deal(rep, stages[name])
    assert health.gap_findings(NOW) == []


def test_empty_stages_at_the_ends_are_not_gaps(rep, stages):
    deal(rep, stages["Proposal"])
    assert health.gap_findings(NOW) == []


def test_gaps_are_per_rep(rep, teammate, stages):
    deal(rep, stages["Qualified"])
    deal(teammate, stages["Proposal"])
    deal(rep, stages["Negotiation"])
    assert keys(health.gap_findings(NOW)) == {f"gap:rep:{rep.pk}:stage:{stages['Proposal'].pk}"}


def test_rep_with_nothing_in_the_first_stage_has_an_empty_cup(rep, stages):
    deal(rep, stages["Proposal"])
    assert keys(health.empty_cup_findings(NOW)) == {f"empty_cup:rep:{rep.pk}:stage:{stages['Qualified'].pk}"}


def test_one_deal_in_the_first_stage_fills_the_cup(rep, stages):
    deal(rep, stages["Qualified"])
    deal(rep, stages["Proposal"])
    assert health.empty_cup_findings(NOW) == []


def test_reps_without_open_deals_or_inactive_have_no_empty_cup(rep, teammate, stages):
    deal(rep, stages["Won"])
    deal(teammate, stages["Proposal"])
    teammate.is_active = False
    teammate.save()
    assert health.empty_cup_findings(NOW) == []


def test_rep_whose_last_new_deal_is_just_within_four_weeks_has_inflow(rep, stages):
    deal(rep, stages["Qualified"], created_at=NOW - timedelta(weeks=4) + timedelta(minutes=1))
    assert health.empty_cup_findings(NOW) == []


def test_rep_without_a_new_deal_for_over_four_weeks_has_an_empty_cup(rep, stages):
    deal(rep, stages["Qualified"], created_at=NOW - timedelta(weeks=4, minutes=1))
    assert keys(health.empty_cup_findings(NOW)) == {f"empty_cup:rep:{rep.pk}:inflow"}


def test_stage_with_half_its_deals_stalled_is_blocked(rep, stages):
    for idle in (20, 20, 0, 0):
        deal(rep, stages["Proposal"], idle_days=idle)
    [found] = health.blockage_findings(NOW)
    assert found["key"] == f"blockage:rep:{rep.pk}:stage:{stages['Proposal'].pk}"


def test_stage_with_under_half_its_deals_stalled_is_not_blocked(rep, stages):
    for idle in (20, 0, 0):
        deal(rep, stages["Proposal"], idle_days=idle)
    assert health.blockage_findings(NOW) == []


def test_too_few_deals_are_not_a_blockage(rep, stages):
    for idle in (20, 20):
        deal(rep, stages["Proposal"], idle_days=idle)
    assert health.blockage_findings(NOW) == []
    assert len(health.blockage_findings(NOW, min_deals=2)) == 1


def test_diagnoses_write_nothing(rep, stages):
    deal(rep, stages["Proposal"], idle_days=30)
    health.stalled_findings(NOW), health.gap_findings(NOW), health.empty_cup_findings(NOW)
    assert not Alert.objects.exists()


@pytest.mark.parametrize("count", [5, 50])
def test_diagnoses_cost_the_same_queries_for_5_or_50_deals(count, rep, teammate, stages, django_assert_num_queries):
    for i in range(count):
        deal((rep, teammate)[i % 2], stages[("Qualified", "Negotiation")[i % 2]], idle_days=i)
    with django_assert_num_queries(9):
        health.stalled_findings(NOW)  # stages, deals
        health.gap_findings(NOW)  # stages, groups
        health.empty_cup_findings(NOW)  # stages, groups, inflow per rep
        health.blockage_findings(NOW)  # stages for the stalled rule, groups
