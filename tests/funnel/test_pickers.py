"""The pickers (funnel.search.pickers): one endpoint, scoped and limited; recent and planned records first; the choice
survives a refused save; without script, the text typed is the search."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from activity_log import services as log_services
from activity_log.models import Activity, ActivityKind
from funnel.models import Opportunity
from funnel.search.pickers import LIMIT
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


def pick(client, source: str, **params) -> str:
    return client.get(reverse("search:pick", args=[source]), params).content.decode()


def labels(html: str) -> list[str]:
    return [part.split(">", 1)[1].split("<", 1)[0] for part in html.split("<option")[1:]]


@pytest.fixture(autouse=True)
def _noon():
    with time_machine.travel(datetime(2026, 6, 1, 4, 0, tzinfo=UTC), tick=False):
        yield


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [("rep", {"Huaxin Steel"}), ("manager", {"Huaxin Steel", "Huaxin Glass"}),
     ("admin", {"Huaxin Steel", "Huaxin Glass", "Huaxin Chemicals"})],
)  # fmt: skip
def test_each_source_answers_only_what_the_user_may_see(cast, client_for, pipeline, viewer, sees):
    for owner, name in [("rep", "Huaxin Steel"), ("teammate", "Huaxin Glass"), ("other_rep", "Huaxin Chemicals")]:
        account = AccountFactory(owner=cast[owner], name=name)
        OpportunityFactory(owner=cast[owner], account=account, name=f"{name} line")
        ContactFactory(account=account, name=f"{name} buyer")
    client = client_for(cast[viewer])
    assert set(labels(pick(client, "customer", q="huaxin"))[1:]) == sees
    assert {label.split(" line")[0] for label in labels(pick(client, "opportunity", q="huaxin"))[1:]} == sees
    assert {label.split(" buyer")[0] for label in labels(pick(client, "contact", q="huaxin"))[1:]} == sees


def test_a_search_answers_at_most_the_limit_and_says_so(client_for, rep, pipeline):
    AccountFactory.create_batch(LIMIT + 5, owner=rep, name="Bench customer")
    html = pick(client_for(rep), "customer", q="bench")
    assert len(labels(html)) == LIMIT + 1  # the empty option first
    assert f"The first {LIMIT} matches: type more to narrow them." in html


def test_no_match_keeps_the_chosen_option(client_for, rep, pipeline):
    chosen = AccountFactory(owner=rep, name="Ningbo Port")
    html = pick(client_for(rep), "customer", field="account", account=chosen.pk, account__q="zzz")
    assert labels(html) == ["Choose…", "Ningbo Port"] and f'value="{chosen.pk}" selected' in html
    assert "No match for “zzz”." in html


def test_a_customers_deals_and_contacts_only_once_the_customer_is_known(client_for, rep, pipeline):
    account = AccountFactory(owner=rep, name="Ningbo Port")
    OpportunityFactory(owner=rep, account=account, name="Cranes")
    OpportunityFactory(owner=rep, name="Elsewhere")
    client = client_for(rep)
    assert labels(pick(client, "opportunity", field="opportunity", account=account.pk)) == ["Choose…", "Cranes"]
    assert labels(pick(client, "opportunity", field="opportunity")) == ["Choose…"]  # waits for the customer


def test_deactivated_people_only_where_a_form_asks_for_them(client_for, manager, rep, teammate):
    teammate.is_active = False
    teammate.save()
    client = client_for(manager)
    assert str(teammate) not in pick(client, "person")
    assert f"{teammate} (deactivated)" in pick(client, "person", all="1")


def test_unknown_sources_are_404_and_anonymous_users_sign_in(client, client_for, rep):
    assert client_for(rep).get(reverse("search:pick", args=["password"])).status_code == 404
    assert client.get(reverse("search:pick", args=["customer"])).status_code == 302


def test_todays_plan_and_the_latest_visits_are_offered_first(client_for, rep, pipeline):
    AccountFactory.create_batch(LIMIT + 5, owner=rep, name="Alpha customer")
    planned = AccountFactory(owner=rep, name="Zhejiang planned")
    visited = AccountFactory(owner=rep, name="Yunnan visited")
    kind = ActivityKind.objects.first()
    log = log_services.daily_log_get(rep=rep, day=log_services.local_today(rep))
    log_services.plan_item_add(rep=rep, log=log, data={"kind": kind, "account": planned})
    log_services.activity_record(
        rep=rep, data={"kind": kind, "account": visited, "when": datetime(2026, 5, 30, 3, tzinfo=UTC), "outcome": "x"}
    )
    client = client_for(rep)
    assert labels(pick(client, "customer"))[1:3] == ["Zhejiang planned", "Yunnan visited"]
    form_page = client.get(reverse("log:activity_new")).content.decode()
    customer_select = form_page.split('name="account"', 1)[1].split("</select>", 1)[0]
    assert labels(customer_select)[1:3] == ["Zhejiang planned", "Yunnan visited"]


def test_the_chosen_customer_survives_a_refused_save_with_its_label(client_for, rep, pipeline):
    AccountFactory.create_batch(LIMIT + 5, owner=rep, name="Alpha customer")
    chosen = AccountFactory(owner=rep, name="Zhejiang Steel")
    data = {"kind": ActivityKind.objects.first().pk, "account": chosen.pk, "when": "2026-06-01T10:00", "outcome": ""}
    response = client_for(rep).post(reverse("log:activity_new"), data)
    assert response.status_code == 422
    assert f'<option value="{chosen.pk}" selected>Zhejiang Steel</option>' in response.content.decode()


def visit(account_value="", **extra) -> dict:
    return {"kind": ActivityKind.objects.first().pk, "account": account_value, "when": "2026-06-01T10:00",
            "outcome": "Met them", "idempotency_key": "no-script", **extra}  # fmt: skip


def test_without_script_the_text_typed_is_the_choice_when_one_matches(client_for, rep, pipeline):
    account = AccountFactory(owner=rep, name="Ningbo Port")
    AccountFactory(owner=rep, name="Shanghai Port")
    response = client_for(rep).post(reverse("log:activity_new"), visit(account__q="ningbo"))
    assert response.status_code == 302
    assert Activity.objects.get().account == account


def test_without_script_several_matches_come_back_as_the_options(client_for, rep, pipeline):
    AccountFactory(owner=rep, name="Ningbo Port")
    AccountFactory(owner=rep, name="Shanghai Port")
    AccountFactory(owner=rep, name="Hangzhou Steel")
    response = client_for(rep).post(reverse("log:activity_new"), visit(account__q="port"))
    assert response.status_code == 422
    page = response.content.decode()
    assert "Several match “port”: choose one." in page
    assert labels(page.split('name="account"', 1)[1].split("</select>", 1)[0])[1:] == ["Ningbo Port", "Shanghai Port"]
    assert 'value="port"' in page  # the search box keeps the text
    assert not Activity.objects.exists()


def test_without_script_no_match_is_a_form_error(client_for, rep, cast, pipeline):
    AccountFactory(owner=cast["teammate"], name="Ningbo Port")  # not the rep's to choose
    response = client_for(rep).post(reverse("log:activity_new"), visit(account__q="ningbo"))
    assert response.status_code == 422
    assert "Nothing matches “ningbo”." in response.content.decode()


def test_a_chosen_option_wins_over_text_it_matches(client_for, rep, pipeline):
    """With script the search box keeps the text that found the option: that is not a new search."""
    AccountFactory(owner=rep, name="Ningbo Port")
    shanghai = AccountFactory(owner=rep, name="Shanghai Port")
    response = client_for(rep).post(reverse("log:activity_new"), visit(shanghai.pk, account__q="port"))
    assert response.status_code == 302
    assert Activity.objects.get().account == shanghai


def test_a_foreign_id_stays_refused(client_for, rep, cast, pipeline):
    foreign = AccountFactory(owner=cast["other_rep"], name="Secret")
    response = client_for(rep).post(reverse("log:activity_new"), visit(foreign.pk))
    assert response.status_code == 422
    assert "Secret" not in response.content.decode()


def test_the_picker_is_labelled_for_screen_readers(client_for, rep, pipeline):
    page = client_for(rep).get(reverse("log:activity_new")).content.decode()
    assert re.search(r'<label\s+for="id_account"', page)
    assert 'id="id_account__q"' in page and 'aria-controls="id_account"' in page
    assert 'aria-label="Search: Customer"' in page
    assert 'id="id_account__status" class="form-text picker-status" aria-live="polite"' in page


def test_people_pickers_filter_the_list_and_reassign(client_for, manager, rep, teammate, pipeline):
    deal = OpportunityFactory(owner=rep, name="Cranes")
    OpportunityFactory(owner=teammate, name="Belts")
    client = client_for(manager)
    page = client.get(reverse("opportunities:list"), {"owner": rep.pk}).content.decode()
    assert "Cranes" in page and "Belts" not in page
    response = client.post(
        reverse("opportunities:reassign", args=[deal.pk]), {"owner": teammate.pk, "version": deal.version}
    )
    assert response.status_code == 302
    assert Opportunity.objects.get(pk=deal.pk).owner == teammate


def test_a_manager_finds_a_rep_by_typing_and_never_another_teams(client_for, manager, rep, other_rep):
    client = client_for(manager)
    assert str(rep) in pick(client, "person", q=rep.username)
    assert labels(pick(client, "person", q=other_rep.username)) == ["Choose…"]


def test_the_day_page_offers_the_days_own_customers_in_the_plan_form(client_for, rep, pipeline):
    AccountFactory.create_batch(LIMIT + 5, owner=rep, name="Alpha customer")
    carried = AccountFactory(owner=rep, name="Zhejiang carried")
    log = log_services.daily_log_get(rep=rep, day=log_services.local_today(rep))
    log_services.plan_item_add(rep=rep, log=log, data={"kind": ActivityKind.objects.first(), "account": carried})
    page = client_for(rep).get(reverse("log:today")).content.decode()
    plan_form = page.split("/plan/", 1)[1]
    assert labels(plan_form.split('name="account"', 1)[1].split("</select>", 1)[0])[1] == "Zhejiang carried"


def test_a_new_person_is_found_without_being_listed(client_for, admin_user):
    UserFactory.create_batch(LIMIT + 5, first_name="Aaron")
    late = UserFactory(first_name="Zoe", last_name="Zhang")
    html = pick(client_for(admin_user), "person", q="zhang")
    assert labels(html)[1:] == ["Zoe Zhang"] and f'value="{late.pk}" selected' in html


def test_one_or_two_characters_match_the_start_of_names(client_for, rep, pipeline):
    """No trigram index can find two characters inside a million names: a short search reads their start."""
    AccountFactory(owner=rep, name="华为杭州")
    AccountFactory(owner=rep, name="杭州华为")
    client = client_for(rep)
    short = pick(client, "customer", q="华为")
    assert labels(short)[1:] == ["华为杭州"]
    assert "type three letters or more to search inside names" in short
    assert labels(pick(client, "customer", q="华为杭"))[1:] == ["华为杭州"]
    assert labels(pick(client, "customer", q="州华为"))[1:] == ["杭州华为"]


@pytest.mark.parametrize("query", ["%", "_", "x" * 10_000, "' OR 1=1--", "Ningbo%"])
def test_odd_searches_are_plain_text(client_for, rep, pipeline, query):
    AccountFactory(owner=rep, name="Ningbo Port")
    response = client_for(rep).get(reverse("search:pick", args=["customer"]), {"q": query})
    assert response.status_code == 200
    assert "Ningbo Port" not in response.content.decode()


def test_a_search_sorts_a_bounded_set_of_the_users_own_matches(client_for, rep, cast, pipeline, monkeypatch):
    """In a large table the matches sorted by name are at most CANDIDATES, all of them the user's."""
    monkeypatch.setattr("funnel.search.pickers.CANDIDATES", 2)
    for name in ["Delta harbour", "Alpha harbour", "Charlie harbour"]:
        AccountFactory(owner=rep, name=name)
    AccountFactory(owner=cast["teammate"], name="Aardvark harbour")
    found = labels(pick(client_for(rep), "customer", q="harbour"))[1:]
    assert len(found) == 2 and found == sorted(found)
    assert "Aardvark harbour" not in found
