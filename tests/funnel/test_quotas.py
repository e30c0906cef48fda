"""Quotas (issue 14): periods, the one write (scoped, audited, all or nothing, conflicts), attainment, the grid."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from funnel.models import Target
from funnel.planning.attainment import forecast_vs_quota, team_splits, won_in_periods
from reps.models import AuditAction, AuditEvent, Quota
from reps.quotas import (
    MONTH,
    QUARTER,
    QuotaCell,
    QuotaConflict,
    QuotaError,
    period_kind,
    periods_of_year,
    quota_people,
    quotas_save,
)
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db
Q1 = (date(2026, 1, 1), date(2026, 3, 31))
URL = "/planning/quotas/"


def cell(person, amount, shown=None, period=Q1):
    return QuotaCell(person.pk, *period, shown, None if amount is None else Decimal(amount))


def won(owner, stages, amount, at):
    return OpportunityFactory(owner=owner, stage=stages["Won"], amount=Decimal(amount), closed_at=at)


def test_periods_are_calendar_months_and_quarters():
    assert periods_of_year(2026, QUARTER)[0] == Q1 and periods_of_year(2026, QUARTER)[3][1] == date(2026, 12, 31)
    months = periods_of_year(2024, MONTH)
    assert len(months) == 12 and months[1] == (date(2024, 2, 1), date(2024, 2, 29))
    assert period_kind(*Q1) == QUARTER and period_kind(date(2026, 2, 1), date(2026, 2, 28)) == MONTH
    assert period_kind(date(2026, 2, 1), date(2026, 4, 30)) is None


def test_a_manager_sets_quotas_for_their_teams_people_only(cast):
    people = set(quota_people(cast["manager"]))
    assert people == {cast["rep"], cast["teammate"]}  # not themself, not the other team
    assert set(quota_people(cast["admin"])) == {cast["rep"], cast["teammate"], cast["manager"],
                                                cast["other_rep"], cast["other_manager"]}  # fmt: skip
    assert not quota_people(cast["rep"]).exists()
    with pytest.raises(QuotaError):
        quotas_save(cells=[cell(cast["other_rep"], "100")], by=cast["manager"])
    with pytest.raises(QuotaError):
        quotas_save(cells=[cell(cast["rep"], "100")], by=cast["rep"])
    assert not Quota.objects.exists()


def test_an_inactive_person_gets_no_quota(cast):
    cast["teammate"].is_active = False
    cast["teammate"].save()
    with pytest.raises(QuotaError):
        quotas_save(cells=[cell(cast["teammate"], "100")], by=cast["manager"])


def test_quotas_are_saved_changed_removed_and_audited_old_to_new(cast):
    manager, rep = cast["manager"], cast["rep"]
    assert quotas_save(cells=[cell(rep, "300000")], by=manager) == 1
    quota = Quota.objects.get()
    assert (quota.user, quota.period_start, quota.period_end, quota.amount) == (rep, *Q1, Decimal("300000"))
    assert quotas_save(cells=[cell(rep, "250000", shown=Decimal("300000"))], by=manager) == 1
    assert quotas_save(cells=[cell(rep, None, shown=Decimal("250000"))], by=manager) == 1
    assert not Quota.objects.exists()
    events = AuditEvent.objects.filter(action=AuditAction.QUOTA_CHANGED).order_by("pk")
    assert [event.detail["amount"] for event in events] == [
        [None, "300000.00"], ["300000.00", "250000.00"], ["250000.00", None]]  # fmt: skip
    assert {event.actor for event in events} == {manager} and events[0].detail["person"] == rep.pk


def test_a_period_that_is_not_a_month_or_quarter_is_refused(cast):
    with pytest.raises(QuotaError):
        quotas_save(cells=[cell(cast["rep"], "1", period=(date(2026, 1, 1), date(2026, 2, 15)))], by=cast["admin"])


def test_a_conflicting_edit_saves_nothing(cast):
    manager, rep, teammate = cast["manager"], cast["rep"], cast["teammate"]
    quotas_save(cells=[cell(rep, "100")], by=manager)
    with pytest.raises(QuotaConflict) as refused:  # the page showed no quota for rep: someone set one since
        quotas_save(cells=[cell(teammate, "50"), cell(rep, "200")], by=manager)
    assert [c.person_id for c in refused.value.cells] == [rep.pk]
    assert list(Quota.objects.values_list("user", "amount")) == [(rep.pk, Decimal("100"))]  # teammate's not saved


def test_attainment_is_the_won_amount_closed_in_each_period(cast, stages):
    rep = cast["rep"]
    won(rep, stages, "1000", datetime(2026, 1, 5, 12, tzinfo=UTC))
    won(rep, stages, "500", datetime(2026, 3, 31, 12, tzinfo=UTC))
    won(rep, stages, "700", datetime(2026, 4, 1, 12, tzinfo=UTC))  # next quarter
    OpportunityFactory(owner=rep, stage=stages["Lost"], amount=Decimal(900), closed_at=datetime(2026, 2, 1, tzinfo=UTC))
    OpportunityFactory(owner=rep, stage=stages["Proposal"], amount=Decimal(800))  # open: not won
    figures = won_in_periods([rep.pk], periods_of_year(2026, QUARTER))
    assert figures == {(rep.pk, date(2026, 1, 1)): Decimal(1500), (rep.pk, date(2026, 4, 1)): Decimal(700)}


def test_forecast_vs_quota_and_the_team_split(cast, stages, team1):
    rep, teammate, manager = cast["rep"], cast["teammate"], cast["manager"]
    quotas_save(cells=[cell(rep, "1000"), cell(teammate, "2000")], by=manager)
    Target.objects.create(team=team1, period_start=Q1[0], period_end=Q1[1], amount=3500, created_by=cast["admin"])
    won(rep, stages, "400", datetime(2026, 2, 1, 12, tzinfo=UTC))
    OpportunityFactory(owner=rep, stage=stages["Proposal"], amount=Decimal(1000), expected_close_date=date(2026, 3, 1))
    OpportunityFactory(owner=rep, stage=stages["Proposal"], amount=Decimal(9000), expected_close_date=date(2026, 4, 1))
    rows = forecast_vs_quota([rep.pk, teammate.pk], date(2026, 2, 15))
    mine = next(row for row in rows if row["quota"].user == rep)
    # won 400 of 1000 (40 %); 600 left; 1000 × 40 % = 400 weighted by the end of March (April's deal is not)
    assert (mine["won"], mine["remaining"], mine["weighted"], mine["attainment"]) == (400, 600, 400, Decimal("40.0"))
    assert mine["coverage"] == Decimal("0.67") and mine["at_risk"]
    (split,) = team_splits(rows)
    assert (split["quotas"], split["target"], split["difference"], split["sums"]) == (3000, 3500, -500, False)
    assert split["won"] == 400 and split["attainment"] == Decimal("13.3")


def test_a_met_quota_is_not_at_risk(cast, stages):
    quotas_save(cells=[cell(cast["rep"], "100")], by=cast["manager"])
    won(cast["rep"], stages, "150", datetime(2026, 1, 10, 12, tzinfo=UTC))
    (row,) = forecast_vs_quota([cast["rep"].pk], date(2026, 1, 20))
    assert row["remaining"] == -50 and row["coverage"] is None and not row["at_risk"]
    assert row["attainment"] == Decimal("150.0")


# --- the grid page ---------------------------------------------------------------------------------


@pytest.fixture
def frozen():
    with time_machine.travel(datetime(2026, 2, 15, 12, tzinfo=UTC), tick=False):
        yield


def test_the_grid_lists_the_managers_people_with_attainment(client_for, cast, stages, frozen):
    won(cast["rep"], stages, "400", datetime(2026, 2, 1, 12, tzinfo=UTC))
    quotas_save(cells=[cell(cast["rep"], "1000")], by=cast["manager"])
    response = client_for(cast["manager"]).get(URL)
    rows = response.context["rows"]
    assert {row.person for row in rows} == {cast["rep"], cast["teammate"]}
    first = next(row for row in rows if row.person == cast["rep"]).cells[0]
    assert (first.quota, first.won, first.attainment) == (Decimal(1000), Decimal(400), Decimal("40.0"))
    assert b"r3" not in response.content  # the other team's rep is not a row


def test_the_grid_saves_changed_cells_and_says_so(client_for, cast, frozen):
    rep = cast["rep"]
    name, shown = f"q-{rep.pk}-2026-01-01", f"s-{rep.pk}-2026-01-01"
    client = client_for(cast["manager"])
    response = client.post(URL, {name: "1,200", shown: ""}, follow=True)
    assert Quota.objects.get().amount == Decimal(1200)
    assert b"1 quota saved." in response.content
    response = client.post(URL, {name: "1200.00", shown: "1200.00"}, follow=True)
    assert b"Nothing to save" in response.content


def test_an_unreadable_amount_is_reshown_and_nothing_is_saved(client_for, cast, frozen):
    rep, teammate = cast["rep"], cast["teammate"]
    data = {f"q-{rep.pk}-2026-01-01": "abc", f"s-{rep.pk}-2026-01-01": "",
            f"q-{teammate.pk}-2026-01-01": "500", f"s-{teammate.pk}-2026-01-01": ""}  # fmt: skip
    response = client_for(cast["manager"]).post(URL, data)
    assert response.status_code == 400 and not Quota.objects.exists()
    assert b'value="abc"' in response.content and b"Enter an amount" in response.content


def test_a_conflict_on_the_grid_names_the_cell(client_for, cast, frozen):
    rep = cast["rep"]
    quotas_save(cells=[cell(rep, "100")], by=cast["admin"])
    data = {f"q-{rep.pk}-2026-01-01": "300", f"s-{rep.pk}-2026-01-01": ""}
    response = client_for(cast["manager"]).post(URL, data)
    assert response.status_code == 400 and Quota.objects.get().amount == 100
    assert b"Changed by someone else meanwhile" in response.content and b'value="300"' in response.content


def test_a_manager_cannot_post_a_quota_for_another_team(client_for, cast, frozen):
    other = cast["other_rep"]
    data = {f"q-{other.pk}-2026-01-01": "300", f"s-{other.pk}-2026-01-01": ""}
    client_for(cast["manager"]).post(URL, data)
    assert not Quota.objects.exists()  # not a cell of the manager's grid: ignored


def test_the_split_shows_whether_quotas_add_up_to_the_target(client_for, cast, team1, frozen):
    Target.objects.create(team=team1, period_start=Q1[0], period_end=Q1[1], amount=300, created_by=cast["admin"])
    quotas_save(cells=[cell(cast["rep"], "100"), cell(cast["teammate"], "200")], by=cast["manager"])
    response = client_for(cast["manager"]).get(URL)
    assert b'data-testid="split-sums"' in response.content


def test_the_grid_by_month_and_the_empty_state(client_for, cast, frozen):
    response = client_for(cast["manager"]).get(URL, {"by": "month", "year": "2025"})
    assert len(response.context["columns"]) == 12 and response.context["year"] == 2025
    lone = UserFactory(username="lonely", role="manager")
    response = client_for(lone).get(URL)
    assert b'data-testid="quota-empty"' in response.content


def test_the_grid_reads_a_fixed_number_of_queries(client_for, cast, stages, frozen, django_assert_max_num_queries):
    for index in range(8):
        won(UserFactory(username=f"x{index}", team=cast["rep"].team), stages, "10", datetime(2026, 1, 9, tzinfo=UTC))
    client = client_for(cast["admin"])
    with django_assert_max_num_queries(14):
        assert client.get(URL).status_code == 200


def test_reverse_url_name():
    assert reverse("planning:quota_grid") == URL


# --- the dashboard and the home page --------------------------------------------------------------


@pytest.fixture
def quotas(cast, stages, team1, frozen):
    """Q1 2026 quotas: R1 1000 (won 400), R2 2000, R3 (the other team) 500; T1's target 3000."""
    quotas_save(cells=[cell(cast["rep"], "1000"), cell(cast["teammate"], "2000")], by=cast["manager"])
    quotas_save(cells=[cell(cast["other_rep"], "500")], by=cast["admin"])
    Target.objects.create(team=team1, period_start=Q1[0], period_end=Q1[1], amount=3000, created_by=cast["admin"])
    won(cast["rep"], stages, "400", datetime(2026, 2, 1, 12, tzinfo=UTC))
    return cast


def dashboard_quotas(response) -> dict:
    return {row["quota"].user.username: row for row in response.context["quotas"]["rows"]}


def test_the_dashboard_reads_each_reps_quota_this_quarter(client_for, quotas):
    response = client_for(quotas["manager"]).get("/dashboard/")
    rows = dashboard_quotas(response)
    assert set(rows) == {"r1", "r2"}  # not the other team's rep
    assert (rows["r1"]["won"], rows["r1"]["attainment"]) == (Decimal(400), Decimal("40.0"))
    (team,) = response.context["quotas"]["teams"]
    assert (team["quotas"], team["target"], team["sums"]) == (Decimal(3000), Decimal(3000), True)
    reps = {row["owner__username"]: row for row in response.context["reps"]}
    assert (reps["r1"]["quota"], reps["r1"]["attainment"]) == (Decimal(1000), Decimal("40.0"))
    assert b'data-testid="quota-coverage"' in response.content


def test_a_rep_sees_only_their_own_quota_and_no_team_split(client_for, quotas):
    response = client_for(quotas["rep"]).get("/dashboard/")
    assert set(dashboard_quotas(response)) == {"r1"} and response.context["quotas"]["teams"] == []
    assert set(dashboard_quotas(client_for(quotas["admin"]).get("/dashboard/"))) == {"r1", "r2", "r3"}


def test_a_past_period_reads_the_quotas_in_force_on_its_last_day(client_for, quotas):
    response = client_for(quotas["manager"]).get(
        "/dashboard/", {"period": "custom", "start": "2025-10-01", "end": "2025-12-31"}
    )
    assert response.context["quotas"]["rows"] == []
    assert b'data-testid="quota-coverage-none"' in response.content


def test_the_home_page_shows_the_reps_quota_and_the_managers_teams(client_for, quotas):
    response = client_for(quotas["rep"]).get("/")
    (row,) = response.context["quota"]["own"]
    assert (row["won"], row["remaining"]) == (Decimal(400), Decimal(600))
    assert b'data-testid="home-quota-row"' in response.content
    response = client_for(quotas["manager"]).get("/")
    (team,) = response.context["quota"]["teams"]
    assert team["team"] == "T1" and team["won"] == Decimal(400)
    assert client_for(quotas["other_manager"]).get("/").context["quota"]["teams"][0]["team"] == "T2"


def test_no_quota_no_panel(client_for, cast, frozen):
    response = client_for(cast["rep"]).get("/")
    assert response.context["quota"] is None and b'data-testid="home-quota"' not in response.content
