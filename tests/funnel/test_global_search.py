"""The global search (funnel.search.finder, /search/ and the top bar's suggestions): what the user may see, and
nothing else, not even a count; Chinese text inside names from two characters; phones however written; ranked
whole name, then start, then anywhere; a constant number of queries."""

import re

import pytest
from django.urls import reverse

from funnel.search import finder
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def search(client, query: str, **params) -> str:
    response = client.get(reverse("search:results"), {"q": query, **params})
    assert response.status_code == 200
    return response.content.decode()


def suggest(client, query: str) -> str:
    response = client.get(reverse("search:suggest"), {"q": query})
    assert response.status_code == 200
    return response.content.decode()


def names(html: str, kind: str) -> list[str]:
    """The names listed in one kind's group of the results page, in order."""
    group = html.split(f'data-testid="search-group-{kind}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'class="fw-semibold">([^<]*)</a>', group)


def count(html: str, kind: str) -> str:
    return re.search(rf'data-testid="search-count-{kind}">([^<]*)<', html).group(1)


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [("rep", ["宁波港 R1"]), ("manager", ["宁波港 R1", "宁波港 R2"]),
     ("admin", ["宁波港 R1", "宁波港 R2", "宁波港 R3"])],
)  # fmt: skip
def test_each_kind_lists_and_counts_only_what_the_user_may_see(cast, client_for, pipeline, viewer, sees):
    for owner, name in [("rep", "宁波港 R1"), ("teammate", "宁波港 R2"), ("other_rep", "宁波港 R3")]:
        account = AccountFactory(owner=cast[owner], name=name)
        ContactFactory(account=account, name=name)
        OpportunityFactory(owner=cast[owner], account=account, name=name)
    html = search(client_for(cast[viewer]), "宁波")
    for kind in ("customer", "contact", "opportunity"):
        assert names(html, kind) == sees
        assert count(html, kind) == str(len(sees))
    listed = suggest(client_for(cast[viewer]), "宁波")
    assert all((name in listed) == (name in sees) for name in ["宁波港 R1", "宁波港 R2", "宁波港 R3"])


def test_a_deal_is_found_by_its_customers_name_only_when_the_deal_is_visible(cast, client_for, pipeline):
    theirs = AccountFactory(owner=cast["other_rep"], name="Zhoushan Shipyard")
    OpportunityFactory(owner=cast["rep"], account=theirs, name="Crane refit")
    OpportunityFactory(owner=cast["other_rep"], account=theirs, name="Dock lights")
    html = search(client_for(cast["rep"]), "Zhoushan")
    assert names(html, "opportunity") == ["Crane refit"]
    assert names(html, "customer") == []
    assert count(html, "customer") == "0"


@pytest.mark.parametrize("query", ["宁波", "波港", "港集团", "集团"])
def test_two_chinese_characters_or_more_find_a_name_that_holds_them(rep, client_for, query):
    AccountFactory(owner=rep, name="宁波港集团")
    AccountFactory(owner=rep, name="杭州钢铁")
    assert names(search(client_for(rep), query), "customer") == ["宁波港集团"]


def test_one_character_finds_names_that_start_with_it(rep, client_for):
    AccountFactory(owner=rep, name="宁波港集团")
    AccountFactory(owner=rep, name="浙江宁波")
    assert names(search(client_for(rep), "宁"), "customer") == ["宁波港集团"]


@pytest.mark.parametrize("query", ["13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "8000"])
def test_a_phone_is_found_however_it_is_written(rep, client_for, query):
    account = AccountFactory(owner=rep, name="Huaxin Steel", phone="+86 138-0013-8000")
    ContactFactory(account=account, name="Wang Lei", phone="(86) 13800138000")
    AccountFactory(owner=rep, name="Other Steel", phone="021 5555 1234")
    html = search(client_for(rep), query)
    assert names(html, "customer") == ["Huaxin Steel"]
    assert names(html, "contact") == ["Wang Lei"]


def test_a_contact_is_found_by_e_mail(rep, client_for):
    account = AccountFactory(owner=rep, name="Huaxin Steel")
    ContactFactory(account=account, name="Wang Lei", email="wang.lei@huaxin.example")
    ContactFactory(account=account, name="Li Na", email="li.na@other.example")
    assert names(search(client_for(rep), "huaxin.example"), "contact") == ["Wang Lei"]
    assert names(search(client_for(rep), "WANG.LEI@HUAXIN.EXAMPLE"), "contact") == ["Wang Lei"]


def test_whole_names_first_then_names_that_start_with_it_then_the_rest(rep, client_for):
    for name in ["宁波港口物流", "北仑宁波港", "宁波港", "Zz 宁波港", "宁波港口"]:
        AccountFactory(owner=rep, name=name)
    ranked = names(search(client_for(rep), "宁波港"), "customer")
    assert ranked == ["宁波港", "宁波港口", "宁波港口物流", "Zz 宁波港", "北仑宁波港"]


def test_the_results_page_reads_a_constant_number_of_queries(rep, client_for, pipeline, django_assert_max_num_queries):
    client = client_for(rep)
    for n in range(3):
        account = AccountFactory(owner=rep, name=f"Ningbo Port {n}")
        ContactFactory(account=account, name=f"Ningbo {n}")
        OpportunityFactory(owner=rep, account=account, name=f"Ningbo deal {n}")
    with django_assert_max_num_queries(22) as few:  # deals of matching customers: read by customer, then those in
        # view; and the bell's unread count (the session's first page)
        search(client, "Ningbo")
    for n in range(3, 40):
        account = AccountFactory(owner=rep, name=f"Ningbo Port {n}")
        ContactFactory(account=account, name=f"Ningbo {n}")
        OpportunityFactory(owner=rep, account=account, name=f"Ningbo deal {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = search(client, "Ningbo")
    assert count(html, "customer") == "40"
    assert len(names(html, "customer")) == 5
    with django_assert_max_num_queries(len(few.captured_queries)):
        suggest(client, "Ningbo")


def test_one_kind_is_paged(rep, client_for):
    for n in range(30):
        AccountFactory(owner=rep, name=f"Ningbo {n:02d}")
    client = client_for(rep)
    first = search(client, "Ningbo", kind="customer")
    second = search(client, "Ningbo", kind="customer", page=2)
    assert names(first, "customer") == [f"Ningbo {n:02d}" for n in range(25)]
    assert names(second, "customer") == [f"Ningbo {n:02d}" for n in range(25, 30)]
    assert 'data-testid="search-group-contact"' not in first


def test_more_than_the_cap_reads_as_the_cap_plus(rep, client_for, monkeypatch):
    monkeypatch.setattr(finder, "CAP", 3)
    for n in range(5):
        AccountFactory(owner=rep, name=f"Ningbo {n}")
    html = search(client_for(rep), "Ningbo")
    assert count(html, "customer") == "3+"
    assert "type more to narrow them" in html


def test_no_text_is_an_empty_state_and_no_match_says_so(rep, client_for):
    AccountFactory(owner=rep, name="Huaxin Steel")
    client = client_for(rep)
    assert 'data-testid="search-empty"' in search(client, "")
    html = search(client, "Nowhere")
    assert "Nothing matches “Nowhere”." in html
    assert "Nothing matches “Nowhere”." in suggest(client, "Nowhere")
    assert suggest(client, "  ").strip() == ""


def test_text_is_plain_text(rep, client_for):
    AccountFactory(owner=rep, name="100% Steel_Works")
    AccountFactory(owner=rep, name="1000 Steel Works")
    client = client_for(rep)
    assert names(search(client, "0% Steel_"), "customer") == ["100% Steel_Works"]
    assert "&lt;b&gt;" in search(client, "<b>")
    assert finder.clean(" Steel\x00_W  \n x" + "y" * 200) == "Steel_W x" + "y" * 91


def test_every_page_has_the_search_box(rep, client_for):
    html = client_for(rep).get(reverse("funnel:home")).content.decode()
    assert 'role="combobox"' in html
    assert f'action="{reverse("search:results")}"' in html
    assert f'hx-get="{reverse("search:suggest")}"' in html


@pytest.mark.parametrize(
    "params",
    [{"q": "Ningbo", "kind": "customer", "page": "abc"}, {"q": "Ningbo", "kind": "customer", "page": "-1"},
     {"q": "Ningbo", "kind": "customer", "page": "99999999999999999999"}, {"q": "Ningbo", "kind": "nothing"},
     {"q": "N" * 10_000}, {"q": "'; DROP TABLE funnel_account; --"}, {"q": "%_%"}, {"q": "(+86)"}],
)  # fmt: skip
def test_odd_parameters_are_read_as_plain_text_or_ignored(rep, client_for, params):
    AccountFactory(owner=rep, name="Ningbo Port")
    client = client_for(rep)
    assert client.get(reverse("search:results"), params).status_code == 200
    assert client.get(reverse("search:suggest"), params).status_code == 200


def test_a_managers_search_names_the_people_in_view_once_and_never_widens(
    manager, rep, teammate, other_rep, client_for, pipeline
):
    for owner in (rep, teammate, other_rep):
        OpportunityFactory(owner=owner, name=f"Ningbo deal of {owner.username}")
    html = search(client_for(manager), "Ningbo deal")
    assert sorted(names(html, "opportunity")) == [
        f"Ningbo deal of {rep.username}",
        f"Ningbo deal of {teammate.username}",
    ]
