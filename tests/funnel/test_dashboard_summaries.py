"""Team and organisation dashboards read summaries a job refreshes: same figures, same scope, shown as of when."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from funnel import dashboard_figures, metrics, services
from funnel.models import DashboardSummary, Stage
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


def scope_of(user: User, pipeline, **narrow) -> dashboard_figures.FigureScope:
    """The user's default scope, in their own time zone (as their pages are)."""
    with timezone.override(zoneinfo.ZoneInfo(user.time_zone)):
        start, end = timezone.localdate() - timedelta(days=89), timezone.localdate()
        owners = User.objects.visible_to(user).filter(**narrow)
        return dashboard_figures.figure_scope(owners, pipeline, None, start, end)


def test_a_summary_gives_back_exactly_the_live_figures(deals, pipeline):
    scope = scope_of(deals["manager"], pipeline)
    stages = metrics.open_stages(pipeline)
    live = dashboard_figures.compute(scope, stages)
    dashboard_figures.store(scope, stages, live, computed_at=timezone.now())
    stored = DashboardSummary.objects.get(key=scope.key)
    assert dashboard_figures.restore(stored.figures, stages) == live
    assert live["outcomes"]["won"] == 1 and live["outcomes"]["won_amount"] == Decimal(300)


def test_the_second_view_of_a_team_dashboard_reads_the_summary_and_says_when_it_was_computed(
    client_for, deals, pipeline
):
    client = client_for(deals["manager"])
    with time_machine.travel(timezone.now(), tick=False):
        first = client.get("/dashboard/")
    assert first.context["as_of"] is not None
    assert DashboardSummary.objects.count() == 1
    OpportunityFactory(owner=deals["rep"], stage=stage("Proposal"), amount=Decimal(5))  # not in the summary yet
    second = client.get("/dashboard/")
    assert proposal(second)["count"] == proposal(first)["count"] == 2
    assert second.context["as_of"] == first.context["as_of"]
    assert b'data-testid="as-of"' in second.content


def test_a_summary_older_than_the_max_age_is_recomputed(client_for, deals, settings):
    client = client_for(deals["manager"])
    client.get("/dashboard/")
    OpportunityFactory(owner=deals["rep"], stage=stage("Proposal"), amount=Decimal(5))
    later = timezone.now() + timedelta(minutes=settings.DASHBOARD_SUMMARY_MAX_AGE_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        response = client.get("/dashboard/")
    assert proposal(response)["count"] == 3
    assert response.context["as_of"] == later


def test_a_reps_own_figures_are_summarised_too_and_never_shared(client_for, deals):
    client = client_for(deals["rep"])
    client.get("/dashboard/")
    OpportunityFactory(owner=deals["rep"], stage=stage("Proposal"), amount=Decimal(5))
    response = client.get("/dashboard/")
    assert proposal(response)["count"] == 1
    assert response.context["as_of"] is not None
    assert DashboardSummary.objects.get().owner_ids == [deals["rep"].pk]
    teammate = client_for(deals["teammate"]).get("/dashboard/")
    assert proposal(teammate)["total"] == Decimal("7000.50")
    assert DashboardSummary.objects.count() == 2


def test_a_summary_is_only_read_for_the_very_same_owners(client_for, deals, team1):
    """The admin's view of team 1 is the manager's own view (same deals), so they share one summary; the
    admin's whole organisation is another, and a manager never gets it by tampering with the filter."""
    client_for(deals["admin"]).get("/dashboard/")
    manager = client_for(deals["manager"])
    for params in ({}, {"team": deals["other_rep"].team.pk}, {"owner": deals["other_rep"].pk}):
        response = manager.get("/dashboard/", params)
        assert proposal(response)["total"] == Decimal("8000.50"), params
        assert sum(row["count"] for row in response.context["by_stage"]) == 2, params
    keys = set(DashboardSummary.objects.values_list("key", flat=True))
    assert len(keys) == 2  # the organisation's and team 1's
    admin_team1 = client_for(deals["admin"]).get("/dashboard/", {"team": team1.pk})
    assert proposal(admin_team1)["total"] == Decimal("8000.50")
    # The team's manager sits in team 1 too, so the admin's "team 1" is exactly the manager's own view.
    assert set(DashboardSummary.objects.values_list("key", flat=True)) == keys


def test_moving_a_rep_to_another_team_changes_the_scope_and_so_the_summary(client_for, deals, team2):
    client = client_for(deals["manager"])
    client.get("/dashboard/")
    User.objects.filter(pk=deals["teammate"].pk).update(team=team2)
    response = client.get("/dashboard/")
    assert proposal(response)["total"] == Decimal(1000)
    assert DashboardSummary.objects.count() == 2


A_THURSDAY = "2026-11-19 12:00 +00:00"


@time_machine.travel(A_THURSDAY, tick=False)
def test_the_job_prepares_every_managers_and_admins_default_views(deals, pipeline):
    counts = dashboard_figures.refresh_summaries()
    # For the default period: the organisation, and each team (teams 1 and 2; each manager's own view is
    # the team's); a rep's figures are summarised when read, not ahead.
    assert counts == {"refreshed": 3, "deleted": 0}
    today = timezone.localdate()
    manager_scope = scope_of(deals["manager"], pipeline)
    assert DashboardSummary.objects.filter(key=manager_scope.key, end=today).exists()
    assert all(len(owners) > 1 for owners in DashboardSummary.objects.values_list("owner_ids", flat=True))


@time_machine.travel(A_THURSDAY)
def test_the_job_refreshes_what_was_read_and_drops_what_nobody_reads(client_for, deals, pipeline):
    client = client_for(deals["manager"])
    client.get("/dashboard/", {"period": "custom", "start": "2026-01-01", "end": "2026-01-31"})
    custom = DashboardSummary.objects.get(start=date(2026, 1, 1))
    assert dashboard_figures.refresh_summaries()["refreshed"] == 4
    custom.refresh_from_db()
    assert custom.computed_at > custom.read_at
    DashboardSummary.objects.update(read_at=None, computed_at=timezone.now() - timedelta(days=3))
    counts = dashboard_figures.refresh_summaries()
    assert counts == {"refreshed": 3, "deleted": 1}
    assert not DashboardSummary.objects.filter(start=date(2026, 1, 1)).exists()


@time_machine.travel(A_THURSDAY, tick=False)
def test_the_refresh_command_prints_what_it_did(deals, capsys):
    call_command("refresh_dashboards")
    assert "3 dashboard summaries refreshed, 0 unread ones deleted" in capsys.readouterr().out


def test_a_summary_of_stages_since_changed_is_not_used(client_for, deals, pipeline):
    client = client_for(deals["manager"])
    client.get("/dashboard/")
    Stage.objects.filter(name="Qualified").update(is_archived=True)
    response = client.get("/dashboard/")
    assert [row["stage"].name for row in response.context["by_stage"]] == [
        row.name for row in metrics.open_stages(pipeline)
    ]


def test_deactivated_people_keep_their_deals_in_the_figures(client_for, deals):
    User.objects.filter(pk=deals["teammate"].pk).update(is_active=False)
    response = client_for(deals["manager"]).get("/dashboard/")
    assert proposal(response)["total"] == Decimal("8000.50")
    assert "r2" not in [row["owner__username"] for row in response.context["reps"] if row["open_count"] == 0]


def test_a_new_rep_with_nothing_is_listed_from_the_summary_too(client_for, deals, team1):
    UserFactory(username="r9", role=Role.REP, team=team1)
    client = client_for(deals["manager"])
    client.get("/dashboard/")
    rows = {row["owner__username"]: row for row in client.get("/dashboard/").context["reps"]}
    assert rows["r9"]["open_count"] == 0 and rows["r9"]["win_rate"] is None


@time_machine.travel(A_THURSDAY)
def test_a_summary_last_read_hours_ago_is_kept_but_no_longer_refreshed(client_for, deals, pipeline):
    client_for(deals["manager"]).get("/dashboard/", {"period": "custom", "start": "2026-01-01", "end": "2026-01-31"})
    custom = DashboardSummary.objects.get(start=date(2026, 1, 1))
    DashboardSummary.objects.filter(pk=custom.pk).update(read_at=timezone.now() - timedelta(hours=3))
    assert dashboard_figures.refresh_summaries() == {"refreshed": 3, "deleted": 0}
    assert DashboardSummary.objects.get(pk=custom.pk).computed_at == custom.computed_at


@time_machine.travel(A_THURSDAY, tick=False)
def test_the_task_refreshes_the_summaries_and_beat_runs_it_every_ten_minutes(deals):
    from config.celery import app
    from funnel.tasks import refresh_dashboard_summaries_task

    assert refresh_dashboard_summaries_task.apply().get() == {"refreshed": 3, "deleted": 0}
    assert DashboardSummary.objects.count() == 3
    entry = app.conf.beat_schedule["refresh-dashboards"]
    assert entry["task"] == refresh_dashboard_summaries_task.name
    assert entry["schedule"].minute == set(range(0, 60, 10))


def test_readers_in_other_time_zones_get_their_own_days(client_for, cast, pipeline):
    """A deal created at 20:00 UTC on 31 March is a March deal in New York and an April one in Shanghai:
    two admins reading "April" must not share one summary."""
    OpportunityFactory(owner=cast["rep"], stage=stage("Proposal"), created_at=datetime(2026, 3, 31, 20, tzinfo=UTC))
    new_york = UserFactory(username="a_ny", role=Role.ADMIN, time_zone="America/New_York")
    april = {"period": "custom", "start": "2026-04-01", "end": "2026-04-30"}
    in_shanghai = client_for(cast["admin"]).get("/dashboard/", april)
    in_new_york = client_for(new_york).get("/dashboard/", april)
    assert sum(row["count"] for row in in_shanghai.context["inflow"]) == 1
    assert sum(row["count"] for row in in_new_york.context["inflow"]) == 0
    assert sorted(DashboardSummary.objects.values_list("time_zone", flat=True)) == ["America/New_York", "Asia/Shanghai"]
