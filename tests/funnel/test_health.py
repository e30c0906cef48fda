"""The funnel's diagnoses, each both ways at its threshold: findings only, nothing written."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from funnel.health import diagnoses as health
from funnel.models import Alert, AlertSeverity, Pipeline, Target
from reps.models import Role
from tests.factories import OpportunityFactory, TeamFactory, UserFactory

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


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
    assert keys(health.empty_cup_findings(NOW)) == {
        f"empty_cup:rep:{rep.pk}:pipeline:{stages['Qualified'].pipeline_id}:inflow"
    }


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
    Pipeline.objects.update(blockage_min_deals=2)
    assert len(health.blockage_findings(NOW)) == 1


def test_diagnoses_write_nothing(rep, stages):
    deal(rep, stages["Proposal"], idle_days=30)
    health.stalled_findings(NOW), health.gap_findings(NOW), health.empty_cup_findings(NOW)
    assert not Alert.objects.exists()


@pytest.mark.parametrize("count", [5, 50])
def test_diagnoses_cost_the_same_queries_for_5_or_50_deals(count, rep, teammate, stages, django_assert_num_queries):
    for i in range(count):
        deal((rep, teammate)[i % 2], stages[("Qualified", "Negotiation")[i % 2]], idle_days=i)
    with django_assert_num_queries(11):
        health.stalled_findings(NOW)  # stages, deals
        health.gap_findings(NOW)  # stages, groups
        health.empty_cup_findings(NOW)  # stages, groups, pipelines' inflow windows, inflow per rep and pipeline
        health.blockage_findings(NOW)  # stages for the stalled rule, groups per rep, groups per team


# --- forecast at risk -------------------------------------------------------------------------------
# T1 (manager m1; r1, r2) has a November target of 10,000; r1 won 4,000 on the 20th, so 6,000 remain.
# Negotiation weighs 80 %: a deal of 7,500 expected in November covers exactly what remains.

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def target(team, amount, period=NOVEMBER, by=None) -> Target:
    by = by or team.manager or UserFactory(role=Role.ADMIN)
    return Target.objects.create(team=team, period_start=period[0], period_end=period[1], amount=amount, created_by=by)


def won(owner, stages, amount, closed_at=datetime(2026, 11, 20, 10, tzinfo=UTC)):
    return OpportunityFactory(owner=owner, stage=stages["Won"], amount=Decimal(amount), closed_at=closed_at)


def expected(owner, stages, amount, close=date(2026, 11, 28), stage="Negotiation"):
    return OpportunityFactory(owner=owner, stage=stages[stage], amount=Decimal(amount), expected_close_date=close)


@pytest.fixture
def november(rep, teammate, manager, team1, stages):
    target(team1, Decimal(10000))
    won(rep, stages, 4000)
    return team1


def risk(now=NOW) -> list[dict]:
    """The diagnosis as the scan runs it at `now` (the clock stopped there)."""
    with time_machine.travel(now, tick=False):
        return health.forecast_risk_findings(timezone.now())


def test_forecast_just_under_what_remains_is_at_risk(november, teammate, manager, stages):
    expected(teammate, stages, "7499.99")  # weighted 5,999.99 < 6,000
    [found] = risk()
    assert found["key"] == f"forecast_risk:team:{november.pk}:target:{november.targets.get().pk}"
    assert (found["rep_id"], found["team_id"], found["severity"]) == (manager.pk, november.pk, AlertSeverity.WARNING)


def test_forecast_covering_what_remains_is_not_at_risk(november, teammate, stages):
    expected(teammate, stages, 7500)  # weighted 6,000 = 6,000
    assert risk() == []


def test_forecast_under_half_of_what_remains_is_critical(november, teammate, stages):
    expected(teammate, stages, "3749.99")  # weighted 2,999.99 < 3,000
    assert [f["severity"] for f in risk()] == [AlertSeverity.CRITICAL]
    expected(teammate, stages, "0.02")  # now 3,000.006
    assert [f["severity"] for f in risk()] == [AlertSeverity.WARNING]


def test_target_already_won_is_not_at_risk(november, rep, stages):
    won(rep, stages, 6000)
    assert risk() == []


def test_only_the_periods_wins_and_expected_closes_count(november, rep, teammate, stages):
    won(rep, stages, 6000, closed_at=datetime(2026, 10, 31, 23, 59, tzinfo=UTC))  # before the period
    expected(teammate, stages, 7500, close=date(2026, 12, 1))  # after it
    expected(teammate, stages, 7500, stage="Won")  # closed, not pipeline
    assert len(risk()) == 1
    expected(teammate, stages, 7500, close=date(2026, 11, 30))  # its last day
    assert risk() == []


@pytest.mark.parametrize(
    ("zone", "closed_at", "at_risk"),
    [
        ("Asia/Shanghai", datetime(2026, 10, 31, 16, 0, tzinfo=UTC), False),  # local midnight, 1 November: counted
        ("Asia/Shanghai", datetime(2026, 10, 31, 15, 59, tzinfo=UTC), True),  # 31 October 23:59 there
        ("America/New_York", datetime(2026, 11, 1, 3, 59, tzinfo=UTC), True),  # still 31 October there
        ("America/New_York", datetime(2026, 11, 1, 4, 0, tzinfo=UTC), False),  # local midnight
    ],
)
def test_the_periods_days_are_in_the_sites_time_zone(
    zone, closed_at, at_risk, november, rep, teammate, stages, settings
):
    settings.TIME_ZONE = zone
    expected(teammate, stages, 5000)  # weighted 4,000 against 6,000 left…
    won(rep, stages, 2000, closed_at=closed_at)  # …or 4,000 left if this win is in the period
    assert bool(risk()) is at_risk


def test_other_teams_deals_do_not_cover_a_teams_target(november, other_rep, stages):
    expected(other_rep, stages, 100000)
    assert len(risk()) == 1


def test_target_forecasts_show_each_targets_figures_and_the_alerts_verdict(november, rep, teammate, stages, team2):
    expected(teammate, stages, 5000)  # weighted 4,000 against 6,000 left: under, but not under half
    expected(teammate, stages, 9000, close=date(2026, 12, 1))  # after the period: not counted
    covered = target(team2, Decimal(500))  # nothing won, nothing expected: 0 against 500 left
    won(rep, stages, 1, closed_at=datetime(2026, 10, 31, 12, tzinfo=UTC))  # before the period
    rows = health.target_forecasts([november.targets.get(), covered])
    assert [(r["won"], r["weighted"], r["remaining"], r["coverage"], r["severity"]) for r in rows] == [
        (4000, Decimal(4000), 6000, Decimal("0.67"), AlertSeverity.WARNING),
        (0, 0, 500, Decimal("0.00"), AlertSeverity.CRITICAL),
    ]
    assert health.target_forecasts([]) == []


def test_only_targets_whose_period_holds_today_are_read(november, stages):
    assert risk(datetime(2026, 12, 1, 10, tzinfo=UTC)) == []
    assert len(risk(datetime(2026, 11, 30, 23, 59, tzinfo=UTC))) == 1


def test_team_without_a_manager_has_no_forecast_alert(stages, admin_user):
    team = TeamFactory(name="Leaderless")
    UserFactory(username="r9", team=team)
    target(team, Decimal(10000), by=admin_user)
    assert risk() == []


def test_each_team_is_read_against_its_own_targets(november, other_rep, other_manager, team2, stages):
    target(team2, Decimal(1000))
    second_half = target(team2, Decimal(1000), period=(date(2026, 11, 16), date(2026, 11, 30)))
    won(other_rep, stages, 500, closed_at=datetime(2026, 11, 10, tzinfo=UTC))  # in the first period only
    expected(other_rep, stages, 625)  # weighted 500: covers the first (500 left), not the second (1,000)
    assert {f["key"] for f in risk()} == {
        f"forecast_risk:team:{november.pk}:target:{november.targets.get().pk}",
        f"forecast_risk:team:{team2.pk}:target:{second_half.pk}",
    }


@pytest.mark.parametrize("teams", [1, 6])
def test_forecast_risk_costs_three_queries_however_many_teams(teams, november, stages, django_assert_num_queries):
    for n in range(teams):
        manager = UserFactory(username=f"m{n + 10}", role=Role.MANAGER)
        team = TeamFactory(name=f"Extra {n}", manager=manager)
        member = UserFactory(username=f"r{n + 10}", team=team)
        target(team, Decimal(5000))
        won(member, stages, 1000)
        expected(member, stages, 1000)
    with django_assert_num_queries(3):  # targets, won per target, weighted per target
        assert len(health.forecast_risk_findings(NOW)) == teams + 1
