"""Opportunity list and detail: scope, 404 for what is out of scope, audit, query budgets."""

import pytest
from django.urls import reverse

from funnel.models import Opportunity
from reps.models import AuditAction, AuditEvent
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def detail_url(opportunity) -> str:
    return reverse("opportunities:detail", args=[opportunity.pk])


@pytest.fixture
def deals(cast, pipeline):
    return {name: OpportunityFactory(owner=user, name=f"{name}-deal") for name, user in cast.items()}


def test_rep_can_open_own_opportunity(client_for, rep, deals):
    response = client_for(rep).get(detail_url(deals["rep"]))
    assert response.status_code == 200
    assert b"rep-deal" in response.content


def test_rep_gets_404_for_teammates_opportunity_and_it_is_audited(client_for, rep, deals):
    """QUALITY S1."""
    response = client_for(rep).get(detail_url(deals["teammate"]))
    assert response.status_code == 404
    assert b"teammate-deal" not in response.content
    event = AuditEvent.objects.get(action=AuditAction.ACCESS_DENIED)
    assert (event.actor, event.object_id) == (rep, str(deals["teammate"].pk))


def test_manager_gets_404_for_other_teams_opportunity(client_for, manager, deals):
    """QUALITY S3."""
    assert client_for(manager).get(detail_url(deals["other_rep"])).status_code == 404


def test_manager_can_open_team_members_opportunity(client_for, manager, deals):
    assert client_for(manager).get(detail_url(deals["teammate"])).status_code == 200


def test_admin_can_open_any_opportunity(client_for, admin_user, deals):
    assert client_for(admin_user).get(detail_url(deals["other_rep"])).status_code == 200


def test_missing_opportunity_is_404_without_audit(client_for, rep, deals):
    assert client_for(rep).get(reverse("opportunities:detail", args=[999999])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).exists()


def test_anonymous_is_sent_to_login(client, deals):
    response = client.get(reverse("opportunities:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("reps:login"))


@pytest.mark.parametrize(
    "params",
    [
        {"owner": "r2"},
        {"team": "T2"},
        {"owner__in": "1,2,3,4,5,6"},
        {"ordering": "password"},
        {"q": "' OR 1=1--"},
        {"q": "deal", "page": "2"},
        {"page": "-1"},
    ],
)
def test_list_shows_only_own_rows_whatever_the_parameters(client_for, rep, deals, params):
    """QUALITY S4, S25: parameters never widen the scope and are treated as literals."""
    response = client_for(rep).get(reverse("opportunities:list"), params)
    assert response.status_code == 200
    shown = {opportunity.name for opportunity in response.context["rows"]}
    # Exactly the rep's own row: an empty page would hide a broken list as well as a safe one.
    expected = set() if params.get("q") == "' OR 1=1--" else {"rep-deal"}
    assert shown == expected
    assert response.context["count"] == len(expected) <= Opportunity.objects.filter(owner=rep).count()


def test_list_search_matches_name_or_customer(client_for, rep, pipeline):
    OpportunityFactory(owner=rep, name="Warehouse robots", account__name="Huaxin Steel")
    OpportunityFactory(owner=rep, name="ERP upgrade", account__name="Pearl River Power")
    client = client_for(rep)
    assert [o.name for o in client.get("/opportunities/", {"q": "robots"}).context["rows"]] == ["Warehouse robots"]
    assert [o.name for o in client.get("/opportunities/", {"q": "pearl"}).context["rows"]] == ["ERP upgrade"]


def test_list_pages_through_every_row_once_with_a_cursor(client_for, rep, pipeline):
    made = {deal.pk for deal in OpportunityFactory.create_batch(30, owner=rep)}
    client = client_for(rep)
    first = client.get("/opportunities/").context
    second = client.get("/opportunities/", {"after": first["next_cursor"]}).context
    assert (len(first["rows"]), len(second["rows"]), first["count"]) == (25, 5, 30)
    assert second["next_cursor"] is None
    assert {deal.pk for deal in first["rows"] + second["rows"]} == made


def test_list_escapes_names(client_for, rep, pipeline):
    """QUALITY S22: stored markup renders as inert text."""
    OpportunityFactory(owner=rep, name="<script>alert(1)</script>", account__name="<img src=x onerror=alert(1)>")
    content = client_for(rep).get("/opportunities/").content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<img src=x" not in content


@pytest.mark.parametrize("rows", [1, 50])
def test_list_query_count_does_not_grow_with_rows(client_for, manager, rep, pipeline, rows, django_assert_num_queries):
    """QUALITY G-C3: the same number of queries for 1 and 50 rows."""
    OpportunityFactory.create_batch(rows, owner=rep)
    client = client_for(manager)
    client.get("/opportunities/")  # warm the session
    # session, user with their team (navbar), the open stages' stall days (the "Stalled" badge), rows, count, 9 filter
    # and bulk-action choice lists (the territories and the campaigns too)
    with django_assert_num_queries(14):
        assert client.get("/opportunities/").status_code == 200


@pytest.mark.parametrize("changes", [1, 20])
def test_detail_query_count_does_not_grow_with_history(client_for, rep, pipeline, changes, django_assert_num_queries):
    from tests.factories import StageChangeFactory

    deal = OpportunityFactory(owner=rep)
    StageChangeFactory.create_batch(changes, opportunity=deal, by=rep)
    client = client_for(rep)
    client.get(detail_url(deal))
    # session, user with their team (navbar), opportunity, 5 action-form choice lists, stage history, activities
    # (the daily log's timeline hook), whether it is stalled (the stages' stall days, then the deal)
    with django_assert_num_queries(11):
        assert client.get(detail_url(deal)).status_code == 200
