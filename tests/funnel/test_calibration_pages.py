"""The calibration page (everyone, over the deals they may see) and the admin's "use the historical figure"."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from funnel.models import Stage
from reps.models import AuditAction, AuditEvent, person_name
from tests.factories import OpportunityFactory, StageChangeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_kept_history():
    cache.clear()  # the page keeps a scope's history for the day
    yield
    cache.clear()


def close(owner, stages, *, won: bool, via=("Qualified", "Proposal")):
    """A deal of `owner` that went through `via` and was then won or lost, 30 days ago."""
    end = stages["Won"] if won else stages["Lost"]
    deal = OpportunityFactory(owner=owner, stage=end, status=end.kind)
    at = timezone.now() - timedelta(days=30)
    previous = None
    for index, name in enumerate([*via, end.name]):
        StageChangeFactory(opportunity=deal, from_stage=previous, to_stage=stages[name], at=at + timedelta(hours=index))
        previous = stages[name]
    return deal


def history(cast, stages, *, rep_won=2, rep_lost=18, mate_won=14, mate_lost=6, other_won=0, other_lost=0):
    for owner, won, lost in (("rep", rep_won, rep_lost), ("teammate", mate_won, mate_lost),
                             ("other_rep", other_won, other_lost)):  # fmt: skip
        for _ in range(won):
            close(cast[owner], stages, won=True)
        for _ in range(lost):
            close(cast[owner], stages, won=False)


def rows(response) -> dict:
    return {item["row"].stage.name: item for item in response.context["rows"]}


def test_rep_sees_only_their_own_history(client_for, cast, stages):
    history(cast, stages, other_won=20)
    response = client_for(cast["rep"]).get("/dashboard/calibration/")
    proposal = rows(response)["Proposal"]
    assert (proposal["row"].total.deals, proposal["row"].total.won) == (20, 2)
    assert proposal["verdict"] == "Proposal says 40%, your deals say 10% ± 14% over 20 deals."
    assert "teams" not in response.context and "calibration-accept" not in response.content.decode()


def test_manager_sees_their_teams_and_each_rep_against_the_team(client_for, cast, stages):
    history(cast, stages, other_won=20)
    response = client_for(cast["manager"]).get("/dashboard/calibration/")
    proposal = rows(response)["Proposal"]["row"]
    assert (proposal.total.deals, proposal.total.won) == (40, 16)  # not the other team's 20 won
    assert [team["team"].name for team in response.context["teams"]] == [cast["rep"].team.name]
    names = [row["person"].name for row in response.context["reps"]]
    assert str(cast["other_rep"]) not in names and len(names) == 2
    name = person_name(cast["rep"].first_name, cast["rep"].last_name, cast["rep"].username)
    assert f"{name}'s Proposal → Won is 10%, the team's is 40%." in response.context["notes"]


def test_admin_sees_the_organisation_and_chooses_a_team_for_its_reps(client_for, cast, stages):
    history(cast, stages, other_won=20)
    client = client_for(cast["admin"])
    response = client.get("/dashboard/calibration/")
    proposal = rows(response)["Proposal"]["row"]
    assert (proposal.total.deals, proposal.total.won) == (60, 36)
    assert response.context["reps"] == [] and len(response.context["teams"]) == 2
    chosen = client.get("/dashboard/calibration/", {"team": cast["other_rep"].team.pk})
    assert [row["person"].pk for row in chosen.context["reps"]] == [cast["other_rep"].pk]


def test_manager_cannot_choose_another_team(client_for, cast, stages):
    history(cast, stages, other_won=20)
    response = client_for(cast["manager"]).get("/dashboard/calibration/", {"team": cast["other_rep"].team.pk})
    assert rows(response)["Proposal"]["row"].total.deals == 40
    assert cast["other_rep"].pk not in [row["person"].pk for row in response.context["reps"]]


def test_months_out_of_range_is_dropped_for_the_default(client_for, cast, stages):
    response = client_for(cast["rep"]).get("/dashboard/calibration/", {"months": "0"})
    assert response.status_code == 200 and response.context["months"] == 12


def _accept(client, stage, probability, configured, months=12):
    return client.post(f"/dashboard/calibration/stages/{stage.pk}/accept/",
                       {"probability": probability, "configured": configured, "months": months})  # fmt: skip


def test_admin_uses_the_historical_figure_through_the_stage_service(client_for, cast, stages):
    history(cast, stages, other_won=20)  # Proposal: 36 of 60 = 60 %
    client = client_for(cast["admin"])
    client.get("/dashboard/calibration/")
    response = _accept(client, stages["Proposal"], 60, 40)
    assert response.status_code == 302
    assert Stage.objects.get(pk=stages["Proposal"].pk).probability == 60
    event = AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).latest("pk")
    assert event.detail == {"probability": [40, 60]} and event.actor == cast["admin"]
    page = client.get(response["Location"])
    assert "now has a probability of 60%" in page.content.decode()


def test_a_stage_changed_since_the_page_is_not_overwritten(client_for, cast, stages):
    history(cast, stages, other_won=20)
    Stage.objects.filter(pk=stages["Proposal"].pk).update(probability=55)
    client = client_for(cast["admin"])
    response = _accept(client, stages["Proposal"], 60, 40)
    assert Stage.objects.get(pk=stages["Proposal"].pk).probability == 55
    assert "was changed to 55% since the page was shown" in client.get(response["Location"]).content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).exists()


def test_a_figure_history_does_not_give_is_refused(client_for, cast, stages):
    history(cast, stages, other_won=20)
    client = client_for(cast["admin"])
    _accept(client, stages["Proposal"], 90, 40)
    assert Stage.objects.get(pk=stages["Proposal"].pk).probability == 40
    assert not AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).exists()


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_only_an_admin_may_use_the_figure(client_for, cast, stages, role):
    history(cast, stages, other_won=20)
    response = _accept(client_for(cast[role]), stages["Proposal"], 60, 40)
    assert response.status_code == 403
    assert Stage.objects.get(pk=stages["Proposal"].pk).probability == 40


@pytest.mark.parametrize("deals", [1, 12])
def test_page_query_count_does_not_grow_with_history(client_for, cast, stages, deals, django_assert_num_queries):
    history(cast, stages, rep_won=deals, rep_lost=deals, mate_won=deals, mate_lost=0)
    client = client_for(cast["manager"])
    client.get("/")
    # session, user; the pipelines; the people in view; the stages; the history (one grouped query); the teams
    # in view (read once for the select and the per-team table)
    with django_assert_num_queries(7):
        assert client.get("/dashboard/calibration/").status_code == 200
    with django_assert_num_queries(6):  # the history kept for the day
        assert client.get("/dashboard/calibration/").status_code == 200


def _forecast_deals(owner, stages):
    today = timezone.localdate()
    for name in ("Qualified", "Negotiation"):
        OpportunityFactory(owner=owner, stage=stages[name], amount=Decimal(1000), expected_close_date=today)


def test_dashboard_weighs_the_forecast_with_the_scopes_history(client_for, cast, stages):
    history(cast, stages)  # the team's Qualified: 16 of 40 = 40 % (configured 10 %); Negotiation: none
    _forecast_deals(cast["rep"], stages)
    response = client_for(cast["manager"]).get("/dashboard/")
    assert response.context["forecast"]["weighted"] == Decimal(900)  # 1000 × 10 % + 1000 × 80 %
    assert response.context["forecast_history"] == {"weighted": Decimal(1200), "stages": 2, "with_history": 1}
    assert 'data-testid="forecast-history-weighted"' in response.content.decode()


def test_a_reps_dashboard_weighs_with_their_own_history(client_for, cast, stages):
    history(cast, stages)  # the rep's own Qualified: 2 of 20 = 10 %
    _forecast_deals(cast["rep"], stages)
    cache.clear()
    response = client_for(cast["rep"]).get("/dashboard/")
    assert response.context["forecast_history"]["weighted"] == Decimal(900)  # 1000 × 10 % + 1000 × 80 %


@pytest.mark.parametrize("deals", [1, 12])
def test_dashboard_reads_the_history_in_one_query(client_for, cast, stages, deals):
    history(cast, stages, rep_won=deals, rep_lost=deals, mate_won=deals, mate_lost=0)
    _forecast_deals(cast["rep"], stages)
    client = client_for(cast["manager"])
    client.get("/dashboard/")
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        client.get("/dashboard/")
    history_reads = [query for query in cold.captured_queries if "COUNT(DISTINCT" in query["sql"]]
    assert len(history_reads) == 1


def test_dashboard_asks_a_job_for_history_it_does_not_keep(client_for, cast, stages, settings, monkeypatch):
    """At a million deals the history takes seconds to read: the page asks a job and says so."""
    settings.JOBS_INLINE = False
    asked = []
    monkeypatch.setattr("funnel.insights.figures.jobs.enqueue", lambda task, *args: asked.append((task.name, args)))
    history(cast, stages)
    _forecast_deals(cast["rep"], stages)
    client = client_for(cast["manager"])
    response = client.get("/dashboard/")
    assert response.context["forecast_history"]["pending"] is True
    assert 'data-testid="forecast-history-pending"' in response.content.decode()
    assert [name for name, _args in asked].count("funnel.tasks.calibration_history_task") == 1
    _name, (pipeline_id, owners, stage_ids) = next(item for item in asked if "calibration" in item[0])
    from funnel.tasks import calibration_history_task

    assert calibration_history_task.apply(args=(pipeline_id, owners, stage_ids)).get() == 3
    again = client.get("/dashboard/").context["forecast_history"]
    assert again == {"weighted": Decimal(1200), "stages": 2, "with_history": 1}, again


def test_the_organisations_history_is_read_by_a_job(client_for, cast, stages, settings, monkeypatch):
    """An admin's page reads every deal's history: seconds at a million deals, so a job reads it."""
    settings.JOBS_INLINE = False
    asked = []
    monkeypatch.setattr("funnel.insights.calibration_views.jobs.enqueue", lambda task, *args: asked.append(args))
    history(cast, stages, other_won=20)
    client = client_for(cast["admin"])
    response = client.get("/dashboard/calibration/")
    assert response.context["pending"] and 'data-testid="calibration-pending"' in response.content.decode()
    client.get("/dashboard/calibration/")
    assert len(asked) == 1  # asked once a minute at most
    from funnel.tasks import calibration_history_task

    calibration_history_task.apply(args=asked[0]).get()
    proposal = rows(client.get("/dashboard/calibration/"))["Proposal"]["row"]
    assert (proposal.total.deals, proposal.total.won) == (60, 36)


def test_a_managers_history_is_read_at_once(client_for, cast, stages, settings, monkeypatch):
    settings.JOBS_INLINE = False
    monkeypatch.setattr("funnel.insights.calibration_views.jobs.enqueue", lambda task, *args: pytest.fail("asked"))
    history(cast, stages)
    assert rows(client_for(cast["manager"]).get("/dashboard/calibration/"))["Proposal"]["row"].total.deals == 40


def test_the_historical_forecast_card_writes_large_amounts_as_the_kpis_beside_it_do():
    from django.template.loader import render_to_string
    from django.utils import translation

    context = {"forecast_history": {"weighted": Decimal(23674000), "stages": 1, "with_history": 1}, "pipeline": None}
    with translation.override("zh-hans"):
        html = render_to_string("funnel/dashboard/_forecast_history.html", context)
    assert "¥2,367.4万" in html
