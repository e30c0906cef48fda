"""The data-quality score on the pages: the scorecard list and a rep's page (who may open which, both ways), the
rep's home card with what would raise the score, the review page's and the dashboard's column (and its CSV), the
opportunity list's ?quality= filter the links lead to, and query counts that do not grow with the rows."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activity_log import quality
from activity_log.models import Activity, ActivityKind, DailyLog, QualityScore
from reps.models import AuditAction, AuditEvent, Role
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


PARTS = {
    "complete": {"deal_close_date": [3, 4], "customer_contact": [1, 2], "activity_outcome": [5, 5]},
    "true": {"moves_in_order": [9, 10]},
    "continuous": {"logs_submitted": [15, 20], "deal_gaps": [0, 0]},
}


def scored(rep, week: date | None = None, complete: int = 60, true: int = 90, continuous: int = 75, parts=None):
    """A stored score for the rep's week (default: this week), with parts as the refresh writes them."""
    return QualityScore.objects.create(rep=rep, week=week or quality.week_of(timezone.now()), complete=complete,
                                       true=true, continuous=continuous, parts=parts or PARTS)  # fmt: skip


def text(response) -> str:
    return response.content.decode()


def queries(run) -> int:
    with CaptureQueriesContext(connection) as context:
        run()
    return len(context.captured_queries)


# --- Who may open which page ------------------------------------------------------------------------------


def test_the_list_shows_a_manager_their_teams_reps_only(client_for, cast):
    for person in ("rep", "teammate", "other_rep"):
        scored(cast[person])
    page = client_for(cast["manager"]).get(reverse("log:quality"))
    assert page.status_code == 200
    shown = [view.rep.username for view, _trends in page.context["rows"]]
    assert shown == ["r1", "r2"]
    assert 'data-testid="quality-row-r3"' not in text(page)


def test_the_list_shows_an_admin_every_rep_and_narrows_to_a_team(client_for, cast, team2):
    page = client_for(cast["admin"]).get(reverse("log:quality"))
    assert [view.rep.username for view, _trends in page.context["rows"]] == ["r1", "r2", "r3"]
    page = client_for(cast["admin"]).get(reverse("log:quality"), {"team": team2.pk})
    assert [view.rep.username for view, _trends in page.context["rows"]] == ["r3"]


def test_the_list_pages_by_username(client_for, cast, monkeypatch):
    monkeypatch.setattr("activity_log.scorecard.views.PAGE_SIZE", 2)
    client = client_for(cast["admin"])
    first = client.get(reverse("log:quality"))
    assert [view.rep.username for view, _trends in first.context["rows"]] == ["r1", "r2"]
    second = client.get(reverse("log:quality"), {"after": first.context["after"]})
    assert [view.rep.username for view, _trends in second.context["rows"]] == ["r3"]
    assert second.context["after"] is None
    assert client.get(reverse("log:quality"), {"after": "not-a-cursor"}).status_code == 200  # the first page


def test_a_manager_asking_for_another_team_gets_404_and_an_audit_row(client_for, cast, team2):
    response = client_for(cast["manager"]).get(reverse("log:quality"), {"team": team2.pk})
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, object_id=str(team2.pk)).exists()


def test_a_rep_is_sent_from_the_list_to_their_own_page(client_for, cast):
    response = client_for(cast["rep"]).get(reverse("log:quality"))
    assert response.status_code == 302
    assert response["Location"] == reverse("log:quality_rep", args=[cast["rep"].pk])


@pytest.mark.parametrize(
    ("viewer", "owner", "status"),
    [
        ("rep", "rep", 200),
        ("rep", "teammate", 404),
        ("manager", "rep", 200),
        ("manager", "other_rep", 404),
        ("other_manager", "other_rep", 200),
        ("admin", "other_rep", 200),
    ],
)
def test_a_reps_page_opens_for_who_may_see_the_rep(client_for, cast, viewer, owner, status):
    scored(cast[owner])
    response = client_for(cast[viewer]).get(reverse("log:quality_rep", args=[cast[owner].pk]))
    assert response.status_code == status
    if status == 404:
        assert cast[owner].get_full_name() not in text(response)
        assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, object_id=str(cast[owner].pk)).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, cast):
    for url in (reverse("log:quality"), reverse("log:quality_rep", args=[cast["rep"].pk])):
        assert client.get(url).status_code == 302


@pytest.mark.parametrize("name", ["log:quality", "log:quality_rep"])
def test_the_pages_only_read(client_for, cast, name):
    args = [cast["rep"].pk] if name == "log:quality_rep" else []
    assert client_for(cast["manager"]).post(reverse(name, args=args)).status_code == 405


# --- What a page says ---------------------------------------------------------------------------------------


def test_a_reps_page_shows_every_part_with_its_numbers_and_the_weakest_first(client_for, cast):
    scored(cast["rep"])
    page = client_for(cast["rep"]).get(reverse("log:quality_rep", args=[cast["rep"].pk]))
    body = text(page)
    assert 'data-testid="quality-complete">60<' in body
    assert "3 of 4 · 75%" in body and "9 of 10 · 90%" in body
    weakest = [part.key for part in page.context["view"].weakest()]
    assert weakest == ["customer_contact", "logs_submitted", "deal_close_date"]  # 50 %, 75 % (5 to fix), 75 %
    assert "What would raise my score" in body
    assert "nothing to judge" in body  # deal_gaps: [0, 0]


def test_a_reps_page_lists_the_records_that_count_against_a_part(client_for, cast, stages):
    rep = cast["rep"]
    rep.date_joined = datetime(2026, 1, 5, tzinfo=UTC)
    rep.save()
    bare = AccountFactory(owner=rep, name="Customer without anyone")
    ContactFactory(account=AccountFactory(owner=rep, name="Customer with a buyer"))
    log = DailyLog.objects.create(rep=rep, date=timezone.localdate() - timedelta(days=1))
    Activity.objects.create(daily_log=log, kind=ActivityKind.objects.first(), account=bare, outcome="ok",
                            when=timezone.now() - timedelta(days=1))  # fmt: skip
    quality.refresh_quality_scores()
    page = client_for(cast["manager"]).get(reverse("log:quality_rep", args=[rep.pk]))
    records = page.context["records"]
    assert [account.name for account in records["customer_contact"]] == ["Customer without anyone"]
    assert [activity.outcome for activity in records["activity_outcome"]] == ["ok"]
    assert 'id="part-customer_contact"' in text(page)
    assert "Customer with a buyer" not in text(page)


def test_a_past_week_filled_in_from_history_is_marked(client_for, cast):
    scored(cast["rep"])
    past = quality.week_of(timezone.now()) - timedelta(weeks=2)
    scored(cast["rep"], week=past, complete=40, parts={**PARTS, "history": True})
    page = client_for(cast["rep"]).get(reverse("log:quality_rep", args=[cast["rep"].pk]))
    values = {trend.key: trend.values for trend in page.context["trends"]}
    assert values["complete"] == [None] * 5 + [40, None, 60]  # the weeks without a score are gaps
    assert "filled in from history" in text(page)


def test_a_rep_without_a_score_yet_is_told_so(client_for, cast):
    page = client_for(cast["rep"]).get(reverse("log:quality_rep", args=[cast["rep"].pk]))
    assert 'data-testid="quality-none"' in text(page)


# --- The rep's home card -------------------------------------------------------------------------------------


def test_a_reps_home_shows_the_three_numbers_and_what_would_raise_them(client_for, cast):
    scored(cast["rep"])
    body = text(client_for(cast["rep"]).get("/"))
    assert 'data-testid="home-quality-true">90<' in body
    assert 'href="/opportunities/?quality=no_close_date"' in body  # their own deals: no owner in the link
    assert f'href="/log/quality/{cast["rep"].pk}/#part-customer_contact"' in body
    assert f'href="/log/quality/{cast["rep"].pk}/#part-logs_submitted"' in body


def test_a_perfect_record_has_nothing_to_raise(client_for, cast):
    scored(cast["rep"], complete=100, true=100, continuous=100, parts={"complete": {"deal_amount": [4, 4]}})
    assert "Nothing to raise: every part is at 100." in text(client_for(cast["rep"]).get("/"))


def test_the_home_card_is_for_reps_with_a_score(client_for, cast):
    scored(cast["rep"])
    assert 'data-testid="home-quality"' not in text(client_for(cast["teammate"]).get("/"))  # no score yet
    assert 'data-testid="home-quality"' not in text(client_for(cast["manager"]).get("/"))


def test_the_link_lists_exactly_the_open_deals_the_part_counts_against(client_for, cast, stages):
    rep = cast["rep"]
    dated = OpportunityFactory(owner=rep, stage=stages["Proposal"], expected_close_date=date(2027, 1, 31))
    undated = OpportunityFactory(owner=rep, stage=stages["Proposal"], name="Undated deal")
    OpportunityFactory(owner=rep, stage=stages["Won"], name="Closed undated deal")
    OpportunityFactory(owner=cast["teammate"], stage=stages["Proposal"], name="Teammate's undated deal")
    quality.refresh_quality_scores()
    score = QualityScore.objects.get(rep=rep)
    assert score.parts["complete"]["deal_close_date"] == [1, 2]
    page = client_for(cast["manager"]).get(reverse("opportunities:list"), {"quality": "no_close_date", "owner": rep.pk})
    assert [deal.pk for deal in page.context["rows"]] == [undated.pk]
    assert dated.name not in text(page)


@pytest.mark.parametrize(
    ("gap", "passing", "failing"),
    [
        ("no_amount", {"amount": Decimal(1)}, {"amount": Decimal(0)}),
        ("no_contact", {"contact": True}, {}),
        ("no_next_step", {"next_step": "Call", "next_step_date": date(2027, 1, 4)}, {"next_step": "Call"}),
        ("overridden", {}, {"probability_override": 35}),
    ],
)
def test_each_quality_filter_lists_the_deals_lacking_and_not_the_others(
    client_for, cast, stages, gap, passing, failing
):
    rep = cast["rep"]
    if passing.get("contact"):
        passing = {"contact": ContactFactory(account=AccountFactory(owner=rep))}
    kept = OpportunityFactory(owner=rep, stage=stages["Proposal"], **failing)
    OpportunityFactory(owner=rep, stage=stages["Proposal"], **passing)
    page = client_for(rep).get(reverse("opportunities:list"), {"quality": gap})
    assert [deal.pk for deal in page.context["rows"]] == [kept.pk]


# --- Managers: the review page and the dashboard ------------------------------------------------------------


def test_the_review_page_shows_each_reps_numbers(client_for, cast):
    scored(cast["rep"], complete=61, true=72, continuous=83)
    page = text(client_for(cast["manager"]).get(reverse("log:review")))
    assert "61/72/83" in page
    assert page.count('data-testid="review-quality"') == 2  # r1 with a score, r2 with none


def test_the_dashboard_has_a_column_and_the_csv_three(client_for, cast, stages):
    OpportunityFactory(owner=cast["rep"], stage=stages["Proposal"])
    OpportunityFactory(owner=cast["teammate"], stage=stages["Proposal"])
    scored(cast["rep"], complete=61, true=72, continuous=83)
    scored(cast["other_rep"], complete=11, true=12, continuous=13)
    client = client_for(cast["manager"])
    response = client.get(reverse("insights:dashboard"))
    cells = {row["owner"]: row["columns"][0]["cell"] for row in response.context["reps"]}
    assert cells[cast["rep"].pk]["score"].complete == 61 and cells.get(cast["teammate"].pk) is None
    assert cast["other_rep"].pk not in cells
    page = text(response)
    assert "</span>61</span>" in page and "</span>83</span>" in page and "</span>11</span>" not in page
    rows = list(csv.reader(io.StringIO(client.get(reverse("insights:dashboard_export")).content.decode("utf-8-sig"))))
    header = rows[0]
    assert header[-3:] == ["Data quality: complete", "Data quality: true", "Data quality: continuous"]
    by_rep = {row[0]: row[-3:] for row in rows[1:]}
    assert by_rep[cast["rep"].get_full_name()] == ["61", "72", "83"]
    assert by_rep[cast["teammate"].get_full_name()] == ["", "", ""]


# --- Query counts --------------------------------------------------------------------------------------------


def test_the_list_reads_a_fixed_number_of_queries(client_for, cast, team1):
    client = client_for(cast["manager"])
    client.get(reverse("log:quality"))
    few = queries(lambda: client.get(reverse("log:quality")))
    for _ in range(6):
        rep = UserFactory(role=Role.REP, team=team1)
        for weeks in range(3):
            scored(rep, week=quality.week_of(timezone.now()) - timedelta(weeks=weeks))
    # session, user, the teams to choose from, the page of reps, their scores of the eight weeks
    assert queries(lambda: client.get(reverse("log:quality"))) == few == 5


def test_a_reps_page_reads_a_fixed_number_of_queries(client_for, cast, stages):
    rep = cast["rep"]
    scored(rep)
    client = client_for(cast["manager"])
    client.get(reverse("log:quality_rep", args=[rep.pk]))
    few = queries(lambda: client.get(reverse("log:quality_rep", args=[rep.pk])))
    for _ in range(12):
        deal = OpportunityFactory(owner=rep, stage=stages["Proposal"])
        log, _created = DailyLog.objects.get_or_create(rep=rep, date=timezone.localdate())
        kind = ActivityKind.objects.first()
        Activity.objects.create(daily_log=log, kind=kind, account=deal.account, opportunity=deal, outcome="ok",
                                when=timezone.now())  # fmt: skip
        AccountFactory(owner=rep)
    # session, user, the rep, the eight weeks' scores; the lists: stages, customers, three of activities, close
    # dates, two of moves, gaps, deals not worked, the submitted days and the working days
    assert queries(lambda: client.get(reverse("log:quality_rep", args=[rep.pk]))) == few == 16
