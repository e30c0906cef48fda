"""The admins' funnel-health thresholds, read by the diagnoses: per pipeline (blockage share and size,
inflow, next-step cap) and per stage (stall days), each just under and just over; the next-step rule."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from funnel.health import diagnoses as health
from funnel.models import Opportunity, Pipeline, Stage, StageKind
from tests.factories import OpportunityFactory, PipelineFactory, StageFactory

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def deal(owner, stage, *, in_stage_days: float = 0, idle_days: float | None = None, **fields):
    """An open deal that entered `stage` `in_stage_days` ago and was last worked `idle_days` ago."""
    fields.setdefault("created_at", NOW - timedelta(days=in_stage_days))
    if idle_days is not None:
        fields["last_activity_at"] = NOW - timedelta(days=idle_days)
    return OpportunityFactory(owner=owner, stage=stage, stage_entered_at=NOW - timedelta(days=in_stage_days), **fields)


def keys(findings) -> set[str]:
    return {f["key"] for f in findings}


def stalled_ids(now=NOW) -> set[int]:
    return set(Opportunity.objects.stalled(now).values_list("pk", flat=True))


def set_thresholds(pipeline: Pipeline, **values) -> None:
    Pipeline.objects.filter(pk=pipeline.pk).update(**values)


# --- blockage share and size, per pipeline -----------------------------------------------------------------


def pile(owner, stage, *, stalled: int, fresh: int) -> None:
    for _ in range(stalled):
        deal(owner, stage, in_stage_days=30)
    for _ in range(fresh):
        deal(owner, stage)


@pytest.mark.parametrize(("share", "blocked"), [(60, True), (61, False)])
def test_blockage_share_is_the_pipelines(share, blocked, rep, stages, pipeline):
    """3 of 5 deals stalled is 60 %: blocked at a 60 % threshold, not at 61 %."""
    set_thresholds(pipeline, blockage_share=share)
    pile(rep, stages["Proposal"], stalled=3, fresh=2)
    assert bool(health.blockage_findings(NOW)) is blocked


@pytest.mark.parametrize(("min_deals", "blocked"), [(4, True), (5, False)])
def test_blockage_needs_the_pipelines_minimum_of_deals(min_deals, blocked, rep, stages, pipeline):
    set_thresholds(pipeline, blockage_min_deals=min_deals)
    pile(rep, stages["Proposal"], stalled=4, fresh=0)
    assert bool(health.blockage_findings(NOW)) is blocked


def test_each_pipeline_is_read_against_its_own_blockage_thresholds(rep, stages, pipeline):
    strict = PipelineFactory(name="Renewals", blockage_share=100, blockage_min_deals=2)
    renewal = StageFactory(pipeline=strict, name="Renewal due", order=1)
    StageFactory(pipeline=strict, name="Renewed", order=2, kind=StageKind.WON, probability=100)
    pile(rep, stages["Proposal"], stalled=2, fresh=1)  # 67 % of 3: blocked at the default 50 %
    pile(rep, renewal, stalled=1, fresh=1)  # 50 % of 2: not at 100 %
    assert keys(health.blockage_findings(NOW)) == {f"blockage:rep:{rep.pk}:stage:{stages['Proposal'].pk}"}


# --- inflow, per pipeline ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("created_ago", "empty"), [(timedelta(weeks=2) - timedelta(minutes=1), False),
                                                      (timedelta(weeks=2, minutes=1), True)])  # fmt: skip
def test_inflow_counts_over_the_pipelines_weeks(created_ago, empty, rep, stages, pipeline):
    set_thresholds(pipeline, inflow_weeks=2)
    deal(rep, stages["Qualified"], created_at=NOW - created_ago)
    expected = {f"empty_cup:rep:{rep.pk}:pipeline:{pipeline.pk}:inflow"} if empty else set()
    assert keys(health.inflow_findings(NOW)) == expected


@pytest.mark.parametrize(("new_deals", "empty"), [(2, True), (3, False)])
def test_inflow_needs_the_pipelines_minimum(new_deals, empty, rep, stages, pipeline):
    set_thresholds(pipeline, inflow_minimum=3)
    for _ in range(new_deals):
        deal(rep, stages["Qualified"], created_at=NOW - timedelta(days=1))
    found = health.inflow_findings(NOW)
    assert bool(found) is empty
    if found:
        assert (found[0]["rep_id"], found[0]["pipeline_id"]) == (rep.pk, pipeline.pk)


def test_inflow_minimum_zero_turns_the_check_off(rep, stages, pipeline):
    deal(rep, stages["Qualified"], created_at=NOW - timedelta(weeks=20))
    assert health.inflow_findings(NOW) != []
    set_thresholds(pipeline, inflow_minimum=0)
    assert health.inflow_findings(NOW) == []


def test_inflow_is_counted_per_pipeline(rep, stages, pipeline):
    """New deals in another pipeline do not fill this one's cup."""
    other = PipelineFactory(name="Renewals", inflow_weeks=8)
    renewal = StageFactory(pipeline=other, name="Renewal due", order=1)
    deal(rep, stages["Qualified"], created_at=NOW - timedelta(weeks=6))  # outside 4 weeks, inside 8
    deal(rep, renewal, created_at=NOW - timedelta(weeks=6))
    assert keys(health.inflow_findings(NOW)) == {f"empty_cup:rep:{rep.pk}:pipeline:{pipeline.pk}:inflow"}


# --- stall days, per stage ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("days_in_stage", "is_stalled"), [(21 - 1 / 1440, False), (21 + 1 / 1440, True)])
def test_a_stages_stall_days_as_set_by_the_admin(days_in_stage, is_stalled, rep, stages):
    Stage.objects.filter(pk=stages["Proposal"].pk).update(stall_days=21)
    opportunity = deal(rep, stages["Proposal"], in_stage_days=days_in_stage)
    assert (opportunity.pk in stalled_ids()) is is_stalled


def test_stall_days_zero_checks_only_overdue_next_steps(rep, stages):
    Stage.objects.filter(pk=stages["Proposal"].pk).update(stall_days=0)
    idle = deal(rep, stages["Proposal"], in_stage_days=300, idle_days=300)
    overdue = deal(rep, stages["Proposal"], next_step_date=NOW.date() - timedelta(days=2))
    assert stalled_ids() == {overdue.pk}
    assert idle.pk not in stalled_ids()


# --- the next-step rule ---------------------------------------------------------------------------------------
# Proposal stalls after 14 days; the pipeline's cap is 30 days. Each deal below entered its stage 5 days
# ago (so time in stage never stalls it) and was last worked 20 days ago, on 6 November 10:00 UTC.

LAST_ACTIVITY = NOW - timedelta(days=20)


def idle(owner, stages, **fields):
    return deal(owner, stages["Proposal"], in_stage_days=5, idle_days=20, **fields)


def test_an_idle_deal_without_a_next_step_is_stalled(rep, stages):
    opportunity = idle(rep, stages)
    assert stalled_ids() == {opportunity.pk}


def test_an_idle_deal_with_a_next_step_planned_is_not_stalled_until_it_is_overdue(rep, stages):
    opportunity = idle(rep, stages, next_step_date=date(2026, 11, 28))
    assert stalled_ids() == set()
    assert stalled_ids(datetime(2026, 11, 29, 23, 59, tzinfo=UTC)) == set()  # the 28th may not be over yet
    assert stalled_ids(datetime(2026, 11, 30, 0, 0, tzinfo=UTC)) == {opportunity.pk}  # over everywhere


@pytest.mark.parametrize(("days_after", "is_stalled"), [(30, False), (31, True)])
def test_a_next_step_beyond_the_cap_counts_as_no_plan(days_after, is_stalled, rep, stages):
    """Last worked on 6 November: a next step on 6 December (30 days) is a plan, on the 7th it is not."""
    opportunity = idle(rep, stages, next_step_date=LAST_ACTIVITY.date() + timedelta(days=days_after))
    assert (opportunity.pk in stalled_ids()) is is_stalled


@pytest.mark.parametrize(("cap", "is_stalled"), [(365, False), (364, True)])
def test_the_cap_is_the_pipelines(cap, is_stalled, rep, stages, pipeline):
    set_thresholds(pipeline, next_step_cap_days=cap)
    opportunity = idle(rep, stages, next_step_date=LAST_ACTIVITY.date() + timedelta(days=365))
    assert (opportunity.pk in stalled_ids()) is is_stalled


@pytest.mark.parametrize(
    ("last_activity", "is_stalled"),
    [
        (datetime(2026, 11, 5, 15, 59, tzinfo=UTC), True),  # 23:59 on 5 November in Shanghai: cap ends 5 December
        (datetime(2026, 11, 5, 16, 0, tzinfo=UTC), False),  # local midnight, 6 November: cap ends 6 December
    ],
)
def test_the_caps_days_are_counted_in_the_sites_time_zone(last_activity, is_stalled, rep, stages, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    opportunity = deal(
        rep, stages["Proposal"], in_stage_days=5, last_activity_at=last_activity, next_step_date=date(2026, 12, 6)
    )
    with time_machine.travel(NOW, tick=False):
        assert (opportunity.pk in stalled_ids(timezone.now())) is is_stalled


def test_a_plan_does_not_excuse_too_long_in_the_stage(rep, stages):
    opportunity = deal(rep, stages["Proposal"], in_stage_days=15, idle_days=1, next_step_date=date(2026, 11, 28))
    assert stalled_ids() == {opportunity.pk}


@pytest.mark.parametrize(("idle_days", "is_stalled"), [(14 - 1 / 1440, False), (14 + 1 / 1440, True)])
def test_without_a_plan_the_idle_clock_is_the_stages_stall_days(idle_days, is_stalled, rep, stages):
    opportunity = deal(rep, stages["Proposal"], in_stage_days=5, idle_days=idle_days)
    assert (opportunity.pk in stalled_ids()) is is_stalled


def test_blockage_counts_stalled_deals_with_the_next_step_rule(rep, stages):
    for _ in range(3):
        idle(rep, stages, next_step_date=date(2026, 11, 28))
    assert health.blockage_findings(NOW) == []
    for _ in range(3):
        idle(rep, stages)
    assert len(health.blockage_findings(NOW)) == 1  # 3 of 6 stalled


@pytest.mark.parametrize("pipelines", [1, 4])
def test_the_stalled_rule_reads_the_caps_with_the_stages_in_one_query(
    pipelines, rep, stages, django_assert_num_queries
):
    for n in range(pipelines):
        StageFactory(pipeline=PipelineFactory(name=f"Extra {n}", next_step_cap_days=n + 1), name=f"Extra {n}")
    idle(rep, stages)
    with django_assert_num_queries(2):  # the stages with their caps, the deals
        assert len(health.stalled_findings(NOW)) == 1
