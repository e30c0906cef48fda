"""The reverse funnel's arithmetic (funnel.planning.reverse) against cases worked out by hand, and the sentences
that spell it out on the page (funnel.planning.reverse_words)."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from funnel.planning import reverse
from funnel.planning.reverse import PIPELINE, REP, TEAM, History, choose, coverage_percent, plan, quota_at_risk
from funnel.planning.reverse_words import arithmetic, coverage_sentence, history_sentences

DAY = 86400
STAGES = [(1, "Qualified"), (2, "Proposal"), (3, "Negotiation")]
TODAY, END = date(2026, 11, 1), date(2026, 12, 31)  # 61 days left, today included


def history(level=REP, *, closed=12, won=8, amount=2_400_000, cycle_days=30, shares=None, activities=48,
            created=15) -> History:  # fmt: skip
    """Eight wins of ¥300,000 on average, 30 days each; Qualified → Won 2 of 10 (20 %), Proposal 4 of 10 (40 %),
    Negotiation 4 of 5 (80 %); 48 activities for 15 new opportunities (3.2 a new one)."""
    shares = {1: (10, 2), 2: (10, 4), 3: (5, 4)} if shares is None else shares
    return History(level, closed=closed, won=won, won_amount=Decimal(amount), won_seconds=won * cycle_days * DAY,
                   shares=shares, activities=activities, created=created)  # fmt: skip


def planned(*, quota=3_000_000, won=600_000, weighted=1_200_000, threshold=70, used=None, open_now=None,
            can_close=None, today=TODAY, end=END, pending=False) -> reverse.Plan:  # fmt: skip
    return plan(
        quota=None if quota is None else Decimal(quota), won=Decimal(won), weighted=Decimal(weighted),
        threshold=threshold, history=history() if used is None else used, stages=STAGES,
        open_now={1: 20, 2: 6, 3: 3} if open_now is None else open_now,
        can_close={1: 18, 2: 5, 3: 2} if can_close is None else can_close, today=today, end=end, pending=pending,
    )  # fmt: skip


# --- the plan, step by step -------------------------------------------------------------------------------------


def test_the_issues_example_worked_by_hand():
    result = planned()
    # ¥2.4M left ÷ ¥300k average = 8 wins
    assert (result.remaining, result.average_won, result.wins) == (Decimal(2_400_000), Decimal(300_000), 8)
    # 8 ÷ 20 % = 40 at Qualified or beyond, 8 ÷ 40 % = 20 at Proposal or beyond, 8 ÷ 80 % = 10 at Negotiation
    assert [step.rate for step in result.steps] == [Decimal("20.0"), Decimal("40.0"), Decimal("80.0")]
    assert [step.needed for step in result.steps] == [40, 20, 10]
    # open deals that can close by the end, at the stage or beyond: 2, 5 + 2, 18 + 5 + 2
    assert [step.can_close for step in result.steps] == [25, 7, 2]
    assert [step.open_now for step in result.steps] == [20, 6, 3]
    assert [step.short for step in result.steps] == [15, 13, 8]
    assert result.shortfall
    # 40 − 25 = 15 new; 61 days − 30 days' cycle = 31 days = 4.4 weeks; 15 ÷ 4.4 = 3.41 → 3.5 a week
    assert (result.new_needed, result.days_left, result.selling_days) == (15, 61, Decimal("31.0"))
    assert (result.weeks, result.new_per_week) == (Decimal("4.4"), Decimal("3.5"))
    # 48 activities ÷ 15 new = 3.2 visits a new opportunity; 3.5 × 3.2 = 11.2 visits a week
    assert (result.visits_per_new, result.visits_per_week) == (Decimal("3.2"), Decimal("11.2"))
    assert result.status == reverse.PLANNED


def test_divisions_that_do_not_come_out_whole_are_rounded_up():
    # ¥2.5M ÷ ¥300k = 8.33 → 9 wins; Proposal 1 of 3 = 33.3 %: 9 ÷ 33.3 % = 27.03 → 28
    result = planned(won=500_000, used=history(shares={1: (10, 2), 2: (3, 1), 3: (5, 4)}))
    assert result.wins == 9 and result.wins_exact.quantize(Decimal("0.01")) == Decimal("8.33")
    proposal = result.steps[1]
    assert (proposal.rate, proposal.needed, proposal.exact) == (Decimal("33.3"), 28, Decimal("27.03"))
    assert result.steps[0].needed == 45  # 9 ÷ 20 %


def test_no_history_at_all_plans_nothing_but_still_judges_the_quota():
    result = plan(quota=Decimal(3_000_000), won=Decimal(0), weighted=Decimal(600_000), threshold=70, history=None,
                  stages=STAGES, open_now={1: 4}, can_close={1: 4}, today=TODAY, end=END)  # fmt: skip
    assert result.status == reverse.NO_HISTORY
    assert result.wins is None and all(step.needed is None and step.rate is None for step in result.steps)
    assert [step.problem for step in result.steps] == [reverse.NO_STAGE_HISTORY] * 3
    assert [step.open_now for step in result.steps] == [4, 0, 0]
    assert (result.coverage, result.at_risk) == (20, True)  # ¥600k of ¥3M left


def test_history_still_being_read_is_pending_not_missing():
    assert planned(used=None, pending=True).status == reverse.PLANNED  # a history given is used
    result = plan(quota=Decimal(1), won=Decimal(0), weighted=Decimal(0), threshold=70, history=None, stages=STAGES,
                  open_now={}, can_close={}, today=TODAY, end=END, pending=True)  # fmt: skip
    assert result.status == reverse.PENDING


def test_a_zero_conversion_stage_cannot_be_computed_and_nothing_divides_by_zero():
    # Proposal: 6 closed deals entered it, none won
    result = planned(used=history(shares={1: (10, 2), 2: (6, 0), 3: (5, 4)}))
    proposal = result.steps[1]
    assert (proposal.rate, proposal.problem, proposal.needed, proposal.short) == (Decimal(0), reverse.ZERO_RATE, None,
                                                                                     None)  # fmt: skip
    assert [result.steps[0].needed, result.steps[2].needed] == [40, 10]  # the other stages still plan
    assert result.new_needed == 15


def test_a_zero_first_stage_leaves_the_new_opportunities_uncomputed():
    result = planned(used=history(shares={1: (10, 0), 2: (10, 4), 3: (5, 4)}))
    assert result.steps[0].problem == reverse.ZERO_RATE
    assert (result.new_needed, result.new_per_week, result.visits_per_week) == (None, None, None)
    assert result.steps[1].needed == 20


def test_a_stage_no_closed_deal_entered_has_no_rate():
    result = planned(used=history(shares={1: (10, 2), 3: (5, 4)}))
    assert (result.steps[1].rate, result.steps[1].problem) == (None, reverse.NO_STAGE_HISTORY)


def test_a_met_quota_needs_nothing_more():
    for won in (3_000_000, 3_500_000):
        result = planned(won=won)
        assert result.status == reverse.MET
        assert result.remaining <= 0 and result.left_to_win == 0 and result.wins is None and result.new_needed is None
        assert (result.coverage, result.at_risk) == (None, False)


def test_no_quota_means_no_plan():
    result = planned(quota=None, end=None)
    assert result.status == reverse.NO_QUOTA
    assert (result.remaining, result.days_left, result.at_risk) == (None, None, False)
    assert [step.rate for step in result.steps] == [Decimal("20.0"), Decimal("40.0"), Decimal("80.0")]


def test_no_won_deal_in_the_history_leaves_the_wins_uncomputed():
    result = planned(used=history(won=0, amount=0, shares={1: (12, 0)}))
    assert result.status == reverse.PLANNED
    assert (result.average_won, result.wins, result.new_needed) == (None, None, None)


def test_open_deals_enough_at_the_first_stage_need_no_new_ones():
    result = planned(can_close={1: 30, 2: 10, 3: 10})  # 50 at Qualified or beyond for the 40 needed
    assert (result.new_needed, result.new_per_week, result.visits_per_week) == (0, Decimal(0), Decimal(0))
    assert [step.short for step in result.steps] == [0, 0, 0] and not result.shortfall


def test_a_cycle_longer_than_the_days_left_is_too_late_for_new_opportunities():
    result = planned(used=history(cycle_days=70))  # 61 days left
    assert result.too_late
    assert (result.selling_days, result.new_per_week, result.visits_per_week) == (Decimal("-9.0"), None, None)


def test_without_a_daily_log_or_new_opportunities_there_are_no_visits_a_week():
    assert planned(used=history(activities=None)).visits_per_week is None
    no_new = planned(used=history(created=0))
    assert (no_new.visits_per_new, no_new.visits_per_week, no_new.new_per_week) == (None, None, Decimal("3.5"))


def test_the_quota_at_risk_rule():
    left = Decimal(1_000_000)
    assert quota_at_risk(left, Decimal(696_000), 70) and coverage_percent(left, Decimal(696_000)) == 69
    assert not quota_at_risk(left, Decimal(700_000), 70)  # exactly at the threshold: not below it
    assert not quota_at_risk(left, Decimal(0), 0)  # 0 turns the rule off
    assert not quota_at_risk(Decimal(0), Decimal(0), 70) and coverage_percent(Decimal(0), Decimal(5)) is None
    assert coverage_percent(left, Decimal(1_380_000)) == 138


# --- which history -----------------------------------------------------------------------------------------------


def test_the_reps_own_history_with_enough_closed_deals():
    levels = [history(REP, closed=10), history(TEAM, closed=40), history(PIPELINE, closed=400)]
    assert choose(levels).level == REP


def test_little_history_falls_back_to_the_team_then_the_pipeline():
    assert choose([history(REP, closed=9), history(TEAM, closed=10), history(PIPELINE, closed=400)]).level == TEAM
    assert choose([history(REP, closed=4), history(TEAM, closed=6), history(PIPELINE, closed=400)]).level == PIPELINE
    assert choose([history(REP, closed=4), history(PIPELINE, closed=12)]).level == PIPELINE  # no team


def test_the_pipeline_is_used_even_with_few_deals_and_nothing_closed_is_no_history():
    assert choose([history(REP, closed=1), history(TEAM, closed=2), history(PIPELINE, closed=3)]).level == PIPELINE
    assert choose([history(REP, closed=0), history(TEAM, closed=0), history(PIPELINE, closed=0)]) is None


# --- the page's sentences -------------------------------------------------------------------------------------


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def test_the_arithmetic_is_spelled_out_with_the_pages_figures(english):
    sentences = arithmetic(planned())
    assert sentences == [
        "¥2,400,000 left to win ÷ ¥300,000 average won deal = 8 wins.",
        "8 wins ÷ 20% Qualified → Won = 40 at Qualified or beyond.",
        "8 wins ÷ 40% Proposal → Won = 20 at Proposal or beyond.",
        "8 wins ÷ 80% Negotiation → Won = 10 at Negotiation or beyond.",
        "40 needed at Qualified or beyond − 25 open that can close by 12/31/2026 = 15 new opportunities.",
        "61 days left − 30 days average cycle = 31 days (4.4 weeks) to open them: 15 ÷ 4.4 = 3.5 new opportunities a "
        "week.",
        "3.2 visits per new opportunity (48 activities ÷ 15 new opportunities in the last 12 weeks) × 3.5 = 11.2 "
        "visits a week.",
    ]


def test_rounding_zero_rates_and_too_late_are_said(english):
    sentences = arithmetic(planned(won=500_000, used=history(cycle_days=70, shares={1: (10, 2), 2: (6, 0), 3: (3, 1)})))
    assert sentences[0] == "¥2,500,000 left to win ÷ ¥300,000 average won deal = 8.33, rounded up to 9 wins."
    assert sentences[2] == "Proposal → Won is 0% over 6 closed deals: what Proposal needs cannot be computed."
    assert sentences[3] == "9 wins ÷ 33.3% Negotiation → Won = 27.03, rounded up to 28 at Negotiation or beyond."
    assert sentences[-1].startswith("61 days left, but a won deal takes 70 days on average")


def test_which_history_was_used_is_said(english):
    levels = {REP: history(REP, closed=4), TEAM: history(TEAM, closed=6), PIPELINE: history(PIPELINE, closed=30)}
    assert history_sentences(levels, levels[PIPELINE], name="Li") == [
        "Li has 4 closed deals in this pipeline in the last 12 months, fewer than 10.",
        "Their team has 6, also fewer.",
        "The whole pipeline's history is used: 30 closed deals.",
    ]
    levels[TEAM] = history(TEAM, closed=25)
    assert history_sentences(levels, levels[TEAM], name="Li")[1] == "The team's history is used: 25 closed deals."
    levels[REP] = history(REP, closed=11)
    assert history_sentences(levels, levels[REP], name="Li") == [
        "From Li's own history: 11 closed deals in this pipeline in the last 12 months."
    ]
    assert "no history to plan from" in history_sentences(levels, None, name="Li")[0]


def test_the_coverage_sentence_names_the_threshold(english):
    assert coverage_sentence(planned()) == (
        "The open weighted pipeline closing by 12/31/2026 is ¥1,200,000 = 50% of what is left, below 70%: the quota "
        "is at risk."
    )
    assert "raises “quota at risk” below 40%" in coverage_sentence(planned(threshold=40))
    assert coverage_sentence(planned(won=3_000_000)) == ""
