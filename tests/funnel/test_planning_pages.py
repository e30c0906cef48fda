"""The reverse-funnel plan pages (issue 14): who may open whose plan (GET and POST, both ways), what they show
(the plan, the history used, no quota, quota met, a stage that cannot be computed), their query counts, the links
from the dashboard and the home page, the per-rep CSV's quota columns and the quota-at-risk threshold setting."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from activity_log.models import Activity, ActivityKind, DailyLog
from funnel.models import HealthSettings, Opportunity
from reps.models import AuditAction, AuditEvent, Quota
from tests.factories import AccountFactory, OpportunityFactory, StageChangeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)  # Monday 2 November, noon in Shanghai: 60 days left in Q4
Q4 = (date(2026, 10, 1), date(2026, 12, 31))


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()  # a history is kept for the day
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def closed(owner, stages, *, won: bool, via: tuple, created: date, closed_on: date, amount=300_000) -> Opportunity:
    """A deal of `owner` created on `created` that went through `via` and was won or lost on `closed_on`."""
    end = stages["Won" if won else "Lost"]
    deal = OpportunityFactory(owner=owner, stage=end, amount=Decimal(amount), created_at=at(created),
                              closed_at=at(closed_on))  # fmt: skip
    for index, name in enumerate(via):
        StageChangeFactory(opportunity=deal, to_stage=stages[name], at=at(created) + timedelta(days=index))
    return deal


def quota(person, amount) -> Quota:
    return Quota.objects.create(user=person, period_start=Q4[0], period_end=Q4[1], amount=Decimal(amount),
                                updated_by=person)  # fmt: skip


def visits(person, count: int, day=date(2026, 10, 20)) -> None:
    log, _ = DailyLog.objects.get_or_create(rep=person, date=day)
    kind, account = ActivityKind.objects.get(name="Visit"), AccountFactory(owner=person)
    for _ in range(count):
        Activity.objects.create(daily_log=log, kind=kind, account=account, when=at(day), outcome="Met the buyer")


@pytest.fixture
def world(cast, stages):
    """R1: 12 closed deals in the last 12 months, 6 won at ¥300,000 after 30 days (one of them on 10 October, in Q4),
    6 lost. Qualified → Won 6 of 12 (50 %), Proposal → Won 6 of 9 (66.7 %), Negotiation → Won 6 of 6 (100 %).
    Quota ¥3,000,000 for Q4: ¥2,700,000 left = 9 wins. Open: 2 in Qualified closing 1 Dec (¥100,000 each), 1 in
    Proposal closing in February. 8 activities for the 4 deals created in the last 12 weeks: 2 a new one.
    R2 (the teammate): nothing closed, quota ¥600,000. R3 (other team): 10 closed, 4 won at ¥250,000 that skipped
    Proposal, 6 lost in Proposal (Proposal → Won 0 %); quota ¥1,000,000."""
    rep, full = cast["rep"], ("Qualified", "Proposal", "Negotiation")
    for index in range(5):
        closed(rep, stages, won=True, via=full, created=date(2026, 6, 1 + index), closed_on=date(2026, 7, 1 + index))
    closed(rep, stages, won=True, via=full, created=date(2026, 9, 10), closed_on=date(2026, 10, 10))
    for index in range(6):
        via = ("Qualified",) if index < 3 else ("Qualified", "Proposal")
        closed(rep, stages, won=False, via=via, created=date(2026, 5, 1), closed_on=date(2026, 5, 20 + index))
    for _ in range(2):
        OpportunityFactory(owner=rep, stage=stages["Qualified"], amount=Decimal(100_000),
                           expected_close_date=date(2026, 12, 1))  # fmt: skip
    OpportunityFactory(owner=rep, stage=stages["Proposal"], amount=Decimal(100_000),
                       expected_close_date=date(2027, 2, 1))  # fmt: skip
    visits(rep, 8)
    quota(rep, 3_000_000)
    quota(cast["teammate"], 600_000)
    other = cast["other_rep"]
    for index in range(4):
        closed(other, stages, won=True, via=("Qualified", "Negotiation"), created=date(2026, 7, 1 + index),
               closed_on=date(2026, 8, 1 + index), amount=250_000)  # fmt: skip
    for index in range(6):
        closed(other, stages, won=False, via=("Qualified", "Proposal"), created=date(2026, 7, 1),
               closed_on=date(2026, 8, 10 + index))  # fmt: skip
    quota(other, 1_000_000)
    return cast


def plan_url(person) -> str:
    return reverse("planning:person_plan", args=[person.pk])


def team_url(team) -> str:
    return reverse("planning:team_plan", args=[team.pk])


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response


# --- who may open which plan ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "whose", "status"),
    [("rep", "rep", 200), ("rep", "teammate", 404), ("rep", "manager", 404), ("rep", "other_rep", 404),
     ("manager", "rep", 200), ("manager", "manager", 200), ("manager", "other_rep", 404), ("admin", "other_rep", 200),
     ("admin", "rep", 200)],
)  # fmt: skip
def test_a_persons_plan_follows_the_visibility_rule(viewer, whose, status, cast, stages, client_for):
    response = client_for(cast[viewer]).get(plan_url(cast[whose]))
    assert response.status_code == status
    if status == 404:
        assert str(cast[whose]) not in response.content.decode()
        assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, object_id=str(cast[whose].pk)).exists()


@pytest.mark.parametrize(
    ("viewer", "whose", "status"),
    [("rep", "rep", 403), ("manager", "rep", 200), ("manager", "other_rep", 404), ("other_manager", "other_rep", 200),
     ("admin", "rep", 200), ("admin", "other_rep", 200)],
)  # fmt: skip
def test_a_teams_plan_is_its_managers_and_the_admins(viewer, whose, status, cast, stages, client_for):
    response = client_for(cast[viewer]).get(team_url(cast[whose].team))
    assert response.status_code == status
    if status == 404:
        assert cast[whose].team.name not in response.content.decode()


def test_the_pages_only_read_a_post_changes_nothing(cast, stages, client_for, client):
    quotas = list(Quota.objects.values())
    team1, team2 = team_url(cast["rep"].team), team_url(cast["other_rep"].team)
    posts = [("rep", plan_url(cast["rep"]), 405), ("rep", plan_url(cast["teammate"]), 405),
             ("manager", plan_url(cast["rep"]), 405), ("rep", team1, 403), ("manager", team1, 405),
             ("admin", team1, 405), ("manager", team2, 405)]  # fmt: skip
    for viewer, url, status in posts:
        assert client_for(cast[viewer]).post(url, {"amount": "1"}).status_code == status, (viewer, url)
    for url in (plan_url(cast["rep"]), team_url(cast["rep"].team)):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("reps:login"))
        assert client.post(url).status_code == 302
    assert list(Quota.objects.values()) == quotas


def test_an_unknown_person_or_team_is_404_without_an_audit_row(cast, stages, client_for):
    client = client_for(cast["admin"])
    assert client.get(reverse("planning:person_plan", args=[99999])).status_code == 404
    assert client.get(reverse("planning:team_plan", args=[99999])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).exists()


# --- what the plan says ------------------------------------------------------------------------------------------


def test_the_reps_plan_from_their_own_history(world, client_for):
    response = page(client_for(world["rep"]), plan_url(world["rep"]))
    plan, content = response.context["plan"], response.content.decode()
    assert (plan.history.level, plan.remaining, plan.average_won, plan.wins) == ("rep", 2_700_000, 300_000, 9)
    assert [(step.name, step.rate, step.needed, step.open_now, step.can_close, step.short) for step in plan.steps] == [
        ("Qualified", Decimal("50.0"), 18, 2, 2, 16),
        ("Proposal", Decimal("66.7"), 14, 1, 0, 14),
        ("Negotiation", Decimal("100.0"), 9, 0, 0, 9),
    ]
    # 60 days − 30 days' cycle = 30 days = 4.3 weeks; 16 ÷ 4.3 = 3.8 a week; × 2 visits a new one = 7.6
    weekly = (plan.days_left, plan.weeks, plan.new_per_week, plan.visits_per_week)
    assert weekly == (60, Decimal("4.3"), Decimal("3.8"), Decimal("7.6"))
    assert "own history: 12 closed deals in this pipeline in the last 12 months." in content
    assert "¥2,700,000 left to win ÷ ¥300,000 average won deal = 9 wins." in content
    assert "9 wins ÷ 66.7% Proposal → Won = 13.49, rounded up to 14 at Proposal or beyond." in content
    assert "18 needed at Qualified or beyond − 2 open that can close by 12/31/2026 = 16 new opportunities." in content
    assert (
        "2 visits per new opportunity (8 activities ÷ 4 new opportunities in the last 12 weeks) × 3.8 = 7.6" in content
    )
    assert content.count('class="table-danger"') == 3  # every stage is short
    # ¥20,000 weighted (two ¥100,000 deals at 10 %) of ¥2,700,000 left: 0 %, below 70 %
    assert plan.at_risk and "= 0% of what is left, below 70%: the quota is at risk." in content


def test_little_history_falls_back_to_the_team_and_says_so(world, client_for):
    response = page(client_for(world["manager"]), plan_url(world["teammate"]))
    plan, content = response.context["plan"], response.content.decode()
    assert (plan.history.level, plan.history.closed, plan.wins) == ("team", 12, 2)
    name = str(world["teammate"])
    assert f"{name} has 0 closed deals in this pipeline in the last 12 months, fewer than 10." in content
    assert "The team&#x27;s history is used: 12 closed deals." in content
    assert "Stage → Won (team)" in content


def test_without_a_team_history_the_whole_pipeline_is_used(world, stages, client_for):
    newcomer = UserFactory(team=TeamFactory(name="T3"))
    quota(newcomer, 900_000)
    plan = page(client_for(world["admin"]), plan_url(newcomer)).context["plan"]
    assert (plan.history.level, plan.history.closed) == ("pipeline", 22)  # R1's 12 and R3's 10


def test_a_stage_that_never_converted_cannot_be_computed(world, client_for):
    response = page(client_for(world["admin"]), plan_url(world["other_rep"]))
    plan, content = response.context["plan"], response.content.decode()
    assert (plan.history.level, plan.wins) == ("rep", 4)  # ¥1,000,000 ÷ ¥250,000
    assert [(step.rate, step.needed) for step in plan.steps] == [(Decimal("40.0"), 10), (Decimal("0.0"), None),
                                                                 (Decimal("100.0"), 4)]  # fmt: skip
    assert "Proposal → Won is 0% over 6 closed deals: what Proposal needs cannot be computed." in content


def test_no_quota_says_so_and_who_may_set_it(world, client_for):
    Quota.objects.filter(user=world["rep"]).delete()
    by_manager = page(client_for(world["manager"]), plan_url(world["rep"])).content.decode()
    assert "No quota is set for" in by_manager and reverse("planning:quota_grid") in by_manager
    by_rep = page(client_for(world["rep"]), plan_url(world["rep"])).content.decode()
    assert "Quotas are set by the team's manager or an admin." in by_rep
    assert 'data-testid="plan-set-quota"' not in by_rep
    assert "Qualified" in by_rep  # the funnel and its history still show


def test_a_met_quota_needs_nothing_more(world, stages, client_for):
    Quota.objects.filter(user=world["rep"]).update(amount=Decimal(300_000))  # the October win meets it
    response = page(client_for(world["rep"]), plan_url(world["rep"]))
    assert response.context["plan"].status == "met"
    content = response.content.decode()
    assert "Quota met: ¥300,000 won of ¥300,000." in content and "The arithmetic" not in content
    Quota.objects.filter(user=world["rep"]).update(amount=Decimal(200_000))  # exceeded: nothing left, not less
    content = page(client_for(world["rep"]), plan_url(world["rep"])).content.decode()
    assert 'data-testid="plan-left">¥0<' in content and "-100,000" not in content


def test_a_monthly_quota_can_be_chosen_beside_the_quarter(world, client_for):
    Quota.objects.create(user=world["rep"], period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
                         amount=Decimal(900_000), updated_by=world["manager"])  # fmt: skip
    client = client_for(world["rep"])
    assert page(client, plan_url(world["rep"])).context["plan"].quota == 3_000_000  # the longest first
    month = page(client, plan_url(world["rep"]) + "?period=month").context["plan"]
    assert (month.quota, month.days_left, month.wins) == (900_000, 29, 3)


def test_the_teams_plan_adds_up_its_members_quotas(world, client_for):
    response = page(client_for(world["manager"]), team_url(world["rep"].team))
    plan = response.context["plan"]
    assert (plan.quota, plan.won, plan.history.level) == (3_600_000, 300_000, "team")
    rows = {str(row["person"]): row for row in response.context["people"]}
    assert rows[str(world["rep"])]["at_risk"] and rows[str(world["manager"])]["row"] is None
    assert plan_url(world["teammate"]) in response.content.decode()


# --- query counts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [0, 30])
def test_a_persons_plan_reads_a_fixed_number_of_queries(extra, world, stages, client_for, django_assert_num_queries):
    for index in range(extra):
        OpportunityFactory(owner=world["rep"], stage=stages[("Qualified", "Proposal")[index % 2]])
    client = client_for(world["rep"])
    page(client, plan_url(world["rep"]))  # folds the deals into the rollup
    cache.clear()
    # session, user, the person with their team; pipelines, the rollup's state; quotas in force, their people, won,
    # weighted; the team's members, the open stages, closed deals per level (the rollup), the stage history, the
    # activities, open deals per stage; the threshold
    with django_assert_num_queries(16):
        page(client, plan_url(world["rep"]))


@pytest.mark.parametrize("members", [2, 12])
def test_a_teams_plan_reads_a_fixed_number_of_queries(members, world, stages, client_for, django_assert_num_queries):
    for _ in range(members):
        person = UserFactory(team=world["rep"].team)
        quota(person, 200_000)
        OpportunityFactory(owner=person, stage=stages["Proposal"])
    client = client_for(world["manager"])
    page(client, team_url(world["rep"].team))
    cache.clear()
    # session, user, the team; pipelines, the rollup's state; the members; quotas in force, their people, won,
    # weighted; the open stages, closed deals per level, the stage history, the activities, open deals per stage;
    # the threshold
    with django_assert_num_queries(16):
        page(client, team_url(world["rep"].team))


# --- links, the CSV and the threshold ------------------------------------------------------------------------


def test_the_dashboard_and_the_home_page_link_to_the_plans(world, client_for):
    dashboard = page(client_for(world["manager"]), reverse("insights:dashboard")).content.decode()
    assert plan_url(world["rep"]) in dashboard and team_url(world["rep"].team) in dashboard
    home = page(client_for(world["rep"]), reverse("funnel:home")).content.decode()
    assert plan_url(world["rep"]) in home
    Quota.objects.filter(user=world["rep"]).delete()
    assert plan_url(world["rep"]) in page(client_for(world["rep"]), reverse("funnel:home")).content.decode()


def test_the_per_rep_csv_holds_the_quota_and_its_attainment(world, client_for):
    response = client_for(world["manager"]).get(reverse("insights:dashboard_export"),
                                                {"table": "reps", "period": "quarter", "sort": "name"})  # fmt: skip
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    start = rows[0].index("Quota")
    assert rows[0][start - 1 : start + 2] == ["Average cycle (days)", "Quota", "Attainment (%)"]
    by_name = {row[0]: row[start : start + 2] for row in rows[1:]}
    assert by_name[str(world["rep"])] == ["3000000.00", "10.0"]  # ¥300,000 won of ¥3,000,000
    assert by_name[str(world["teammate"])] == ["600000.00", "0.0"]
    assert str(world["other_rep"]) not in by_name


def test_the_admin_sets_the_quota_at_risk_threshold_and_it_is_audited(cast, stages, client_for):
    client = client_for(cast["admin"])
    response = client.post(reverse("configuration:health_settings"),
                           {"working_days": ["0", "1", "2", "3", "4"], "quota_risk_percent": "55"})  # fmt: skip
    assert response.status_code == 302
    assert HealthSettings.current().quota_risk_percent == 55
    event = AuditEvent.objects.get(action=AuditAction.CONFIG_CHANGED)
    assert event.detail == {"quota_risk_percent": [70, 55]}
    for wrong in ("101", "-1", "", "half"):
        refused = client.post(reverse("configuration:health_settings"),
                              {"working_days": ["0"], "quota_risk_percent": wrong})  # fmt: skip
        assert refused.status_code == 200 and "Enter a percentage from 0 to 100." in refused.content.decode()
    assert HealthSettings.current().quota_risk_percent == 55 and HealthSettings.current().working_days == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert (
        'name="quota_risk_percent" value="55"' in client.get(reverse("configuration:health_settings")).content.decode()
    )


@pytest.mark.parametrize("value", ["", "abc", "0", "-1", "99999999999999999999", "1e400", "quarter'--", "²", "月"])
def test_odd_parameters_fall_back_to_the_defaults(value, world, client_for):
    response = client_for(world["rep"]).get(plan_url(world["rep"]), {"pipeline": value, "period": value})
    assert response.status_code == 200  # (a NUL byte is refused before any view: tests/test_nul_bytes.py)
    assert response.context["pipeline"].is_default and response.context["plan"].quota == 3_000_000
