"""Stage probabilities against history (funnel.insights.calibration), computed by hand on small fixed histories."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from funnel.insights import calibration
from funnel.models import StageChange
from tests.factories import OpportunityFactory, StageChangeFactory, StageFactory

pytestmark = pytest.mark.django_db
NOW = timezone.make_aware(datetime(2026, 6, 15, 12, 0))


def deal(owner, path: list, *, start: datetime = NOW - timedelta(days=60)):
    """A deal of `owner` that entered each stage of `path` one day apart from `start`; it ends in the last one."""
    last = path[-1]
    opportunity = OpportunityFactory(owner=owner, stage=last, status=last.kind)
    previous = None
    for day, stage in enumerate(path):
        StageChangeFactory(opportunity=opportunity, from_stage=previous, to_stage=stage, at=start + timedelta(days=day))
        previous = stage
    return opportunity


def rows_by_name(user=None, **kwargs) -> dict:
    changes = StageChange.objects.all() if user is None else StageChange.objects.visible_to(user)
    pipeline = kwargs.pop("pipeline")
    return {row.stage.name: row for row in calibration.calibrate(changes, pipeline, now=NOW, **kwargs)}


def test_share_of_closed_deals_that_entered_each_stage_was_won(pipeline, stages, rep):
    q, p, n, won, lost = (stages[name] for name in ("Qualified", "Proposal", "Negotiation", "Won", "Lost"))
    deal(rep, [q, p, n, won])
    deal(rep, [q, p, lost])
    deal(rep, [q, lost])
    deal(rep, [q, p, n])  # still open: not counted anywhere
    rows = rows_by_name(pipeline=pipeline, minimum=1)
    assert (rows["Qualified"].total.deals, rows["Qualified"].total.won) == (3, 1)
    assert (rows["Proposal"].total.deals, rows["Proposal"].total.won) == (2, 1)
    assert (rows["Negotiation"].total.deals, rows["Negotiation"].total.won) == (1, 1)
    assert rows["Qualified"].total.percent == Decimal("33.3") and rows["Proposal"].total.percent == Decimal("50.0")
    assert list(rows) == ["Qualified", "Proposal", "Negotiation"]  # open stages only, in order


def test_a_skipped_stage_does_not_count_the_deal(pipeline, stages, rep):
    q, p, n, won = (stages[name] for name in ("Qualified", "Proposal", "Negotiation", "Won"))
    deal(rep, [q, n, won])  # skipped Proposal
    rows = rows_by_name(pipeline=pipeline, minimum=1)
    assert rows["Proposal"].total.deals == 0 and rows["Proposal"].total.percent is None
    assert rows["Negotiation"].total.won == 1 and rows["Qualified"].total.won == 1


def test_a_reopened_deal_counts_once_with_its_outcome_now(pipeline, stages, rep):
    q, p, won, lost = (stages[name] for name in ("Qualified", "Proposal", "Won", "Lost"))
    deal(rep, [q, p, lost, p, won])  # lost, reopened into Proposal, then won
    deal(rep, [q, p, won, p])  # won, reopened and open again: not closed, not counted
    rows = rows_by_name(pipeline=pipeline, minimum=1)
    assert (rows["Proposal"].total.deals, rows["Proposal"].total.won) == (1, 1)
    assert (rows["Qualified"].total.deals, rows["Qualified"].total.won) == (1, 1)


def test_entries_outside_the_window_do_not_count(pipeline, stages, rep):
    q, lost, won = stages["Qualified"], stages["Lost"], stages["Won"]
    deal(rep, [q, lost], start=NOW - timedelta(days=400))  # outside 12 months
    deal(rep, [q, won], start=NOW - timedelta(days=100))
    assert rows_by_name(pipeline=pipeline, minimum=1)["Qualified"].total.deals == 1
    assert rows_by_name(pipeline=pipeline, minimum=1, months=24)["Qualified"].total.deals == 2
    assert rows_by_name(pipeline=pipeline, minimum=1, months=3)["Qualified"].total.deals == 0


def test_an_archived_stage_is_listed_only_while_it_has_history(pipeline, stages, rep):
    old = StageFactory(pipeline=pipeline, order=9, name="Demo", probability=30, is_archived=True)
    assert "Demo" not in rows_by_name(pipeline=pipeline, minimum=1)
    deal(rep, [stages["Qualified"], old, stages["Lost"]])
    row = rows_by_name(pipeline=pipeline, minimum=1)["Demo"]
    assert row.total.deals == 1 and row.total.percent == Decimal("0.0")
    assert not row.acceptable  # an archived stage's probability is not offered for change


def test_too_few_deals_is_not_enough_history(pipeline, stages, rep):
    for _ in range(3):
        deal(rep, [stages["Qualified"], stages["Won"]])
    row = rows_by_name(pipeline=pipeline, minimum=4)["Qualified"]
    assert row.total.deals == 3 and row.total.percent is None and row.total.range is None
    assert not row.disagrees and not row.acceptable
    assert rows_by_name(pipeline=pipeline, minimum=3)["Qualified"].total.percent == Decimal("100.0")


def test_wilson_interval_matches_hand_computation():
    # 34 of 100: p = .34, z = 1.96: centre (.34 + .019208) / 1.038416 = .345912, margin .092110 / 1.038416
    assert calibration.wilson(34, 100) == (Decimal("25.5"), Decimal("43.7"))
    assert calibration.wilson(0, 10) == (Decimal("0.0"), Decimal("27.8"))
    assert calibration.wilson(10, 10) == (Decimal("72.2"), Decimal("100.0"))


def test_disagreement_is_a_configured_probability_outside_the_range(pipeline, stages, rep):
    proposal = stages["Proposal"]  # configured 40 %
    for index in range(20):
        deal(rep, [proposal, stages["Won"] if index < 2 else stages["Lost"]])  # 2 of 20 = 10 %
    row = rows_by_name(pipeline=pipeline)["Proposal"]
    assert row.total.percent == Decimal("10.0") and row.total.range == (Decimal("2.8"), Decimal("30.1"))
    assert row.disagrees and row.acceptable and row.total.rounded == 10
    assert row.total.margin == Decimal("14")


def test_a_rep_and_a_team_add_up_to_the_scope_and_visibility_limits_them(pipeline, stages, rep, teammate, other_rep,
                                                                          manager):  # fmt: skip
    q, won, lost = stages["Qualified"], stages["Won"], stages["Lost"]
    deal(rep, [q, won])
    deal(rep, [q, lost])
    deal(teammate, [q, won])
    deal(other_rep, [q, lost])
    everyone = rows_by_name(pipeline=pipeline, minimum=1)["Qualified"]
    assert (everyone.total.deals, everyone.total.won) == (4, 2)
    assert everyone.share_of([rep.pk]) == calibration.Share(2, 1, 1)
    assert everyone.share_of([rep.pk, teammate.pk]) == calibration.Share(3, 2, 1)
    mine = rows_by_name(rep, pipeline=pipeline, minimum=1)["Qualified"]
    assert (mine.total.deals, mine.total.won) == (2, 1) and set(mine.by_owner) == {rep.pk}
    managed = rows_by_name(manager, pipeline=pipeline, minimum=1)["Qualified"]
    assert (managed.total.deals, managed.total.won) == (3, 2) and other_rep.pk not in managed.by_owner


def test_one_query_whatever_the_history(pipeline, stages, rep, django_assert_num_queries):
    for _ in range(5):
        deal(rep, [stages["Qualified"], stages["Proposal"], stages["Won"]])
    listed = calibration.stages_of(pipeline)
    with django_assert_num_queries(1):
        calibration.calibrate(StageChange.objects.all(), pipeline, now=NOW, stages=listed)


def test_months_before_keeps_the_day_or_takes_the_months_last():
    assert calibration.months_before(datetime(2026, 3, 31, 9), 1) == datetime(2026, 2, 28, 9)
    assert calibration.months_before(datetime(2026, 1, 15), 12) == datetime(2025, 1, 15)
    assert calibration.months_before(datetime(2026, 1, 15), 13) == datetime(2024, 12, 15)


def test_command_prints_the_table(pipeline, stages, rep, capsys, time_machine):
    time_machine.move_to(NOW)
    for index in range(20):
        deal(rep, [stages["Qualified"], stages["Won"] if index < 7 else stages["Lost"]])
    call_command("funnel_calibration", months=12)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Project sales: deals that entered each stage since 2025-06-15, closed now"
    assert lines[1].split() == ["stage", "configured", "%", "historical", "%", "range", "deals", "won"]
    assert lines[2].split() == ["Qualified", "10", "35.0", "18.1-56.7", "20", "7"]
    assert lines[3].split() == ["Proposal", "40", "not", "enough", "history", "0", "0"]
    assert lines[-1] == "Configured probability outside the historical range: Qualified"


def test_command_names_the_pipelines_it_knows(pipeline):
    with pytest.raises(CommandError, match="Pipelines: Project sales"):
        call_command("funnel_calibration", pipeline="Nope")
    with pytest.raises(CommandError, match="--months"):
        call_command("funnel_calibration", months=0)
