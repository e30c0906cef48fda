"""The home page's stalled deals and next steps due: scoped like every list, ordered, capped at ten."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from funnel.models import Opportunity, Stage
from funnel.opportunities import home_panels
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


@pytest.fixture
def limits(pipeline):
    """Qualified stalls after 14 days in it, Proposal after 7; Negotiation never (next steps only)."""
    Stage.objects.filter(name="Qualified").update(stall_days=14)
    Stage.objects.filter(name="Proposal").update(stall_days=7)
    Stage.objects.filter(name="Negotiation").update(stall_days=0)
    return pipeline


def stuck(owner, name: str, stage_name: str = "Qualified", days_in_stage: int = 30, **fields):
    """A deal that entered its stage `days_in_stage` days ago and has had no activity since."""
    entered = timezone.now() - timedelta(days=days_in_stage)
    return OpportunityFactory(owner=owner, name=name, stage=stage(stage_name), stage_entered_at=entered, **fields)


def shown(response, panel: str) -> list[str]:
    return [deal.name for deal in response.context[panel]["rows"]]


def test_rep_sees_only_their_own_stalled_deals_most_overdue_first(client_for, cast, limits):
    today = timezone.localdate()  # overdue days are counted in the site's time zone, as the stalled rule counts them
    stuck(cast["rep"], "a little late", "Proposal", days_in_stage=10)  # 3 days past Proposal's 7
    stuck(cast["rep"], "very late", "Qualified", days_in_stage=40)  # 26 days past Qualified's 14
    stuck(cast["rep"], "step missed", "Negotiation", days_in_stage=1, next_step_date=today - timedelta(days=12))
    stuck(cast["rep"], "moving", "Qualified", days_in_stage=2)
    stuck(cast["teammate"], "teammate's", days_in_stage=60)
    stuck(cast["other_rep"], "other team's", days_in_stage=60)
    response = client_for(cast["rep"]).get("/")
    assert shown(response, "stalled") == ["very late", "step missed", "a little late"]
    assert [deal.overdue_days for deal in response.context["stalled"]["rows"]] == [26, 11, 3]
    assert response.context["stalled"]["count"] == 3
    content = response.content.decode()
    assert "teammate&#x27;s" not in content and "other team&#x27;s" not in content
    assert "26 days overdue" in content


def test_manager_sees_the_stalled_deals_of_their_teams_only(client_for, cast, limits):
    stuck(cast["rep"], "r1 stuck")
    stuck(cast["teammate"], "r2 stuck", days_in_stage=50)
    stuck(cast["other_rep"], "r3 stuck", days_in_stage=60)
    response = client_for(cast["manager"]).get("/")
    assert shown(response, "stalled") == ["r2 stuck", "r1 stuck"]
    assert shown(client_for(cast["other_manager"]).get("/"), "stalled") == ["r3 stuck"]
    assert sorted(shown(client_for(cast["admin"]).get("/"), "stalled")) == ["r1 stuck", "r2 stuck", "r3 stuck"]


@pytest.mark.parametrize("who", ["rep", "manager", "admin"])
def test_stalled_count_is_what_the_linked_list_shows(client_for, cast, limits, who):
    for index in range(12):
        stuck(cast["rep"] if index % 3 else cast["teammate"], f"stuck {index}", days_in_stage=20 + index)
    stuck(cast["other_rep"], "r3 stuck")
    stuck(cast["rep"], "fresh", days_in_stage=1)
    client = client_for(cast[who])
    response = client.get("/")
    panel = response.context["stalled"]
    assert len(panel["rows"]) == min(panel["count"], 10)
    assert b'href="/opportunities/?stalled=1"' in response.content
    listed = client.get("/opportunities/", {"stalled": "1"})
    assert listed.context["count"] == panel["count"]
    assert panel["count"] == {"rep": 8, "manager": 12, "admin": 13}[who]
    assert shown(response, "stalled")[0] == "stuck 11"  # the longest in its stage


def test_next_steps_due_are_my_own_open_deals_within_a_week_soonest_first(client_for, cast, pipeline):
    today = timezone.localdate(timezone=ZoneInfo(cast["rep"].time_zone))  # the page's today is the rep's
    OpportunityFactory(
        owner=cast["rep"], name="in a week", next_step="Send the quote", next_step_date=today + timedelta(days=7)
    )
    OpportunityFactory(owner=cast["rep"], name="in 8 days", next_step_date=today + timedelta(days=8))
    OpportunityFactory(owner=cast["rep"], name="today", next_step="Call the buyer", next_step_date=today)
    OpportunityFactory(
        owner=cast["rep"], name="overdue", next_step="Site visit", next_step_date=today - timedelta(days=2)
    )
    OpportunityFactory(owner=cast["rep"], name="no date", next_step="Someday")
    OpportunityFactory(owner=cast["rep"], name="won already", stage=stage("Won"), next_step_date=today)
    OpportunityFactory(owner=cast["teammate"], name="teammate's", next_step_date=today)
    response = client_for(cast["rep"]).get("/")
    assert shown(response, "next_steps") == ["overdue", "today", "in a week"]
    assert response.context["next_steps"]["count"] == 3
    content = response.content.decode()
    assert "Site visit" in content and "Send the quote" in content
    assert content.count('data-testid="overdue"') == 1


def test_managers_next_steps_are_their_own_deals_not_their_teams(client_for, cast, pipeline):
    today = timezone.localdate(timezone=ZoneInfo(cast["rep"].time_zone))  # the page's today is the rep's
    OpportunityFactory(owner=cast["manager"], name="manager's own", next_step_date=today)
    OpportunityFactory(owner=cast["rep"], name="rep's", next_step_date=today)
    assert shown(client_for(cast["manager"]).get("/"), "next_steps") == ["manager's own"]


def test_each_panel_shows_ten_and_counts_them_all(client_for, cast, limits):
    today = timezone.localdate(timezone=ZoneInfo(cast["rep"].time_zone))  # the page's today is the rep's
    for index in range(13):
        stuck(
            cast["rep"], f"deal {index:02}", days_in_stage=20 + index, next_step_date=today + timedelta(days=index % 8)
        )
    response = client_for(cast["rep"]).get("/")
    assert len(response.context["next_steps"]["rows"]) == 10
    assert response.context["next_steps"]["count"] == 13
    assert [deal.next_step_date for deal in response.context["next_steps"]["rows"]] == sorted(
        deal.next_step_date for deal in response.context["next_steps"]["rows"]
    )
    assert len(response.context["stalled"]["rows"]) == 10
    assert response.context["stalled"]["count"] == 13
    assert b"The 10 soonest of 13 are shown." in response.content


def test_empty_panels_say_so_kindly(client_for, cast, pipeline):
    content = client_for(cast["rep"]).get("/").content.decode()
    assert "Nothing is stalled: every opportunity is moving." in content
    assert "No next step is due this week." in content
    assert 'href="/opportunities/?stalled=1"' not in content


def test_panels_read_in_chinese(client_for, cast, limits):
    cast["rep"].language = "zh-hans"
    cast["rep"].save()
    stuck(cast["rep"], "滨江冷链仓库")
    content = client_for(cast["rep"]).get("/").content.decode()
    assert "我的停滞商机" in content
    assert "我的到期下一步" in content


def test_overdue_since_orders_by_the_limit_each_stage_sets(cast, limits):
    now = timezone.now()
    stuck(cast["rep"], "qualified 20 days", "Qualified", days_in_stage=20)  # 6 days past 14
    stuck(cast["rep"], "proposal 15 days", "Proposal", days_in_stage=15)  # 8 days past 7
    panel = home_panels.stalled_panel(cast["rep"], now)
    assert [deal.name for deal in panel["rows"]] == ["proposal 15 days", "qualified 20 days"]


def test_the_most_overdue_are_found_among_many_and_the_count_stops_at_the_cap(cast, limits, monkeypatch):
    """Twelve stalled deals per stage and clock: the candidates (ten per stage and moment, ten by next step)
    still hold the ten most overdue, whichever clock makes them so."""
    monkeypatch.setattr(home_panels, "COUNTED", 30)
    now = timezone.now()
    for n in range(12):
        stuck(cast["rep"], f"qualified {n}", "Qualified", days_in_stage=20 + n)  # 6..17 days past 14
        stuck(cast["rep"], f"proposal {n}", "Proposal", days_in_stage=9 + n)  # 2..13 days past 7
        stuck(cast["rep"], f"idle {n}", "Proposal", days_in_stage=3, last_activity_at=now - timedelta(days=30 + n))
        stuck(
            cast["rep"],
            f"step {n}",
            "Negotiation",
            days_in_stage=1,
            next_step_date=(now - timedelta(days=40 + n)).date(),
        )
    panel = home_panels.stalled_panel(cast["rep"], now)
    assert [deal.name for deal in panel["rows"]] == [f"step {n}" for n in range(11, 1, -1)]
    assert (panel["count"], panel["more_than"]) == (30, True)
    monkeypatch.setattr(home_panels, "COUNTED", 48)
    panel = home_panels.stalled_panel(cast["rep"], now)
    assert (panel["count"], panel["more_than"]) == (48, False)
    for deal in Opportunity.objects.filter(name__startswith="step"):
        deal.delete()
    panel = home_panels.stalled_panel(cast["rep"], now)
    # idle n: 30 + n days idle, 7 stall days → 23 + n days overdue; qualified n: 6 + n; proposal n: 2 + n.
    assert [deal.name for deal in panel["rows"]] == [f"idle {n}" for n in range(11, 1, -1)]
