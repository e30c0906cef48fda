"""Dashboard figures over a period, checked against numbers worked out by hand on a small fixed funnel.

Period: Monday 2 to Sunday 29 November 2026. Deals (owner, source, moves):
A  r1 Website  Qualified 3/11 → Proposal 5/11 → Negotiation 10/11 → Won 20/11   1000
B  r1 Fair     Qualified 4/11 → Lost 6/11                                        0
C  r1 Website  Qualified 2/11 → Proposal 12/11 → Lost 14/11 → reopened Proposal 16/11 → Negotiation 18/11   500
D  r2 —        Qualified 20/10 → Proposal 25/10 (before the period)              2000, closes 15/12
E  r2 Fair     Qualified 20/11 → Proposal 24/11                                  0, closes 25/11
F  r2 —        created 1/9, won 25/11                                            3000
G  r3 —        won 1/10 (before the period)                                      700
"""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from funnel import metrics
from funnel.models import Opportunity, Stage, StageChange
from reps.models import User
from tests.factories import OpportunityFactory, SourceFactory

pytestmark = pytest.mark.django_db

START, END = date(2026, 11, 2), date(2026, 11, 29)


def at(month: int, day: int) -> datetime:
    return timezone.make_aware(datetime(2026, month, day, 10))


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def deal(owner, moves: list[tuple[str, datetime]], **fields) -> Opportunity:
    """An opportunity with its StageChange history; it ends in the last move's stage."""
    last = stage(moves[-1][0])
    closed_at = moves[-1][1] if last.kind != "open" else None
    opportunity = OpportunityFactory(owner=owner, stage=last, created_at=moves[0][1], closed_at=closed_at, **fields)
    previous = None
    for name, moment in moves:
        StageChange.objects.create(opportunity=opportunity, from_stage=previous, to_stage=stage(name), at=moment)
        previous = stage(name)
    return opportunity


@pytest.fixture
def funnel(cast, pipeline):
    website, fair = SourceFactory(name="Website"), SourceFactory(name="Fair")
    rep, teammate = cast["rep"], cast["teammate"]
    deal(rep, [("Qualified", at(11, 3)), ("Proposal", at(11, 5)), ("Negotiation", at(11, 10)), ("Won", at(11, 20))],
         source=website, amount=Decimal(1000))  # fmt: skip
    deal(rep, [("Qualified", at(11, 4)), ("Lost", at(11, 6))], source=fair, amount=Decimal(0))
    deal(rep, [("Qualified", at(11, 2)), ("Proposal", at(11, 12)), ("Lost", at(11, 14)), ("Proposal", at(11, 16)),
               ("Negotiation", at(11, 18))], source=website, amount=Decimal(500),
         expected_close_date=date(2026, 11, 28))  # fmt: skip
    deal(teammate, [("Qualified", at(10, 20)), ("Proposal", at(10, 25))], amount=Decimal(2000),
         expected_close_date=date(2026, 12, 15))  # fmt: skip
    deal(teammate, [("Qualified", at(11, 20)), ("Proposal", at(11, 24))], source=fair, amount=Decimal(0),
         expected_close_date=date(2026, 11, 25))  # fmt: skip
    deal(teammate, [("Qualified", at(9, 1)), ("Won", at(11, 25))], amount=Decimal(3000))
    deal(cast["other_rep"], [("Qualified", at(9, 1)), ("Won", at(10, 1))], amount=Decimal(700))
    return pipeline


def test_inflow_counts_new_deals_per_iso_week_with_empty_weeks(funnel):
    rows = metrics.inflow_by_week(Opportunity.objects.all(), START, END)
    assert [(row["week"], row["count"]) for row in rows] == [
        (date(2026, 11, 2), 3),  # A, B, C
        (date(2026, 11, 9), 0),
        (date(2026, 11, 16), 1),  # E (a Friday)
        (date(2026, 11, 23), 0),
    ]


def test_conversion_follows_each_stage_cohort_and_counts_a_reopened_deal_once(funnel):
    rows = metrics.flow(StageChange.objects.all(), funnel, START, END)
    assert [(row["stage"].name, row["entered"], row["advanced"], row["rate"]) for row in rows] == [
        ("Qualified", 4, 3, Decimal("75.0")),  # A, B, C, E; B only went to Lost
        ("Proposal", 3, 2, Decimal("66.7")),  # A, C (twice, once counted), E
        ("Negotiation", 2, 1, Decimal("50.0")),  # A won, C still there
    ]


def test_conversion_of_an_empty_scope_is_zero_without_a_rate(funnel):
    rows = metrics.flow(StageChange.objects.none(), funnel, START, END)
    assert [(row["entered"], row["advanced"], row["rate"]) for row in rows] == [(0, 0, None)] * 3


def test_time_in_stage_averages_and_medians_the_stays_that_ended_in_the_period(funnel):
    rows = metrics.flow(StageChange.objects.all(), funnel, START, END)
    assert [(row["stage"].name, row["stays"], row["average_days"], row["median_days"]) for row in rows] == [
        ("Qualified", 5, Decimal("20.6"), Decimal("4.0")),  # A 2, B 2, C 10, E 4, F 85 (D left in October)
        ("Proposal", 3, Decimal("3.0"), Decimal("2.0")),  # A 5, C 2 and 2 again after reopening
        ("Negotiation", 1, Decimal("10.0"), Decimal("10.0")),  # A; C is still there
    ]


def test_time_in_stage_groups_by_stage_even_after_a_rename(funnel):
    Stage.objects.filter(name="Proposal").update(name="Quotation")
    rows = metrics.flow(StageChange.objects.all(), funnel, START, END)
    assert [(row["stage"].name, row["stays"]) for row in rows] == [
        ("Qualified", 5),
        ("Quotation", 3),
        ("Negotiation", 1),
    ]


def test_outcomes_count_deals_closed_in_the_period_and_not_a_reopened_one(funnel):
    figures = metrics.outcomes(Opportunity.objects.all(), START, END)
    assert (figures["won"], figures["lost"], figures["won_amount"]) == (2, 1, 4000)  # A, F won; B lost
    assert figures["win_rate"] == Decimal("66.7")
    assert figures["cycle_days"] == Decimal("51.0")  # A 17 days, F 85 days
    assert figures["deal_size"] == Decimal("2000.00")


def test_outcomes_of_an_empty_scope_have_no_rates(pipeline):
    figures = metrics.outcomes(Opportunity.objects.none(), START, END)
    assert (figures["won"], figures["lost"], figures["won_amount"]) == (0, 0, 0)
    assert (figures["win_rate"], figures["cycle_days"], figures["deal_size"]) == (None, None, None)


def test_forecast_sums_open_deals_expected_to_close_in_the_period(funnel):
    figures = metrics.forecast(Opportunity.objects.all(), START, END)
    assert (figures["count"], figures["total"], figures["weighted"]) == (2, 500, 400)  # C 500 at 80 %, E zero


def test_by_source_gives_inflow_conversion_and_won_amount(funnel):
    rows = metrics.by_source(Opportunity.objects.all(), START, END)
    keys = ("source__name", "inflow", "inflow_won", "won", "won_amount", "conversion")
    assert [tuple(row[key] for key in keys) for row in rows] == [
        ("Fair", 2, 0, 0, 0, Decimal("0.0")),
        ("Website", 2, 1, 1, 1000, Decimal("50.0")),
        (None, 0, 0, 1, 3000, None),  # F, won without a source
    ]  # fmt: skip


def test_per_rep_compares_open_pipeline_and_results_in_one_row_each(funnel, cast):
    rows = metrics.per_rep(Opportunity.objects.all(), START, END)
    keys = ("owner__username", "open_count", "open_amount", "weighted", "won", "won_amount", "win_rate", "inflow",
            "cycle_days")  # fmt: skip
    assert [tuple(row[key] for key in keys) for row in rows] == [
        ("r2", 2, 2000, 800, 1, 3000, Decimal("100.0"), 1, Decimal("85.0")),  # new: E; won: F
        ("r1", 1, 500, 400, 1, 1000, Decimal("50.0"), 3, Decimal("17.0")),  # new: A, B, C; won: A
    ]  # r3's only deal closed before the period  # fmt: skip


def test_per_rep_of_an_empty_scope_is_empty(pipeline):
    assert metrics.per_rep(Opportunity.objects.none(), START, END) == []


def test_per_rep_lists_reps_without_deals_with_zeros_and_leaves_out_other_roles(funnel, cast):
    rows = metrics.per_rep(Opportunity.objects.all(), START, END, User.objects.all())
    assert [row["owner__username"] for row in rows] == ["r2", "r1", "r3"]  # m1, m2, a: not reps, no deals
    empty = rows[-1]
    assert (empty["open_count"], empty["weighted"], empty["won"], empty["inflow"]) == (0, 0, 0, 0)
    assert (empty["win_rate"], empty["cycle_days"], empty["name"]) == (None, None, cast["other_rep"].get_full_name())


def test_per_rep_starts_only_from_the_people_given(funnel, cast):
    rows = metrics.per_rep(Opportunity.objects.none(), START, END, User.objects.filter(pk=cast["rep"].pk))
    assert [(row["owner__username"], row["open_count"]) for row in rows] == [("r1", 0)]


def test_flow_per_owner_adds_up_each_reps_stages(funnel, cast):
    """r1: entered Qualified A B C (A, C moved on), Proposal A C (both), Negotiation A C (A): 7 and 5; stays
    2, 2, 10 in Qualified, 5, 2, 2 in Proposal, 10 in Negotiation. r2: E entered Qualified (moved on) and
    Proposal; stays E 4 and F 85 in Qualified (D's October moves are outside the period)."""
    _by_stage, flows = metrics.flows(StageChange.objects.all(), funnel, START, END, keys=("owner",))
    figures = {owner: (row["entered"], row["advanced"], row["rate"], row["stays"], row["average_days"],
                       row["median_days"]) for owner, row in flows.items()}  # fmt: skip
    assert figures == {
        cast["rep"].pk: (7, 5, Decimal("71.4"), 7, Decimal("4.7"), Decimal("2.0")),
        cast["teammate"].pk: (2, 1, Decimal("50.0"), 2, Decimal("44.5"), Decimal("44.5")),
    }
    # The stages' totals are the reps' totals added up.
    by_stage = metrics.flow(StageChange.objects.all(), funnel, START, END)
    assert sum(row["entered"] for row in by_stage) == sum(row["entered"] for row in flows.values())


def test_per_rep_forecast_and_deal_size(funnel, cast):
    """Forecast: C (r1, Negotiation 80 % of 500, closes 28/11) and E (r2, 0); D closes in December.
    Deal size: A 1000 won by r1, F 3000 by r2, in the period."""
    rows = {row["owner"]: row for row in metrics.per_rep(Opportunity.objects.all(), START, END)}
    assert (rows[cast["rep"].pk]["forecast_weighted"], rows[cast["rep"].pk]["deal_size"]) == (400, Decimal(1000))
    assert (rows[cast["teammate"].pk]["forecast_weighted"], rows[cast["teammate"].pk]["deal_size"]) == (0, 3000)
