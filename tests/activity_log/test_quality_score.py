"""The data-quality score (activity_log.quality): each part judged both ways on small fixed data, the scores from
the parts, the refresh (this week written over, past weeks filled in once from history) and a query count that
does not grow with the number of reps."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activity_log import quality
from activity_log.models import Activity, ActivityKind, Amendment, DailyLog, QualityScore
from funnel.models import StageChange
from funnel.opportunities.services import opportunity_update
from reps.models import Role
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # a Thursday: 20:00 in Shanghai, the cast's time zone
WEEK = date(2026, 11, 30)  # its Monday; the window runs from 2026-11-09 to 2026-12-06


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def joined(rep):
    rep.date_joined = datetime(2026, 1, 5, tzinfo=UTC)
    rep.save()
    return rep


def parts_of(rep, week: date = WEEK) -> dict:
    """The rep's parts, flattened: {part: [numerator, denominator]}."""
    score = quality.compute_scores(week, [rep], now=NOW)[rep.pk]
    return {key: counts for dimension in score.parts.values() for key, counts in dimension.items()}


def activity(rep, *, days_ago: float = 2, outcome: str = "Budget approved, tender in May", deal=None, **fields):
    when = NOW - timedelta(days=days_ago)
    log, _ = DailyLog.objects.get_or_create(rep=rep, date=when.date())
    account = deal.account if deal else AccountFactory(owner=rep)
    return Activity.objects.create(daily_log=log, kind=ActivityKind.objects.first(), account=account, opportunity=deal,
                                   when=when, outcome=outcome, **fields)  # fmt: skip


# --- Complete and true: the open deals as they are now ------------------------------------------------------


DEAL_CASES = {
    "deal_amount": ({"amount": Decimal(5)}, {"amount": Decimal(0)}),
    "deal_close_date": ({"expected_close_date": date(2027, 1, 31)}, {"expected_close_date": None}),
    "deal_contact": ({"contact": "a contact"}, {"contact": None}),
    "deal_next_step": ({"next_step": "Call", "next_step_date": date(2026, 12, 8)}, {"next_step": "Call"}),
    "probability_stage": ({}, {"probability_override": 55}),
    "deals_touched": ({"last_activity_at": NOW - timedelta(days=13)}, {"last_activity_at": NOW - timedelta(days=15)}),
}


@pytest.mark.parametrize("part", list(DEAL_CASES))
@pytest.mark.parametrize("passes", [True, False])
def test_an_open_deal_part_counts_the_deal_that_passes_and_not_the_one_that_fails(rep, stages, part, passes):
    fields = dict(DEAL_CASES[part][0 if passes else 1])
    if fields.get("contact"):
        fields["contact"] = ContactFactory(account=AccountFactory(owner=rep))
    OpportunityFactory(owner=rep, stage=stages["Proposal"], **fields)  # stall days 14 (the model's default)
    assert parts_of(rep)[part] == [1 if passes else 0, 1]


def test_a_next_step_without_text_does_not_count_though_dated(rep, stages):
    OpportunityFactory(owner=rep, stage=stages["Proposal"], next_step="", next_step_date=date(2026, 12, 8))
    assert parts_of(rep)["deal_next_step"] == [0, 1]


def test_a_deal_never_worked_counts_from_its_creation(rep, stages):
    OpportunityFactory(owner=rep, stage=stages["Proposal"], created_at=NOW - timedelta(days=3))
    OpportunityFactory(owner=rep, stage=stages["Proposal"], created_at=NOW - timedelta(days=30))
    assert parts_of(rep)["deals_touched"] == [1, 2]


def test_closed_deals_and_other_reps_deals_are_not_judged(rep, teammate, stages):
    OpportunityFactory(owner=rep, stage=stages["Won"], amount=Decimal(0))
    OpportunityFactory(owner=teammate, stage=stages["Proposal"], amount=Decimal(0))
    assert parts_of(rep)["deal_amount"] == [0, 0]


@pytest.mark.parametrize(("contacts", "expected"), [(1, [1, 1]), (0, [0, 1])])
def test_a_customer_counts_when_it_has_a_contact(rep, contacts, expected):
    account = AccountFactory(owner=rep)
    ContactFactory.create_batch(contacts, account=account)
    assert parts_of(rep)["customer_contact"] == expected


# --- Activities of the window -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "passes"),
    [("Budget approved", True), ("客户同意下周报价方案已确认", True), ("ok", False), ("   visited    ", False)],
)
def test_an_outcome_of_substance_has_ten_characters_after_trimming(rep, outcome, passes):
    activity(rep, outcome=outcome)
    assert parts_of(rep)["activity_outcome"] == [1 if passes else 0, 1]


@pytest.mark.parametrize(("backdated", "expected"), [(False, [1, 1]), (True, [0, 1])])
def test_an_activity_recorded_on_its_day_counts(rep, backdated, expected):
    activity(rep, is_backdated=backdated)
    assert parts_of(rep)["activity_on_day"] == expected


@pytest.mark.parametrize(
    ("changes", "expected"), [(None, [1, 1]), ({"added": 1}, [1, 1]), ({"outcome": ["a", "b"]}, [0, 1])]
)
def test_an_activity_corrected_after_submission_does_not_count(rep, changes, expected):
    visit = activity(rep)
    if changes is not None:  # adding a visit to a submitted day is its back-dating, not a correction
        Amendment.objects.create(daily_log=visit.daily_log, activity=visit, by=rep, reason="Typo", changes=changes)
    assert parts_of(rep)["activity_unamended"] == expected


def test_activities_outside_the_window_are_not_judged(rep):
    activity(rep, days_ago=26, outcome="ok")  # 2026-11-07, before the window's first day
    assert parts_of(rep)["activity_outcome"] == [0, 0]


@pytest.mark.parametrize(("days_between", "passes"), [(14, True), (15, False)])
def test_an_activity_counts_within_its_stages_stall_days_of_the_one_before(rep, stages, days_between, passes):
    deal = OpportunityFactory(owner=rep, stage=stages["Proposal"])
    activity(rep, deal=deal, days_ago=1 + days_between)
    activity(rep, deal=deal, days_ago=1)
    assert parts_of(rep)["deal_gaps"] == [1 if passes else 0, 1]  # the first has no gap before it


def test_activity_gaps_on_deals_in_a_stage_without_stall_days_are_not_judged(rep, stages):
    deal = OpportunityFactory(owner=rep, stage=stages["Won"])
    activity(rep, deal=deal, days_ago=20)
    activity(rep, deal=deal, days_ago=1)
    assert parts_of(rep)["deal_gaps"] == [0, 0]


# --- The field history and the stage moves --------------------------------------------------------------------


def push(deal, rep, to: date, days_ago: int):
    with time_machine.travel(NOW - timedelta(days=days_ago), tick=False):
        deal.refresh_from_db()
        opportunity_update(opportunity=deal, by=rep, version=deal.version, data={"expected_close_date": to})


@pytest.mark.parametrize(
    ("dates", "passes"),
    [
        ([date(2027, 2, 1)], True),  # pushed out once
        ([date(2027, 2, 1), date(2026, 12, 20)], True),  # pushed out, then pulled in
        ([date(2027, 2, 1), date(2027, 3, 1)], False),  # pushed out twice
    ],
)
def test_a_deal_counts_when_its_close_date_was_pushed_out_at_most_once(rep, stages, dates, passes):
    deal = OpportunityFactory(owner=rep, stage=stages["Proposal"], expected_close_date=date(2027, 1, 10))
    for index, to in enumerate(dates):  # any time before the window's end counts, in the window or before it
        push(deal, rep, to, days_ago=60 - 20 * index)
    assert parts_of(rep)["close_date_steady"] == [1 if passes else 0, 1]


def test_a_deal_closed_before_the_window_is_not_judged_on_its_close_date(rep, stages):
    OpportunityFactory(owner=rep, stage=stages["Won"], closed_at=NOW - timedelta(days=40))
    OpportunityFactory(owner=rep, stage=stages["Won"], closed_at=NOW - timedelta(days=4))
    assert parts_of(rep)["close_date_steady"] == [1, 1]


def move(rep, stages, source: str, target: str, days_ago: float = 3):
    deal = OpportunityFactory(owner=rep, stage=stages[target])
    StageChange.objects.create(opportunity=deal, from_stage=stages[source], to_stage=stages[target], by=rep,
                               at=NOW - timedelta(days=days_ago))  # fmt: skip


@pytest.mark.parametrize(
    ("source", "target", "in_order", "forward"),
    [
        ("Qualified", "Proposal", [1, 1], [1, 1]),
        ("Qualified", "Negotiation", [0, 1], [1, 1]),  # skips Proposal
        ("Qualified", "Won", [0, 1], [1, 1]),  # won straight from the first stage
        ("Negotiation", "Won", [1, 1], [1, 1]),
        ("Negotiation", "Qualified", [1, 1], [0, 1]),  # back to an earlier stage
        ("Qualified", "Lost", [0, 0], [0, 0]),  # losing a deal is neither
    ],
)
def test_stage_moves_are_judged_for_skipped_stages_and_going_back(rep, stages, source, target, in_order, forward):
    move(rep, stages, source, target)
    found = parts_of(rep)
    assert (found["moves_in_order"], found["moves_forward"]) == (in_order, forward)


def test_an_archived_stage_between_is_not_skipped(rep, stages):
    stages["Proposal"].is_archived = True
    stages["Proposal"].save()
    move(rep, stages, "Qualified", "Negotiation")
    assert parts_of(rep)["moves_in_order"] == [1, 1]


def test_moves_before_the_window_are_not_judged(rep, stages):
    move(rep, stages, "Qualified", "Negotiation", days_ago=30)
    assert parts_of(rep)["moves_in_order"] == [0, 0]


# --- Daily logs: working days submitted and the current run -------------------------------------------------


def submit(rep, *days: date):
    for day in days:
        DailyLog.objects.create(rep=rep, date=day, submitted_at=NOW)


def working_days(first: date, last: date) -> list[date]:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [day for day in days if day.weekday() < 5]


# Owed at NOW (Thursday 20:00 in Shanghai): the working days from 2026-11-09 to Wednesday 2026-12-02, 18 days;
# today's log is not due until tomorrow 02:00.
OWED = working_days(date(2026, 11, 9), date(2026, 12, 2))


def test_every_owed_day_submitted_is_a_full_run(joined):
    submit(joined, *OWED)
    assert len(OWED) == 18
    found = parts_of(joined)
    assert (found["logs_submitted"], found["streak"]) == ([18, 18], [18, 18])


def test_todays_log_counts_once_submitted(joined):
    submit(joined, *OWED, date(2026, 12, 3))
    assert parts_of(joined)["logs_submitted"] == [19, 19]


def test_a_missing_day_breaks_the_run_and_lowers_the_share(joined):
    submit(joined, *[day for day in OWED if day != date(2026, 12, 1)])
    found = parts_of(joined)
    assert (found["logs_submitted"], found["streak"]) == ([17, 18], [1, 18])  # only Wednesday since


def test_a_weekend_log_neither_counts_nor_breaks_the_run(joined):
    submit(joined, *[day for day in OWED if day >= date(2026, 11, 23)], date(2026, 11, 28))
    found = parts_of(joined)
    assert (found["logs_submitted"], found["streak"]) == ([8, 18], [8, 18])


def test_days_before_a_rep_joined_are_not_owed(rep):
    rep.date_joined = datetime(2026, 11, 25, 1, tzinfo=UTC)
    rep.save()
    assert parts_of(rep)["logs_submitted"] == [0, 6]  # 25, 26, 27, 30 November and 1, 2 December


# --- From parts to scores ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "score"),
    [
        ({}, 100),  # nothing to judge yet
        ({"a": [0, 0]}, 100),
        ({"a": [1, 2], "b": [0, 0]}, 50),  # a part with nothing to judge is left out
        ({"a": [1, 3], "b": [1, 1]}, 67),
        ({"a": [1, 8]}, 13),  # 12.5 rounds half up
        ({"a": [0, 4], "b": [0, 1]}, 0),
    ],
)
def test_a_score_is_the_rounded_mean_of_its_judged_parts(parts, score):
    assert quality.score_of(parts) == score


def test_a_past_week_is_judged_on_its_history_alone(joined, stages):
    OpportunityFactory(owner=joined, stage=stages["Proposal"], amount=Decimal(0))
    score = quality.compute_scores(WEEK - timedelta(weeks=2), [joined], now=NOW)[joined.pk]
    assert "deal_amount" not in score.parts["complete"] and "activity_outcome" in score.parts["complete"]
    assert score.value("complete") == 100  # no activities then: nothing to judge


# --- The refresh --------------------------------------------------------------------------------------------


def test_the_refresh_writes_this_weeks_score_of_every_active_rep_once(cast, stages):
    inactive = UserFactory(role=Role.REP, is_active=False)
    OpportunityFactory(owner=cast["rep"], stage=stages["Proposal"], amount=Decimal(0))
    quality.refresh_quality_scores(NOW)
    quality.refresh_quality_scores(NOW + timedelta(minutes=15))
    rows = QualityScore.objects.filter(week=WEEK)
    assert sorted(rows.values_list("rep__username", flat=True)) == ["r1", "r2", "r3"]
    assert not QualityScore.objects.filter(rep__in=[inactive, cast["manager"]]).exists()
    mine = rows.get(rep=cast["rep"])
    assert mine.computed_at == NOW + timedelta(minutes=15)
    assert mine.parts["complete"]["deal_amount"] == [0, 1]
    assert mine.complete == 0  # the only part with something to judge
    assert mine.parts["window"] == ["2026-11-09", "2026-12-06"]


def test_the_refresh_fills_the_trends_past_weeks_once_from_history(joined, teammate):
    teammate.date_joined = NOW - timedelta(days=2)
    teammate.save()
    QualityScore.objects.create(rep=joined, week=WEEK - timedelta(weeks=1), complete=1, true=2, continuous=3)
    result = quality.refresh_quality_scores(NOW)
    weeks = list(QualityScore.objects.filter(rep=joined).order_by("week").values_list("week", flat=True))
    assert weeks == [WEEK - timedelta(weeks=n) for n in range(7, -1, -1)]
    assert result["filled"] == 6  # the seven past weeks but the one that had a row; the teammate joined this week
    kept = QualityScore.objects.get(rep=joined, week=WEEK - timedelta(weeks=1))
    assert (kept.complete, kept.true, kept.continuous) == (1, 2, 3)
    assert QualityScore.objects.get(rep=joined, week=WEEK - timedelta(weeks=2)).parts["history"] is True
    assert list(QualityScore.objects.filter(rep=teammate).values_list("week", flat=True)) == [WEEK]
    assert quality.refresh_quality_scores(NOW)["filled"] == 0


def reps_with_records(count: int, stages) -> list:
    reps = []
    for _ in range(count):
        rep = UserFactory(role=Role.REP, date_joined=datetime(2026, 1, 5, tzinfo=UTC))
        deal = OpportunityFactory(owner=rep, stage=stages["Proposal"])
        ContactFactory(account=deal.account)
        activity(rep, deal=deal, days_ago=5)
        activity(rep, deal=deal, days_ago=2)
        move(rep, stages, "Qualified", "Negotiation")
        push(deal, rep, date(2027, 3, 1), days_ago=10)
        submit(rep, date(2026, 11, 24))
        reps.append(rep)
    return reps


def queries(run) -> int:
    with CaptureQueriesContext(connection) as context:
        run()
    return len(context.captured_queries)


def test_the_scores_cost_the_same_queries_for_one_rep_or_many(stages):
    one, many = reps_with_records(1, stages), reps_with_records(5, stages)
    # the reps, working days, stages; activities, close dates, moves, gaps, logs; open deals, customers
    assert queries(lambda: quality.compute_scores(WEEK, one, now=NOW)) == 9
    assert queries(lambda: quality.compute_scores(WEEK, one + many, now=NOW)) == 9
    assert queries(lambda: quality.compute_scores(WEEK, now=NOW)) == 10  # the active reps read first


def test_the_refresh_costs_the_same_queries_for_one_rep_or_many(stages):
    reps_with_records(1, stages)
    quality.refresh_quality_scores(NOW)  # the past weeks filled in
    few = queries(lambda: quality.refresh_quality_scores(NOW))
    reps_with_records(5, stages)
    quality.refresh_quality_scores(NOW)
    # the active reps, their scores (9), the upsert, which past weeks have rows (none missing: nothing more)
    assert queries(lambda: quality.refresh_quality_scores(NOW)) == few == 12
