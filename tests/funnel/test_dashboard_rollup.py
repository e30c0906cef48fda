"""Dashboards read the rollup: the page says as of when, never waits for a refresh, and no period, however
unusual, makes the job do more work (issue 11, items 6 and 9)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from config import jobs
from funnel.insights import rollup
from funnel.models import Stage
from funnel.models.rollup import DealDay, FlowDay, OpenDeals, RollupDirt, RollupState, StayLength
from funnel.opportunities import services
from reps.models import Role, User
from tests.factories import OpportunityFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


@pytest.fixture
def deals(cast, pipeline):
    source = SourceFactory(name="Trade fair")
    OpportunityFactory(owner=cast["rep"], stage=stage("Proposal"), amount=Decimal(1000), source=source)
    OpportunityFactory(owner=cast["teammate"], stage=stage("Proposal"), amount=Decimal("7000.50"))
    OpportunityFactory(owner=cast["other_rep"], stage=stage("Qualified"), amount=Decimal(9000))
    won = OpportunityFactory(owner=cast["teammate"], stage=stage("Proposal"), amount=Decimal(300))
    services.opportunity_mark_won(opportunity=won, by=cast["teammate"], version=won.version)
    return cast


def proposal(response) -> dict:
    return next(row for row in response.context["by_stage"] if row["stage"].name == "Proposal")


@pytest.fixture
def queued(monkeypatch) -> list:
    """Jobs as production starts them: recorded, not run (the page must not wait for them)."""
    started = []
    monkeypatch.setattr(jobs, "enqueue", lambda task, *args: started.append(task.name))
    return started


def test_the_page_shows_as_of_when_its_figures_are(client_for, deals):
    response = client_for(deals["manager"]).get("/dashboard/")
    assert proposal(response)["total"] == Decimal("8000.50")
    assert response.context["as_of"] == RollupState.objects.get().refreshed_at
    assert b'data-testid="as-of"' in response.content


def test_a_read_finding_changes_waiting_answers_at_once_and_asks_for_one_refresh(client_for, deals, queued):
    rollup.refresh()
    OpportunityFactory(owner=deals["rep"], stage=stage("Proposal"), amount=Decimal(5))
    client = client_for(deals["manager"])
    first = client.get("/dashboard/")
    assert proposal(first)["total"] == Decimal("8000.50")  # as of the last refresh
    client.get("/dashboard/")
    client_for(deals["admin"]).get("/dashboard/")
    assert queued == ["funnel.tasks.refresh_rollup_task"]  # once, however many readers
    rollup.refresh()
    assert proposal(client.get("/dashboard/"))["total"] == Decimal("8005.50")


def test_a_rollup_never_built_says_the_figures_are_being_prepared(client_for, deals, queued):
    response = client_for(deals["manager"]).get("/dashboard/")
    assert response.status_code == 200 and response.context["as_of"] is None
    assert b"The figures are being prepared for the first time" in response.content
    assert queued == ["funnel.tasks.refresh_rollup_task"]


def test_any_custom_period_is_added_up_at_read_time_and_stores_nothing(client_for, deals):
    client = client_for(deals["manager"])
    client.get("/dashboard/")
    tables = (DealDay, FlowDay, StayLength, OpenDeals, RollupState)
    before = [list(model.objects.order_by("pk").values()) for model in tables]
    first = date(2025, 1, 1)
    for offset in range(40):  # forty one-off views, as a script or a curious user would ask
        start = first + timedelta(days=offset * 9)
        end = start + timedelta(days=offset % 30)
        response = client.get("/dashboard/", {"period": "custom", "start": start, "end": end})
        assert response.status_code == 200
    assert [list(model.objects.order_by("pk").values()) for model in tables] == before
    assert not RollupDirt.objects.exists()
    assert rollup.refresh()["owners"] == 0  # nothing read made the job's work grow


def test_a_custom_period_longer_than_two_years_is_refused(client_for, deals):
    response = client_for(deals["manager"]).get(
        "/dashboard/", {"period": "custom", "start": "2023-01-01", "end": "2026-01-01"}
    )
    assert response.status_code == 200
    assert "end" in response.context["filters"].errors


def test_deactivated_people_keep_their_deals_in_the_figures(client_for, deals):
    User.objects.filter(pk=deals["teammate"].pk).update(is_active=False)
    response = client_for(deals["manager"]).get("/dashboard/")
    assert proposal(response)["total"] == Decimal("8000.50")
    assert "r2" not in [row["owner__username"] for row in response.context["reps"] if row["open_count"] == 0]


def test_a_new_rep_with_nothing_is_listed(client_for, deals, team1):
    UserFactory(username="r9", role=Role.REP, team=team1)
    rows = {row["owner__username"]: row for row in client_for(deals["manager"]).get("/dashboard/").context["reps"]}
    assert rows["r9"]["open_count"] == 0 and rows["r9"]["win_rate"] is None


def test_moving_a_rep_to_another_team_moves_their_figures_at_once(client_for, deals, team2):
    client = client_for(deals["manager"])
    assert proposal(client.get("/dashboard/"))["total"] == Decimal("8000.50")
    User.objects.filter(pk=deals["teammate"].pk).update(team=team2)
    assert proposal(client.get("/dashboard/"))["total"] == Decimal(1000)  # visibility is read per request


def test_the_refresh_command_prints_what_it_did(deals, capsys):
    call_command("refresh_dashboards")
    assert "dashboard rollup rebuilt for 3 owners" in capsys.readouterr().out
    OpportunityFactory(owner=deals["rep"])
    call_command("refresh_dashboards")
    assert "dashboard rollup refreshed 1 owners" in capsys.readouterr().out
    call_command("refresh_dashboards", rebuild=True, every=1, times=1)
    assert "rebuilt for 3 owners" in capsys.readouterr().out


def test_the_task_refreshes_the_rollup_and_beat_runs_it_every_minute(deals):
    from config.celery import app
    from funnel.tasks import refresh_rollup_task

    assert refresh_rollup_task.apply().get() == {"owners": 3, "rebuilt": True, "skipped": False}
    entry = app.conf.beat_schedule["refresh-dashboards"]
    assert entry["task"] == refresh_rollup_task.name
    assert entry["schedule"].minute == set(range(60))


def test_every_reader_sees_a_deal_on_its_owners_day(client_for, cast, pipeline):
    """A deal created at 20:00 UTC on 31 March by a rep in Shanghai is an April deal for readers in New York
    and in Shanghai alike: the day is the owner's, the one their daily log uses."""
    OpportunityFactory(owner=cast["rep"], stage=stage("Proposal"), created_at=datetime(2026, 3, 31, 20, tzinfo=UTC))
    new_york = UserFactory(username="a_ny", role=Role.ADMIN, time_zone="America/New_York")
    shanghai = UserFactory(username="a_sh", role=Role.ADMIN, time_zone="Asia/Shanghai")
    april = {"period": "custom", "start": "2026-04-01", "end": "2026-04-30"}
    for admin in (new_york, shanghai):
        response = client_for(admin).get("/dashboard/", april)
        assert sum(row["count"] for row in response.context["inflow"]) == 1


def test_figures_kept_for_one_scope_are_never_read_for_another(client_for, deals):
    manager = client_for(deals["manager"]).get("/dashboard/")
    rep = client_for(deals["rep"]).get("/dashboard/")
    assert proposal(manager)["total"] == Decimal("8000.50")
    assert proposal(rep)["total"] == Decimal(1000)  # the rep's own deals, not the team's kept figures
    Stage.objects.filter(name="Proposal").update(probability=50)
    again = client_for(deals["manager"]).get("/dashboard/")
    assert proposal(again)["weighted"] == Decimal("4000.25")  # a stage's new probability is a new key
