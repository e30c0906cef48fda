"""The home page funnel: numbers from one aggregation over what the user may see."""

from decimal import Decimal

import pytest

from funnel.insights import metrics
from funnel.models import Opportunity, Stage
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def test_funnel_by_stage_counts_amounts_and_weights(rep, pipeline):
    OpportunityFactory(owner=rep, stage=stage("Qualified"), amount=Decimal("1000"))
    OpportunityFactory(owner=rep, stage=stage("Negotiation"), amount=Decimal("2000"))
    OpportunityFactory(owner=rep, stage=stage("Negotiation"), amount=Decimal("500"), probability_override=50)
    OpportunityFactory(owner=rep, stage=stage("Won"), amount=Decimal("9999"))
    rows = {row["stage"].name: row for row in metrics.funnel_by_stage(Opportunity.objects.all(), pipeline)}
    assert list(rows) == ["Qualified", "Proposal", "Negotiation"]  # open stages only, in order
    assert (rows["Qualified"]["count"], rows["Qualified"]["total"], rows["Qualified"]["weighted"]) == (1, 1000, 100)
    assert (rows["Proposal"]["count"], rows["Proposal"]["total"]) == (0, 0)  # an empty stage still shows
    assert (rows["Negotiation"]["count"], rows["Negotiation"]["total"]) == (2, 2500)
    assert rows["Negotiation"]["weighted"] == Decimal("1600") + Decimal("250")


def test_totals_leave_out_closed_deals(rep, pipeline):
    OpportunityFactory(owner=rep, stage=stage("Proposal"), amount=Decimal("1000"))
    OpportunityFactory(owner=rep, stage=stage("Lost"), amount=Decimal("5000"))
    totals = metrics.funnel_totals(Opportunity.objects.all())
    assert (totals["count"], totals["total"], totals["weighted"]) == (1, 1000, 400)


def test_empty_funnel_totals_are_zero_not_none(pipeline):
    totals = metrics.funnel_totals(Opportunity.objects.none())
    assert (totals["count"], totals["total"], totals["weighted"]) == (0, 0, 0)


def test_rep_home_counts_only_own_deals(client_for, cast, pipeline):
    OpportunityFactory(owner=cast["rep"], amount=Decimal("1000"))
    OpportunityFactory(owner=cast["teammate"], amount=Decimal("7000"))
    OpportunityFactory(owner=cast["other_rep"], amount=Decimal("9000"))
    response = client_for(cast["rep"]).get("/", {"owner": "r2", "team": "T2"})
    assert response.context["totals"]["count"] == 1
    assert response.context["totals"]["total"] == 1000
    assert response.context["by_owner"] == []


def test_manager_home_breaks_down_by_rep_within_the_team(client_for, cast, pipeline):
    OpportunityFactory(owner=cast["rep"], amount=Decimal("1000"))
    OpportunityFactory(owner=cast["teammate"], amount=Decimal("7000"))
    OpportunityFactory(owner=cast["other_rep"], amount=Decimal("9000"))
    response = client_for(cast["manager"]).get("/")
    assert response.context["totals"]["total"] == 8000
    names = [str(cast["teammate"]), str(cast["rep"])]  # largest weighted pipeline first
    assert [row["owner"] for row in response.context["by_owner"]] == names


def test_a_managers_home_reads_the_dashboards_rollup_and_a_reps_stays_live(client_for, cast, pipeline, monkeypatch):
    OpportunityFactory(owner=cast["rep"], amount=Decimal("1000"))
    manager, rep = client_for(cast["manager"]), client_for(cast["rep"])
    first = manager.get("/")
    assert first.context["as_of"] is not None and b'data-testid="as-of"' in first.content
    dashboard = manager.get("/dashboard/")
    assert dashboard.context["as_of"] == first.context["as_of"]  # the very same rollup
    assert sum(row["count"] for row in dashboard.context["by_stage"]) == first.context["totals"]["count"] == 1
    monkeypatch.setattr("config.jobs.enqueue", lambda task, *args: None)  # the refresh is left to the job
    OpportunityFactory(owner=cast["rep"], amount=Decimal("5"))
    assert manager.get("/").context["totals"]["count"] == 1  # until the next refresh folds it in
    mine = rep.get("/")
    assert mine.context["totals"]["count"] == 2 and "as_of" not in mine.context


def test_home_without_any_pipeline_shows_the_empty_state(client_for, rep):
    response = client_for(rep).get("/")
    assert response.status_code == 200
    assert b"No pipeline is set up yet" in response.content


@pytest.mark.parametrize("rows", [1, 50])
def test_home_query_count_does_not_grow_with_rows(client_for, cast, pipeline, rows, django_assert_num_queries):
    for index in range(rows):
        OpportunityFactory(owner=cast["rep"] if index % 2 else cast["teammate"])
    client = client_for(cast["manager"])
    client.get("/")
    # session, user with their team (navbar), pipeline, the funnel from the dashboard's rollup (the owners in view
    # with their names, the rollup's state, the open stages, the open deals per owner and stage), recent (and
    # the stall rule's stages for its "Stalled" badges),
    # the daily-log panel (today's log, unread comments), the stalled deals (the manager's people, the stall
    # rule's stages, the stages to pick candidates in, the candidates, the ordering's stages, the rows, their
    # capped count), the next steps due (rows with their total), the quota panel (the manager's own quotas in
    # force, their people's: issue 14), the handovers they have not acknowledged
    with django_assert_num_queries(21):
        assert client.get("/").status_code == 200
