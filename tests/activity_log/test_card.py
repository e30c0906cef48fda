"""The customer's transaction card: scope, details, one merged timeline newest first, printing, queries."""

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from activity_log import selectors, services
from activity_log.models import ActivityKind
from funnel.models import Account, Stage
from reps.models import AuditAction, AuditEvent
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory, StageChangeFactory

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def visit(rep, account, when, opportunity=None, outcome="Met the buyer"):
    data = {"kind": ActivityKind.objects.get(name="Visit"), "account": account, "opportunity": opportunity,
            "when": when, "outcome": outcome}  # fmt: skip
    with time_machine.travel(when + timedelta(minutes=1), tick=False):
        return services.activity_record(rep=rep, data=data)


def card(client, account):
    return client.get(reverse("log:card", args=[account.pk]))


def event_order(response) -> list[str]:
    return re.findall(r'data-testid="event-(activity-\d+|change-\d+)"', response.content.decode())


@pytest.fixture
def customer(rep, pipeline):
    """R1's customer with a contact, a deal and a history: two visits and two stage moves, interleaved."""
    account = AccountFactory(owner=rep, name="Hengda Glass", city="Suzhou")
    ContactFactory(account=account, name="Wang Li", title="Buyer")
    deal = OpportunityFactory(owner=rep, account=account, name="Furnace line", stage=Stage.objects.get(name="Proposal"))
    StageChangeFactory(
        opportunity=deal, from_stage=None, to_stage=Stage.objects.get(name="Qualified"), by=rep, at=START
    )
    visit(rep, account, START + timedelta(hours=1), deal, outcome="First visit")
    StageChangeFactory(opportunity=deal, from_stage=Stage.objects.get(name="Qualified"), to_stage=deal.stage, by=rep,
                       at=START + timedelta(hours=2))  # fmt: skip
    visit(rep, account, START + timedelta(hours=3), deal, outcome="Second visit")
    return account


def test_rep_sees_own_customers_card(rep, customer, client_for):
    response = card(client_for(rep), customer)
    assert response.status_code == 200
    content = response.content.decode()
    for text in ["Hengda Glass", "Suzhou", "Wang Li", "Buyer", "Furnace line", "Proposal", "40%", "First visit"]:
        assert text in content
    assert str(rep) in content


def test_timeline_merges_activities_and_stage_changes_newest_first(rep, customer, client_for):
    response = card(client_for(rep), customer)
    kinds = [event.split("-")[0] for event in event_order(response)]
    assert kinds == ["activity", "change", "activity", "change"]
    content = response.content.decode()
    assert content.index("Second visit") < content.index("First visit")
    assert "4 events, newest first." in content


def test_timeline_shows_who_and_when_in_the_viewers_time_zone(rep, manager, customer, client_for):
    manager.time_zone = "UTC"
    manager.save()
    assert "03:00" in card(client_for(manager), customer).content.decode()  # the first visit, 11:00 in Shanghai
    assert "11:00" in card(client_for(rep), customer).content.decode()


def test_rep_does_not_see_a_teammates_activity_on_a_shared_customer(rep, teammate, manager, pipeline, client_for):
    account = AccountFactory(owner=teammate, name="Shared Co")
    visit(teammate, account, START, outcome="Teammate's visit")
    Account.objects.filter(pk=account.pk).update(owner=rep)  # the customer was handed over to R1
    visit(rep, account, START + timedelta(hours=1), outcome="My own visit")
    mine = card(client_for(rep), account).content.decode()
    assert "My own visit" in mine and "Teammate&#x27;s visit" not in mine
    assert "1 event, newest first." in mine
    theirs = card(client_for(manager), account).content.decode()
    assert "My own visit" in theirs and "Teammate&#x27;s visit" in theirs


def test_rep_does_not_see_a_teammates_deal_or_its_stage_changes_on_own_customer(rep, teammate, pipeline, client_for):
    account = AccountFactory(owner=rep, name="Own Co")
    deal = OpportunityFactory(owner=teammate, account=account, name="Teammate deal")
    StageChangeFactory(opportunity=deal, by=teammate, at=START)
    content = card(client_for(rep), account).content.decode()
    assert "Teammate deal" not in content
    assert "0 events, newest first." in content


@pytest.mark.parametrize(("viewer", "owner"), [("rep", "teammate"), ("manager", "other_rep"), ("rep", "other_rep")])
def test_card_of_a_customer_out_of_view_is_404_with_an_audit_row(cast, pipeline, client_for, viewer, owner):
    account = AccountFactory(owner=cast[owner], name="Hidden Customer")
    response = card(client_for(cast[viewer]), account)
    assert response.status_code == 404
    assert b"Hidden Customer" not in response.content
    denial = AuditEvent.objects.get(action=AuditAction.ACCESS_DENIED)
    assert (denial.actor, denial.object_type, denial.object_id) == (cast[viewer], "funnel.account", str(account.pk))


@pytest.mark.parametrize("viewer", ["manager", "admin"])
def test_manager_and_admin_see_a_team_reps_card(cast, customer, client_for, viewer):
    response = card(client_for(cast[viewer]), customer)
    assert response.status_code == 200
    assert len(event_order(response)) == 4


def test_stored_text_is_escaped(rep, pipeline, client_for):
    account = AccountFactory(owner=rep, name="<script>alert(1)</script>")
    visit(rep, account, START, outcome='<img src=x onerror="alert(2)">')
    content = card(client_for(rep), account).content.decode()
    assert "<script>alert(1)" not in content and "<img src=x" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_timeline_is_capped_and_says_how_many_events_there_are(rep, customer):
    timeline = selectors.card_timeline(rep, customer, cap=3)
    assert [event.at for event in timeline.events] == [START + timedelta(hours=h) for h in (3, 2, 1)]
    assert (timeline.total, timeline.is_capped) == (4, True)
    assert selectors.card_timeline(rep, customer).is_capped is False


def test_capped_timeline_states_the_count_on_the_page(rep, customer, client_for, monkeypatch):
    monkeypatch.setattr(selectors, "TIMELINE_CAP", 2)
    content = card(client_for(rep), customer).content.decode()
    assert "The latest 2 of 4 events, newest first." in content


def test_card_links_the_print_stylesheet_and_script_without_inline_code(rep, customer, client_for):
    content = card(client_for(rep), customer).content.decode()
    assert re.search(r'<link rel="stylesheet" href="[^"]*css/print\.css" media="print">', content)
    assert re.search(r'<script src="[^"]*js/print\.js" defer></script>', content)
    assert "data-print" in content
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", content)  # every script is a file (CSP)
    assert "style=" not in content and "onclick" not in content


def test_print_stylesheet_hides_navigation_buttons_and_forms_and_prints_black_on_white():
    css = Path(finders.find("css/print.css")).read_text()
    for selector in ["nav", "footer", "form", ".btn", "[data-print]"]:
        assert re.search(rf"(^|\n|,\s*){re.escape(selector)}\s*[,{{]", css), selector
    assert "display: none !important" in css
    assert "color: #000" in css and "background: #fff" in css
    assert "break-inside: avoid" in css
    assert "window.print()" in Path(finders.find("js/print.js")).read_text()


# session, user with the menu's team, account, contacts, deals, activities, stage changes; the session's idle
# stamp (3).
CARD_QUERIES = 12  # includes the navigation's alert count and the bell's (each kept a minute in the session)


@pytest.mark.parametrize("extra", [0, 10])
def test_card_costs_a_fixed_number_of_queries(rep, customer, client_for, extra):
    deal = customer.opportunities.get()
    for n in range(extra):
        visit(rep, customer, START + timedelta(hours=4 + n), deal)
        ContactFactory(account=customer)
        StageChangeFactory(opportunity=deal, by=rep, at=START + timedelta(hours=4, minutes=n))
    client = client_for(rep)
    with CaptureQueriesContext(connection) as queries:
        response = card(client, customer)
    assert len(event_order(response)) == 4 + 2 * extra
    assert len(queries) == CARD_QUERIES, [q["sql"][:120] for q in queries]
