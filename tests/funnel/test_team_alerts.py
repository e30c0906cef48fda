"""Team-level gap and blockage: a team's funnel is its active members' open deals in a pipeline. The alert
goes to the team's manager (team set), links to the team's deals in the stage, and only those who may
see the manager's alerts see it: never a rep of the team, never another team's manager."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from funnel.health import diagnoses as health
from funnel.health.digest import send_alert_digests
from funnel.health.links import subject_url
from funnel.health.services import scan_funnel
from funnel.models import Alert, AlertKind, AlertSeverity, Pipeline
from reps.models import Role
from tests.factories import OpportunityFactory, TeamFactory, UserFactory

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def deal(owner, stage, *, in_stage_days: float = 0, **fields):
    entered = NOW - timedelta(days=in_stage_days)
    fields.setdefault("created_at", NOW - timedelta(days=1))
    return OpportunityFactory(owner=owner, stage=stage, stage_entered_at=entered, **fields)


def team_findings(findings) -> set[str]:
    return {f["key"] for f in findings if f["team_id"] is not None}


# --- team gap -------------------------------------------------------------------------------------------------


def test_an_empty_stage_between_two_members_deals_is_a_team_gap(rep, teammate, manager, team1, stages):
    deal(rep, stages["Qualified"])
    deal(teammate, stages["Negotiation"])
    findings = health.gap_findings(NOW)
    [found] = [f for f in findings if f["team_id"]]
    assert found["key"] == f"gap:team:{team1.pk}:stage:{stages['Proposal'].pk}"
    assert (found["rep_id"], found["team_id"], found["stage_id"]) == (manager.pk, team1.pk, stages["Proposal"].pk)
    assert [f for f in findings if not f["team_id"]] == []  # neither rep has a gap of their own


def test_a_member_filling_the_stage_closes_the_team_gap(rep, teammate, stages):
    deal(rep, stages["Qualified"])
    deal(teammate, stages["Negotiation"])
    deal(teammate, stages["Proposal"])
    assert team_findings(health.gap_findings(NOW)) == set()


def test_a_funnel_filled_by_one_member_is_that_reps_gap_only(rep, teammate, team1, stages):
    deal(rep, stages["Qualified"])
    deal(rep, stages["Negotiation"])
    deal(teammate, stages["Won"])  # closed deals are not in the funnel
    assert {f["key"] for f in health.gap_findings(NOW)} == {f"gap:rep:{rep.pk}:stage:{stages['Proposal'].pk}"}


def test_inactive_members_deals_are_not_in_the_teams_funnel(rep, teammate, stages):
    deal(rep, stages["Qualified"])
    deal(teammate, stages["Negotiation"])
    teammate.is_active = False
    teammate.save()
    assert team_findings(health.gap_findings(NOW)) == set()


def test_a_team_without_a_manager_gets_no_team_alert(stages):
    team = TeamFactory(name="Leaderless")
    first, second = UserFactory(team=team), UserFactory(team=team)
    deal(first, stages["Qualified"])
    deal(second, stages["Negotiation"])
    assert team_findings(health.gap_findings(NOW)) == set()


def test_teams_are_diagnosed_apart(rep, teammate, other_rep, other_manager, team2, stages):
    """T1 holds Qualified and Negotiation; T2's deals in Proposal do not fill T1's gap."""
    deal(rep, stages["Qualified"])
    deal(teammate, stages["Negotiation"])
    deal(other_rep, stages["Proposal"])
    deal(other_manager, stages["Proposal"])
    assert team_findings(health.gap_findings(NOW)) == {f"gap:team:{rep.team_id}:stage:{stages['Proposal'].pk}"}


# --- team blockage ----------------------------------------------------------------------------------------------


def test_stalled_deals_of_several_members_block_the_teams_stage(rep, teammate, manager, team1, stages):
    """Two stalled deals of r1 and one fresh of r2: no rep holds 3 deals, the team holds 3, 67 % stalled."""
    deal(rep, stages["Proposal"], in_stage_days=30)
    deal(rep, stages["Proposal"], in_stage_days=30)
    deal(teammate, stages["Proposal"])
    [found] = health.blockage_findings(NOW)
    assert found["key"] == f"blockage:team:{team1.pk}:stage:{stages['Proposal'].pk}"
    assert (found["rep_id"], found["team_id"], found["severity"]) == (manager.pk, team1.pk, AlertSeverity.CRITICAL)


@pytest.mark.parametrize(("share", "blocked"), [(66, True), (67, False)])
def test_the_team_blockage_reads_the_pipelines_share(share, blocked, rep, teammate, stages, pipeline):
    Pipeline.objects.filter(pk=pipeline.pk).update(blockage_share=share)
    deal(rep, stages["Proposal"], in_stage_days=30)
    deal(rep, stages["Proposal"], in_stage_days=30)
    deal(teammate, stages["Proposal"])  # 2 of 3: 66.7 %
    assert bool(team_findings(health.blockage_findings(NOW))) is blocked


def test_a_pile_of_one_members_deals_is_that_reps_blockage_only(rep, teammate, team1, stages):
    for _ in range(3):
        deal(rep, stages["Proposal"], in_stage_days=30)
    deal(teammate, stages["Negotiation"])
    assert {f["key"] for f in health.blockage_findings(NOW)} == {f"blockage:rep:{rep.pk}:stage:{stages['Proposal'].pk}"}


@pytest.mark.parametrize("members", [2, 12])
def test_team_diagnoses_cost_the_same_queries_however_many_members(
    members, manager, team1, stages, django_assert_num_queries
):
    for n in range(members):
        member = UserFactory(username=f"member{n}", team=team1)
        for name in ("Qualified", "Qualified", "Negotiation", "Negotiation"):
            deal(member, stages[name], in_stage_days=30)
    with django_assert_num_queries(5):  # gap: stages, groups; blockage: stages, per rep, per team
        assert len(team_findings(health.gap_findings(NOW))) == 1
        assert len(team_findings(health.blockage_findings(NOW))) == 2


# --- the alerts: who sees them, where they lead ---------------------------------------------------------------


@pytest.fixture
def team_gaps(cast, stages):
    """A gap in each team's funnel: T1 (r1, r2) and T2 (r3, m2), both in Proposal."""
    deal(cast["rep"], stages["Qualified"])
    deal(cast["teammate"], stages["Negotiation"])
    deal(cast["other_rep"], stages["Qualified"])
    deal(cast["other_manager"], stages["Negotiation"])
    scan_funnel(NOW)
    return {alert.team.name: alert for alert in Alert.objects.filter(kind=AlertKind.GAP, team__isnull=False)}


def test_each_teams_gap_alert_goes_to_its_manager(team_gaps, cast):
    assert {name: alert.rep for name, alert in team_gaps.items()} == {
        "T1": cast["manager"],
        "T2": cast["other_manager"],
    }


@pytest.mark.parametrize(
    ("viewer", "seen"),
    [
        ("rep", set()),
        ("teammate", set()),
        ("manager", {"T1"}),
        ("other_rep", set()),
        ("other_manager", {"T2"}),
        ("admin", {"T1", "T2"}),
    ],
)
def test_team_alerts_are_seen_by_their_manager_and_admins_only(viewer, seen, team_gaps, cast, client_for):
    visible = Alert.objects.visible_to(cast[viewer]).filter(team__isnull=False)
    assert {alert.team.name for alert in visible} == seen
    listed = client_for(cast[viewer]).get(reverse("health:alert_list")).content.decode()
    assert ("Team “T1”" in listed) is ("T1" in seen)
    assert ("Team “T2”" in listed) is ("T2" in seen)


def test_another_teams_manager_gets_404_for_a_team_alert(team_gaps, cast, client_for):
    url = reverse("health:alert_acknowledge", args=[team_gaps["T1"].pk])
    assert client_for(cast["other_manager"]).post(url, {"reason": "Not mine"}).status_code == 404
    assert client_for(cast["rep"]).post(url, {"reason": "Not mine"}).status_code == 404
    assert client_for(cast["manager"]).post(url, {"reason": "Two deals move next week"}).status_code == 302
    team_gaps["T1"].refresh_from_db()
    assert team_gaps["T1"].acknowledged_by == cast["manager"]


def test_a_team_alert_links_to_the_teams_deals_in_the_stage(team_gaps, cast, client_for, stages):
    alert = team_gaps["T1"]
    url = subject_url(alert, cast["manager"])
    assert url == f"{reverse('opportunities:list')}?team={alert.team_id}&stage={stages['Proposal'].pk}"
    deal(cast["rep"], stages["Proposal"], name="Team deal in Proposal")
    deal(cast["teammate"], stages["Proposal"], name="Teammate deal in Proposal")
    deal(cast["other_rep"], stages["Proposal"], name="Other team deal in Proposal")
    listed = client_for(cast["manager"]).get(url).content.decode()
    assert "Team deal in Proposal" in listed and "Teammate deal in Proposal" in listed
    assert "Other team deal in Proposal" not in listed


def test_an_inflow_alert_links_to_the_reps_deals_in_its_pipeline(rep, manager, stages, pipeline):
    deal(rep, stages["Qualified"], created_at=NOW - timedelta(weeks=10))
    scan_funnel(NOW)
    alert = Alert.objects.get(kind=AlertKind.EMPTY_CUP, pipeline__isnull=False)
    assert subject_url(alert, manager) == f"{reverse('opportunities:list')}?owner={rep.pk}&pipeline={pipeline.pk}"


# --- the inbox's filters and the digest ---------------------------------------------------------------------


def inbox(client, **params) -> str:
    return client.get(reverse("health:alert_list"), params).content.decode()


def test_the_team_filter_shows_the_teams_own_alerts_and_its_members(team_gaps, cast, client_for, stages):
    Alert.objects.create(kind=AlertKind.EMPTY_CUP, key="empty_cup:test", rep=cast["rep"], stage=stages["Qualified"])
    client = client_for(cast["admin"])
    listed = inbox(client, team=cast["rep"].team_id)
    assert "Team “T1”" in listed and "Stage “Qualified”" in listed
    assert "Team “T2”" not in inbox(client, team=cast["rep"].team_id)


def test_the_rep_filter_shows_the_reps_own_alerts_not_the_teams(team_gaps, cast, client_for):
    client = client_for(cast["manager"])
    assert "Team “T1”" not in inbox(client, rep=cast["teammate"].pk)
    assert "Team “T1”" not in inbox(client, rep=cast["manager"].pk)  # addressed to them, but about the team
    assert "Team “T1”" in inbox(client, kind=AlertKind.GAP)
    assert "Team “T1”" not in inbox(client, kind=AlertKind.BLOCKAGE)


def test_team_alerts_read_in_chinese(team_gaps, cast, client_for):
    cast["manager"].language = "zh-hans"
    cast["manager"].save()
    listed = inbox(client_for(cast["manager"]))
    assert "团队“T1”" in listed and "断档" in listed


def test_the_digest_names_the_team_and_links_to_its_deals_in_the_stage(team_gaps, cast, stages):
    for alert in team_gaps.values():
        Alert.objects.filter(pk=alert.pk).update(first_seen=datetime.now(UTC) - timedelta(hours=1))
    Alert.objects.filter(team__isnull=True).delete()
    send_alert_digests()
    [message] = [m for m in mail.outbox if m.to == [cast["manager"].email]]
    link = f"/opportunities/?team={cast['rep'].team_id}&amp;stage={stages['Proposal'].pk}"
    assert "Team “T1”" in message.body and link.replace("&amp;", "&") in message.body
    assert "Team “T2”" not in message.body
    html = message.alternatives[0][0]
    assert link in html and "Team “T1”" in html


def test_a_manager_of_managers_sees_the_alerts_addressed_to_the_managers_they_manage(team_gaps, cast, team1):
    """The rule of visibility, unchanged: an alert is visible where its addressee is."""
    director = UserFactory(username="director", role=Role.MANAGER)
    board = TeamFactory(name="Managers", manager=director)
    cast["manager"].team = board
    cast["manager"].save()
    assert Alert.objects.visible_to(director).filter(team=team1).count() == 1
