"""Dashboard figures added up from the rollup, checked against numbers worked out by hand on a small fixed
funnel, against a plain recount of the deals on random periods, and as the rollup follows changes.

Period: Monday 2 to Sunday 29 November 2026. Deals (owner, source, moves), every move at 10:00 UTC:
A  r1 Website  Qualified 3/11 → Proposal 5/11 → Negotiation 10/11 → Won 20/11   1000
B  r1 Fair     Qualified 4/11 → Lost 6/11                                        0
C  r1 Website  Qualified 2/11 → Proposal 12/11 → Lost 14/11 → reopened Proposal 16/11 → Negotiation 18/11   500
D  r2 —        Qualified 20/10 → Proposal 25/10 (before the period)              2000, closes 15/12
E  r2 Fair     Qualified 20/11 → Proposal 24/11                                  0, closes 25/11
F  r2 —        created 1/9, won 25/11                                            3000
G  r3 —        won 1/10 (before the period)                                      700
"""

import random
import zoneinfo
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from funnel.insights import figures as dashboard_figures
from funnel.insights import rollup
from funnel.insights.figures import FigureScope
from funnel.models import Opportunity, Stage, StageChange, StageKind
from funnel.models.rollup import ALL_OWNERS, DealDay, OpenDeals, RollupDirt, StayLength
from funnel.opportunities import services
from reps.models import Role, User
from tests.factories import OpportunityFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

START, END = date(2026, 11, 2), date(2026, 11, 29)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def stage(name: str, pipeline=None) -> Stage:
    return Stage.objects.get(name=name, **({"pipeline": pipeline} if pipeline else {}))


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
    rollup.refresh()
    return pipeline


def scope(pipeline, owners=(), start=START, end=END, source=None, everyone=False, people=()) -> FigureScope:
    return FigureScope(tuple(user.pk for user in owners), tuple(user.pk for user in people), pipeline, source,
                       start, end, everyone)  # fmt: skip


def org(pipeline, **kwargs) -> FigureScope:
    return scope(pipeline, everyone=True, **kwargs)


def stages_of(pipeline) -> list[Stage]:
    return list(pipeline.stages.filter(kind=StageKind.OPEN).order_by("order"))


# --- hand-computed ----------------------------------------------------------------------------------


def test_inflow_counts_new_deals_per_week_with_empty_weeks(funnel):
    rows = dashboard_figures.inflow_by_week(org(funnel))
    assert [(row["week"], row["count"]) for row in rows] == [
        (date(2026, 11, 2), 3),  # A, B, C
        (date(2026, 11, 9), 0),
        (date(2026, 11, 16), 1),  # E (a Friday)
        (date(2026, 11, 23), 0),
    ]


def test_conversion_follows_each_stage_cohort_and_counts_a_reopened_deal_once(funnel):
    rows = dashboard_figures.flow(org(funnel), stages_of(funnel))
    assert [(row["stage"].name, row["entered"], row["advanced"], row["rate"]) for row in rows] == [
        ("Qualified", 4, 3, Decimal("75.0")),  # A, B, C, E; B only went to Lost
        ("Proposal", 3, 2, Decimal("66.7")),  # A, C (twice, once counted), E
        ("Negotiation", 2, 1, Decimal("50.0")),  # A won, C still there
    ]


def test_a_reentry_counts_when_the_first_entry_lies_before_the_period(funnel):
    """C entered Proposal on 12/11 and again on 16/11: a period from the 13th counts its second entry."""
    rows = dashboard_figures.flow(org(funnel, start=date(2026, 11, 13)), stages_of(funnel))
    proposal = next(row for row in rows if row["stage"].name == "Proposal")
    assert (proposal["entered"], proposal["advanced"]) == (2, 1)  # C (went on to Negotiation), E (still there)


def test_conversion_of_an_empty_scope_is_zero_without_a_rate(funnel):
    rows = dashboard_figures.flow(scope(funnel), stages_of(funnel))
    assert [(row["entered"], row["advanced"], row["rate"]) for row in rows] == [(0, 0, None)] * 3


def test_time_in_stage_averages_and_medians_the_stays_that_ended_in_the_period(funnel):
    rows = dashboard_figures.flow(org(funnel), stages_of(funnel))
    assert [(row["stage"].name, row["stays"], row["average_days"], row["median_days"]) for row in rows] == [
        ("Qualified", 5, Decimal("20.6"), Decimal("4.0")),  # A 2, B 2, C 10, E 4, F 85 (D left in October)
        ("Proposal", 3, Decimal("3.0"), Decimal("2.0")),  # A 5, C 2 and 2 again after reopening
        ("Negotiation", 1, Decimal("10.0"), Decimal("10.0")),  # A; C is still there
    ]


def test_the_median_is_over_whole_days_of_stay(funnel):
    """X stays 1.5 days in Qualified and 3.75 in Proposal; Y 3.25 and 3.0. Medians over whole days of stay:
    Qualified (1, 3) 2.0, Proposal (3, 3) 3.0; the averages keep the hours: 2.4 and 3.4."""
    rep = UserFactory(role=Role.REP)
    deal(rep, [("Qualified", at(11, 3, 0)), ("Proposal", at(11, 4, 12)), ("Negotiation", at(11, 8, 6))])
    deal(rep, [("Qualified", at(11, 3, 0)), ("Proposal", at(11, 6, 6)), ("Negotiation", at(11, 9, 6))])
    rollup.refresh()
    period = scope(funnel, owners=[rep], start=date(2026, 11, 1), end=date(2026, 11, 10))
    rows = {row["stage"].name: row for row in dashboard_figures.flow(period, stages_of(funnel))}
    figures = {name: (row["stays"], row["average_days"], row["median_days"]) for name, row in rows.items()}
    assert figures == {
        "Qualified": (2, Decimal("2.4"), Decimal("2.0")),
        "Proposal": (2, Decimal("3.4"), Decimal("3.0")),
        "Negotiation": (0, None, None),
    }


def test_time_in_stage_groups_by_stage_even_after_a_rename(funnel):
    Stage.objects.filter(name="Proposal").update(name="Quotation")
    rows = dashboard_figures.flow(org(funnel), stages_of(funnel))
    assert [(row["stage"].name, row["stays"]) for row in rows] == [("Qualified", 5), ("Quotation", 3),
                                                                   ("Negotiation", 1)]  # fmt: skip


def test_outcomes_count_deals_closed_in_the_period_and_not_a_reopened_one(funnel):
    figures = dashboard_figures.outcomes(org(funnel))
    assert (figures["won"], figures["lost"], figures["won_amount"]) == (2, 1, 4000)  # A, F won; B lost
    assert figures["win_rate"] == Decimal("66.7")
    assert figures["cycle_days"] == Decimal("51.0")  # A 17 days, F 85 days
    assert figures["deal_size"] == Decimal("2000.00")


def test_outcomes_of_an_empty_scope_have_no_rates(funnel):
    figures = dashboard_figures.outcomes(scope(funnel))
    assert (figures["won"], figures["lost"], figures["won_amount"]) == (0, 0, 0)
    assert (figures["win_rate"], figures["cycle_days"], figures["deal_size"]) == (None, None, None)


def test_forecast_sums_open_deals_expected_to_close_in_the_period(funnel):
    figures, _as_of = dashboard_figures.figures(org(funnel), stages_of(funnel))
    forecast = figures["forecast"]
    assert (forecast["count"], forecast["total"], forecast["weighted"]) == (2, 500, 400)  # C 500 at 80 %, E zero


def test_by_source_gives_inflow_conversion_and_won_amount(funnel):
    rows = dashboard_figures.by_source(org(funnel))
    keys = ("source__name", "inflow", "inflow_won", "won", "won_amount", "conversion")
    assert [tuple(row[key] for key in keys) for row in rows] == [
        ("Fair", 2, 0, 0, 0, Decimal("0.0")),
        ("Website", 2, 1, 1, 1000, Decimal("50.0")),
        (None, 0, 0, 1, 3000, None),  # F, won without a source
    ]  # fmt: skip


def test_open_deals_per_stage_weigh_each_deal_by_its_own_probability(funnel, cast):
    OpportunityFactory(owner=cast["rep"], stage=stage("Proposal"), amount=Decimal(1000), probability_override=90)
    rollup.refresh()
    rows = {row["stage"].name: row for row in dashboard_figures.by_stage(org(funnel), stages_of(funnel))}
    # D 2000 at 40 %, E 0, the new deal 1000 at its own 90 %
    assert (rows["Proposal"]["count"], rows["Proposal"]["total"], rows["Proposal"]["weighted"]) == (3, 3000, 1700)
    Stage.objects.filter(name="Proposal").update(probability=50)  # a new probability applies at once
    rows = {row["stage"].name: row for row in dashboard_figures.by_stage(org(funnel), stages_of(funnel))}
    assert rows["Proposal"]["weighted"] == 1900


def per_rep(pipeline, **kwargs) -> list[dict]:
    the_scope = org(pipeline, **kwargs)
    forecast = dashboard_figures._forecast_by_owner(the_scope)
    return dashboard_figures.per_rep(the_scope, stages_of(pipeline), forecast)


def test_per_rep_compares_open_pipeline_and_results_in_one_row_each(funnel, cast):
    keys = ("owner__username", "open_count", "open_amount", "weighted", "won", "won_amount", "win_rate", "inflow",
            "cycle_days")  # fmt: skip
    assert [tuple(row[key] for key in keys) for row in per_rep(funnel)] == [
        ("r2", 2, 2000, 800, 1, 3000, Decimal("100.0"), 1, Decimal("85.0")),  # new: E; won: F
        ("r1", 1, 500, 400, 1, 1000, Decimal("50.0"), 3, Decimal("17.0")),  # new: A, B, C; won: A
    ]  # r3's only deal closed before the period  # fmt: skip


def test_per_rep_lists_reps_without_deals_with_zeros_and_leaves_out_other_roles(funnel, cast):
    rows = per_rep(funnel, people=User.objects.all())
    assert [row["owner__username"] for row in rows] == ["r2", "r1", "r3"]  # m1, m2, a: not reps, no deals
    empty = rows[-1]
    assert (empty["open_count"], empty["weighted"], empty["won"], empty["inflow"]) == (0, 0, 0, 0)
    assert (empty["win_rate"], empty["cycle_days"], empty["name"]) == (None, None, cast["other_rep"].get_full_name())


def test_flow_per_owner_adds_up_each_reps_stages(funnel, cast):
    """r1: entered Qualified A B C (A, C moved on), Proposal A C (both), Negotiation A C (A): 7 and 5; stays
    2, 2, 10 in Qualified, 5, 2, 2 in Proposal, 10 in Negotiation. r2: E entered Qualified (moved on) and
    Proposal; stays E 4 and F 85 in Qualified (D's October moves are outside the period)."""
    rows = {row["owner"]: row for row in per_rep(funnel)}
    figures = {owner: (row["flow_entered"], row["flow_advanced"], row["flow_rate"], row["flow_stays"],
                       row["flow_average_days"]) for owner, row in rows.items()}  # fmt: skip
    assert figures == {
        cast["rep"].pk: (7, 5, Decimal("71.4"), 7, Decimal("4.7")),
        cast["teammate"].pk: (2, 1, Decimal("50.0"), 2, Decimal("44.5")),
    }
    by_stage = dashboard_figures.flow(org(funnel), stages_of(funnel))
    assert sum(row["entered"] for row in by_stage) == sum(row["flow_entered"] for row in rows.values())


def test_per_rep_forecast_and_deal_size(funnel, cast):
    """Forecast: C (r1, Negotiation 80 % of 500, closes 28/11) and E (r2, 0); D closes in December.
    Deal size: A 1000 won by r1, F 3000 by r2, in the period."""
    rows = {row["owner"]: row for row in per_rep(funnel)}
    assert (rows[cast["rep"].pk]["forecast_weighted"], rows[cast["rep"].pk]["deal_size"]) == (400, Decimal(1000))
    assert (rows[cast["teammate"].pk]["forecast_weighted"], rows[cast["teammate"].pk]["deal_size"]) == (0, 3000)


def test_a_source_narrows_every_figure(funnel):
    website = SourceFactory(name="Website")
    narrowed = org(funnel, source=website)
    assert [row["count"] for row in dashboard_figures.inflow_by_week(narrowed)] == [2, 0, 0, 0]  # A, C
    assert dashboard_figures.outcomes(narrowed)["won"] == 1  # A
    proposal = dashboard_figures.flow(narrowed, stages_of(funnel))[1]
    assert (proposal["entered"], proposal["stays"]) == (2, 3)  # A, C; A 5, C 2, 2


# --- days are the owner's --------------------------------------------------------------------------


def test_a_deal_counts_on_its_owners_local_day_whoever_reads(cast, pipeline, settings):
    """20:00 UTC on 31 March is 1 April in Shanghai and still 31 March in New York."""
    shanghai = UserFactory(username="sh", role=Role.REP, time_zone="Asia/Shanghai")
    new_york = UserFactory(username="ny", role=Role.REP, time_zone="America/New_York")
    for owner in (shanghai, new_york):
        deal(owner, [("Qualified", datetime(2026, 3, 31, 20, tzinfo=UTC))])
    rollup.refresh()
    april = org(pipeline, start=date(2026, 4, 1), end=date(2026, 4, 30))
    march = org(pipeline, start=date(2026, 3, 1), end=date(2026, 3, 31))
    for reader_zone in ("UTC", "Asia/Shanghai", "America/Los_Angeles"):
        with timezone.override(zoneinfo.ZoneInfo(reader_zone)):
            assert sum(row["count"] for row in dashboard_figures.inflow_by_week(april)) == 1
            assert sum(row["count"] for row in dashboard_figures.inflow_by_week(march)) == 1
    assert DealDay.objects.get(owner_id=shanghai.pk).day == date(2026, 4, 1)


def test_a_custom_period_across_a_dst_change_counts_each_day_once(cast, pipeline):
    """New York: the clocks go back at 02:00 on 1 November (a 25-hour day). Deals created at 00:30 and 01:30
    EDT, 01:30 EST and 23:30 EST that day all fall on the 1st; one at 00:30 on the 2nd does not."""
    rep = UserFactory(username="ny", role=Role.REP, time_zone="America/New_York")
    utc = [datetime(2026, 11, 1, 4, 30, tzinfo=UTC),  # 00:30 EDT
           datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT
           datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # 01:30 EST, the hour again
           datetime(2026, 11, 2, 4, 30, tzinfo=UTC),  # 23:30 EST, still the 1st
           datetime(2026, 11, 2, 5, 30, tzinfo=UTC)]  # 00:30 EST on the 2nd  # fmt: skip
    for moment in utc:
        deal(rep, [("Qualified", moment)])
    deal(rep, [("Qualified", utc[0]), ("Proposal", datetime(2026, 11, 2, 4, 25, tzinfo=UTC))])  # 23:25 EST
    rollup.refresh()
    one_day = scope(pipeline, owners=[rep], start=date(2026, 11, 1), end=date(2026, 11, 1))
    assert sum(row["count"] for row in dashboard_figures.inflow_by_week(one_day)) == 5
    qualified = dashboard_figures.flow(one_day, stages_of(pipeline))[0]
    assert (qualified["entered"], qualified["advanced"], qualified["stays"]) == (5, 1, 1)
    assert qualified["average_days"] == Decimal("1.0")  # 23 h 55 min, in a 25-hour day


def test_a_deal_reopened_inside_a_custom_period_enters_each_stage_once(cast, pipeline):
    """Qualified 3/11 → Proposal 4/11 → Lost 6/11 → reopened into Proposal 9/11 → Won 12/11: in 1–10 November
    it entered Proposal twice (counted once, and it went on to win)."""
    deal(cast["rep"], [("Qualified", at(11, 3)), ("Proposal", at(11, 4)), ("Lost", at(11, 6)),
                       ("Proposal", at(11, 9)), ("Won", at(11, 12))])  # fmt: skip
    rollup.refresh()
    period = scope(pipeline, owners=[cast["rep"]], start=date(2026, 11, 1), end=date(2026, 11, 10))
    proposal = dashboard_figures.flow(period, stages_of(pipeline))[1]
    assert (proposal["entered"], proposal["advanced"], proposal["stays"]) == (1, 1, 1)  # the stay 4–6/11 ended
    assert dashboard_figures.outcomes(period)["won"] == 0  # won on the 12th, after the period


# --- the rollup follows the changes -------------------------------------------------------------------


def test_a_move_marks_its_owner_and_the_refresh_folds_it_in(funnel, cast):
    opportunity = Opportunity.objects.get(owner=cast["rep"], stage__name="Negotiation")
    assert not RollupDirt.objects.exists()
    services.opportunity_mark_won(opportunity=opportunity, by=cast["rep"], version=opportunity.version)
    assert list(RollupDirt.objects.values_list("owner_id", flat=True)) == [cast["rep"].pk]
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(cast["rep"].time_zone))  # a deal counts on its owner's day
    after = org(funnel, start=today, end=today)
    assert dashboard_figures.outcomes(after)["won"] == 0  # not folded in yet
    assert rollup.refresh() == {"owners": 1, "rebuilt": False, "skipped": False}
    assert dashboard_figures.outcomes(after)["won"] == 1
    assert not RollupDirt.objects.exists()


def test_a_reassigned_deal_leaves_the_old_owners_rows_and_the_organisation_total_stays(funnel, cast):
    before = dashboard_figures.flow(org(funnel), stages_of(funnel))
    a = Opportunity.objects.get(amount=1000)
    services.opportunity_reassign(opportunity=a, owner=cast["teammate"], by=cast["manager"], version=a.version)
    rollup.refresh()
    assert dashboard_figures.flow(org(funnel), stages_of(funnel)) == before
    rows = {row["owner"]: row for row in per_rep(funnel)}
    assert (rows[cast["rep"].pk]["won"], rows[cast["teammate"].pk]["won"]) == (0, 2)


def test_a_changed_time_zone_moves_the_owners_days(cast, pipeline):
    deal(cast["rep"], [("Qualified", datetime(2026, 3, 31, 20, tzinfo=UTC))])
    rollup.refresh()
    User.objects.filter(pk=cast["rep"].pk).update(time_zone="Asia/Shanghai")  # no dirt: the refresh notices
    rollup.refresh()
    assert set(DealDay.objects.values_list("day", flat=True)) == {date(2026, 4, 1)}


def test_a_stage_reorder_recomputes_which_moves_went_on(funnel, cast, admin_user):
    from funnel.configuration import services as config_services

    order = list(funnel.stages.order_by("order").values_list("pk", flat=True))
    order[1], order[2] = order[2], order[1]  # Negotiation before Proposal
    config_services.stages_reorder(pipeline=funnel, stage_ids=order, by=admin_user)
    rollup.refresh()
    assert rollup.refresh(rebuild=False)["owners"] == 0
    incremental = {row["stage"].name: (row["entered"], row["advanced"])
                   for row in dashboard_figures.flow(org(funnel), stages_of(funnel))}  # fmt: skip
    rollup.refresh(rebuild=True)
    rebuilt = {row["stage"].name: (row["entered"], row["advanced"])
               for row in dashboard_figures.flow(org(funnel), stages_of(funnel))}  # fmt: skip
    assert incremental == rebuilt
    # Proposal now comes after Negotiation: of A, C and E only A went on (to Won); C's Negotiation is earlier
    assert incremental["Proposal"] == (3, 1)


def test_a_second_refresh_while_one_runs_returns_at_once(funnel, monkeypatch):
    monkeypatch.setattr(rollup, "_claim_state", lambda: None)
    assert rollup.refresh() == {"owners": 0, "rebuilt": False, "skipped": True}


def test_a_dashboard_read_that_finds_changes_waiting_starts_a_refresh(client_for, funnel, cast):
    OpportunityFactory(owner=cast["rep"], stage=stage("Qualified"), amount=Decimal(5))
    assert RollupDirt.objects.exists()
    response = client_for(cast["rep"]).get("/dashboard/")  # the suite runs the job inline
    assert response.status_code == 200 and not RollupDirt.objects.exists()
    assert response.context["as_of"] is not None


# --- against a plain recount, on random data and periods ----------------------------------------------


def recount(pipeline, start: date, end: date) -> dict:
    """The figures counted the plain way, deal by deal, on each owner's calendar."""
    zones = {user.pk: zoneinfo.ZoneInfo(user.time_zone) for user in User.objects.all()}
    stages = {s.pk: s for s in Stage.objects.all()}
    entered, advanced, stays, seconds, lengths = (defaultdict(int) for _ in range(5))
    created = won = 0
    for opportunity in Opportunity.objects.filter(pipeline=pipeline):
        zone = zones[opportunity.owner_id]
        created += start <= opportunity.created_at.astimezone(zone).date() <= end
        if opportunity.status == StageKind.WON and start <= opportunity.closed_at.astimezone(zone).date() <= end:
            won += 1
        changes = list(opportunity.stage_changes.order_by("at", "id"))
        counted = set()
        for index, change in enumerate(changes):
            here = stages[change.to_stage_id]
            if here.kind != StageKind.OPEN:
                continue
            later = [stages[c.to_stage_id] for c in changes[index + 1 :]]
            went_on = any(s.kind != StageKind.LOST and s.order > here.order for s in later)
            if start <= change.at.astimezone(zone).date() <= end and here.pk not in counted:
                counted.add(here.pk)
                entered[here.pk] += 1
                advanced[here.pk] += went_on
            if index + 1 < len(changes) and start <= changes[index + 1].at.astimezone(zone).date() <= end:
                length = (changes[index + 1].at - change.at).total_seconds()
                stays[here.pk] += 1
                seconds[here.pk] += length
                lengths[here.pk, int(length // 86400)] += 1
    return {"created": created, "won": won, "entered": dict(entered), "advanced": dict(advanced),
            "stays": dict(stays), "lengths": dict(lengths)}  # fmt: skip


def from_rollup(pipeline, start: date, end: date) -> dict:
    period = org(pipeline, start=start, end=end)
    rows = dashboard_figures.flow(period, stages_of(pipeline))
    lengths = {}
    for row in StayLength.objects.filter(owner_id=ALL_OWNERS, day__gte=start, day__lte=end):
        lengths[row.stage_id, row.days] = lengths.get((row.stage_id, row.days), 0) + row.stays
    return {
        "created": sum(row["count"] for row in dashboard_figures.inflow_by_week(period)),
        "won": dashboard_figures.outcomes(period)["won"],
        "entered": {row["stage"].pk: row["entered"] for row in rows if row["entered"]},
        "advanced": {row["stage"].pk: row["advanced"] for row in rows if row["entered"]},
        "stays": {row["stage"].pk: row["stays"] for row in rows if row["stays"]},
        "lengths": lengths,
    }


def random_history(rng: random.Random, owners: list[User], pipeline, count: int) -> None:
    open_stages = stages_of(pipeline)
    won, lost = stage("Won", pipeline), stage("Lost", pipeline)
    for _ in range(count):
        moment = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(60 * 24 * 80))
        moves = [(rng.choice(open_stages[:2]), moment)]
        for _step in range(rng.randrange(5)):
            moment += timedelta(minutes=rng.randrange(30, 60 * 24 * 12))
            moves.append((rng.choice([*open_stages, won, lost, lost]), moment))
        final = moves[-1][0]
        opportunity = OpportunityFactory(owner=rng.choice(owners), stage=final, created_at=moves[0][1],
                                         closed_at=None if final.kind == StageKind.OPEN else moves[-1][1])  # fmt: skip
        for target, when in moves:
            StageChange.objects.create(opportunity=opportunity, to_stage=target, at=when)


def test_the_rollup_matches_a_plain_recount_on_random_periods_and_after_changes(cast, pipeline):
    rng = random.Random(20261203)
    owners = [UserFactory(role=Role.REP, time_zone=zone)
              for zone in ("UTC", "Asia/Shanghai", "America/New_York", "Europe/London")]  # fmt: skip
    random_history(rng, owners, pipeline, 60)
    rollup.refresh()
    periods = [(date(2026, 9, 1) + timedelta(days=rng.randrange(80)), rng.randrange(1, 60)) for _ in range(12)]
    periods.append((date(2026, 10, 25), 14))  # across the end of summer time in Europe and in New York
    for first, length in periods:
        assert from_rollup(pipeline, first, first + timedelta(days=length)) == recount(
            pipeline, first, first + timedelta(days=length)), (first, length)  # fmt: skip
    # Changes folded in owner by owner keep the all-owners rows right.
    deals = list(Opportunity.objects.open())
    for opportunity in rng.sample(deals, 5):
        targets = list(Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN).exclude(pk=opportunity.stage_id))
        services.opportunity_move(opportunity=opportunity, stage=rng.choice(targets), by=cast["admin"],
                                  version=opportunity.version)  # fmt: skip
    for opportunity in rng.sample(deals, 3):
        opportunity.refresh_from_db()
        services.opportunity_reassign(opportunity=opportunity, owner=rng.choice(owners), by=cast["admin"],
                                      version=opportunity.version)  # fmt: skip
    rollup.refresh()
    today = timezone.localdate()
    for first, length in [*periods, (today - timedelta(days=3), 5)]:
        assert from_rollup(pipeline, first, first + timedelta(days=length)) == recount(
            pipeline, first, first + timedelta(days=length)), (first, length)  # fmt: skip
    refreshed = sorted(DealDay.objects.filter(owner_id=ALL_OWNERS).values_list("day", "created", "won"))
    rollup.refresh(rebuild=True)
    assert sorted(DealDay.objects.filter(owner_id=ALL_OWNERS).values_list("day", "created", "won")) == refreshed
    assert sum(OpenDeals.objects.values_list("count", flat=True)) == Opportunity.objects.open().count()
