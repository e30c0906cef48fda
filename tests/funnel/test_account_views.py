"""Customer and contact pages: scope both ways, 404 + audit, keyset pages, duplicates, stale edits,
double submits, inert names and query budgets."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from funnel.customers.services import account_fingerprint
from funnel.models import Account, Contact, Stage, StageKind
from reps.models import AuditAction, AuditEvent
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory, StageChangeFactory

pytestmark = pytest.mark.django_db

LIST = "/customers/"
CREATE = "/customers/new/"
XSS_NAMES = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


def detail_url(account) -> str:
    return reverse("customers:detail", args=[account.pk])


def edit_url(account) -> str:
    return reverse("customers:edit", args=[account.pk])


def row_snapshot(account) -> tuple:
    row = Account.objects.get(pk=account.pk)
    return (row.name, row.city, row.notes, row.owner_id)


def form_token(client, url: str) -> str:
    return re.search(r'name="once" value="([^"]+)"', client.get(url).content.decode()).group(1)


# --- list ---------------------------------------------------------------------------------------


def names_on(response) -> list[str]:
    return [account.name for account in response.context["page"].rows]


def test_rep_lists_only_own_customers(client_for, rep, books):
    assert names_on(client_for(rep).get(LIST)) == ["rep-customer"]


def test_manager_lists_own_team_but_not_other_team(client_for, manager, books):
    assert names_on(client_for(manager).get(LIST)) == ["manager-customer", "rep-customer", "teammate-customer"]


def test_admin_lists_every_customer(client_for, admin_user, books):
    assert len(names_on(client_for(admin_user).get(LIST))) == 6


@pytest.mark.parametrize(
    "params",
    [{"owner": "r2"}, {"team": "T2"}, {"owner__in": "1,2,3,4,5,6"}, {"ordering": "owner"}, {"q": "' OR 1=1--"}],
)
def test_list_parameters_never_widen_the_scope(client_for, rep, books, params):
    """QUALITY S4, S25."""
    response = client_for(rep).get(LIST, params)
    assert response.status_code == 200
    assert set(names_on(response)) <= {"rep-customer"}


def test_search_matches_name_city_or_industry(client_for, rep):
    AccountFactory(owner=rep, name="Huaxin Steel", city="Wuhan", industry="Metals")
    AccountFactory(owner=rep, name="Pearl River Power", city="Guangzhou", industry="Energy")
    client = client_for(rep)
    assert names_on(client.get(LIST, {"q": "huaxin"})) == ["Huaxin Steel"]
    assert names_on(client.get(LIST, {"q": "guangzhou"})) == ["Pearl River Power"]
    assert names_on(client.get(LIST, {"q": "metal"})) == ["Huaxin Steel"]


def test_search_treats_wildcards_as_literal_text_and_is_cut_at_100_characters(client_for, rep):
    AccountFactory(owner=rep, name="Huaxin Steel")
    client = client_for(rep)
    assert names_on(client.get(LIST, {"q": "%"})) == []
    assert names_on(client.get(LIST, {"q": "_"})) == []
    assert client.get(LIST, {"q": "x" * 500}).context["query"] == "x" * 100


def test_open_deals_are_counted_and_summed_over_visible_open_deals_only(client_for, rep, manager, teammate, pipeline):
    account = AccountFactory(owner=rep, name="Huaxin Steel")
    OpportunityFactory(owner=rep, account=account, amount=Decimal("100000"))
    OpportunityFactory(owner=teammate, account=account, amount=Decimal("50000"))
    won = Stage.objects.get(kind=StageKind.WON)
    OpportunityFactory(owner=rep, account=account, amount=Decimal("900000"), stage=won)
    mine = client_for(rep).get(LIST).context["page"].rows[0]
    teams = client_for(manager).get(LIST).context["page"].rows[0]
    assert (mine.open_count, mine.open_amount) == (1, Decimal("100000"))
    assert (teams.open_count, teams.open_amount) == (2, Decimal("150000"))


def test_customer_without_deals_shows_zero_open(client_for, rep):
    AccountFactory(owner=rep)
    row = client_for(rep).get(LIST).context["page"].rows[0]
    assert (row.open_count, row.open_amount) == (0, 0)


def test_list_pages_25_at_a_time_with_next_and_previous(client_for, rep):
    for n in range(30):
        AccountFactory(owner=rep, name=f"Customer {n:02}")
    client = client_for(rep)
    first = client.get(LIST).context["page"]
    assert (len(first.rows), first.previous_cursor) == (25, None)
    second = client.get(LIST, {"after": first.next_cursor}).context["page"]
    assert [a.name for a in second.rows] == [f"Customer {n}" for n in range(25, 30)]
    assert second.next_cursor is None
    back = client.get(LIST, {"before": second.previous_cursor}).context["page"]
    assert [a.pk for a in back.rows] == [a.pk for a in first.rows]
    assert (back.previous_cursor, back.next_cursor is not None) == (None, True)


def test_list_pages_keep_equal_names_apart_by_id(client_for, rep):
    same = [AccountFactory(owner=rep, name="Same name") for _ in range(27)]
    client = client_for(rep)
    first = client.get(LIST).context["page"]
    second = client.get(LIST, {"after": first.next_cursor}).context["page"]
    assert [a.pk for a in first.rows + second.rows] == [a.pk for a in same]


def test_next_link_keeps_the_search(client_for, rep):
    for n in range(26):
        AccountFactory(owner=rep, name=f"Steel {n:02}")
    content = client_for(rep).get(LIST, {"q": "steel"}).content.decode()
    assert re.search(r'href="\?q=steel&amp;after=[^"]+"', content)


@pytest.mark.parametrize("cursor", ["garbage", "WzEsMl0=", "eyJhIjoxfQ==", "WyJ4IiwgOTk5OTk5OTk5OTk5OTk5OTk5OTk5OV0="])
def test_malformed_cursor_shows_the_first_page(client_for, rep, cursor):
    AccountFactory(owner=rep, name="Huaxin Steel")
    response = client_for(rep).get(LIST, {"after": cursor, "before": cursor})
    assert names_on(response) == ["Huaxin Steel"]


def test_list_empty_state_invites_to_add_a_customer(client_for, rep):
    content = client_for(rep).get(LIST).content.decode()
    assert 'data-testid="empty"' in content
    assert CREATE in content


def test_list_no_match_state_repeats_the_search_as_text(client_for, rep):
    AccountFactory(owner=rep)
    content = client_for(rep).get(LIST, {"q": "<b>nothing</b>"}).content.decode()
    assert 'data-testid="no-match"' in content
    assert "&lt;b&gt;nothing&lt;/b&gt;" in content


@pytest.mark.parametrize("name", XSS_NAMES)
def test_list_renders_stored_markup_as_text(client_for, rep, name):
    """QUALITY S22."""
    AccountFactory(owner=rep, name=name, city=name, industry=name)
    content = client_for(rep).get(LIST).content.decode()
    assert name not in content
    assert "&lt;" in content


@pytest.mark.parametrize("rows", [1, 30])
def test_list_query_count_does_not_grow_with_rows(client_for, manager, rep, pipeline, rows, django_assert_num_queries):
    for account in AccountFactory.create_batch(rows, owner=rep):
        OpportunityFactory(owner=rep, account=account)
    client = client_for(manager)
    client.get(LIST)  # warm the session
    # session, user with their team (navbar), one page of customers with owner and open deals, the territory
    # filter's choices
    with django_assert_num_queries(4):
        assert client.get(LIST).status_code == 200


# --- detail -------------------------------------------------------------------------------------


def test_rep_opens_own_customer(client_for, rep, books):
    response = client_for(rep).get(detail_url(books["rep"]))
    assert response.status_code == 200
    assert b"rep-customer" in response.content


def test_rep_gets_404_for_teammates_customer_and_it_is_audited(client_for, rep, books):
    """QUALITY S1, for customers."""
    response = client_for(rep).get(detail_url(books["teammate"]))
    assert response.status_code == 404
    assert b"teammate-customer" not in response.content
    event = AuditEvent.objects.get(action=AuditAction.ACCESS_DENIED)
    assert (event.actor, event.object_type, event.object_id) == (rep, "funnel.account", str(books["teammate"].pk))


def test_missing_customer_is_404_without_audit(client_for, rep):
    assert client_for(rep).get(reverse("customers:detail", args=[424242])).status_code == 404
    assert not AuditEvent.objects.exists()


def test_manager_opens_team_customer_but_not_other_teams(client_for, manager, books):
    client = client_for(manager)
    assert client.get(detail_url(books["teammate"])).status_code == 200
    assert client.get(detail_url(books["other_rep"])).status_code == 404


def test_admin_opens_any_customer(client_for, admin_user, books):
    assert client_for(admin_user).get(detail_url(books["other_manager"])).status_code == 200


def test_detail_shows_contacts_and_only_the_visible_deals_and_their_history(client_for, rep, teammate, pipeline):
    account = AccountFactory(owner=rep)
    ContactFactory(account=account, name="Li Wei", email="li@example.com")
    mine = OpportunityFactory(owner=rep, account=account, name="Visible deal")
    hidden = OpportunityFactory(owner=teammate, account=account, name="Teammate deal")
    StageChangeFactory(opportunity=mine, by=rep)
    StageChangeFactory(opportunity=hidden, by=teammate)
    response = client_for(rep).get(detail_url(account))
    content = response.content.decode()
    assert "Li Wei" in content
    assert "Visible deal" in content
    assert reverse("opportunities:detail", args=[mine.pk]) in content
    assert "Teammate deal" not in content
    assert [change.opportunity for change in response.context["history"]] == [mine]


@pytest.mark.parametrize("name", XSS_NAMES)
def test_detail_renders_stored_markup_as_text(client_for, rep, pipeline, name):
    """QUALITY S22."""
    account = AccountFactory(owner=rep, name=name, notes=name, address=name)
    ContactFactory(account=account, name=name, title=name)
    OpportunityFactory(owner=rep, account=account, name=name)
    content = client_for(rep).get(detail_url(account)).content.decode()
    assert name not in content


def test_detail_links_only_http_websites(client_for, rep):
    account = AccountFactory(owner=rep, website="javascript:alert(1)")  # stored around the form's validation
    content = client_for(rep).get(detail_url(account)).content.decode()
    assert 'href="javascript:' not in content


@pytest.mark.parametrize("size", [1, 15])
def test_detail_query_count_does_not_grow(client_for, rep, pipeline, size, django_assert_num_queries):
    account = AccountFactory(owner=rep)
    ContactFactory.create_batch(size, account=account)
    for deal in OpportunityFactory.create_batch(size, owner=rep, account=account):
        StageChangeFactory(opportunity=deal, by=rep)
    client = client_for(rep)
    client.get(detail_url(account))
    # session, user with their team (navbar), customer with owner, contacts, deals, history
    with django_assert_num_queries(6):
        assert client.get(detail_url(account)).status_code == 200


# --- create -------------------------------------------------------------------------------------


def create(client, **data):
    token = form_token(client, CREATE)
    return client.post(CREATE, {"once": token, "name": "Huaxin Steel", "city": "Wuhan"} | data)


def test_rep_creates_own_customer_and_is_sent_to_it(client_for, rep):
    response = create(client_for(rep))
    account = Account.objects.get()
    assert (account.name, account.city, account.owner) == ("Huaxin Steel", "Wuhan", rep)
    assert response.status_code == 302
    assert response.url == detail_url(account)


def test_rep_form_has_no_owner_choice(client_for, rep):
    assert "owner" not in client_for(rep).get(CREATE).context["form"].fields


def test_extra_posted_fields_are_ignored_on_create(client_for, rep, other_rep):
    """QUALITY S10."""
    create(
        client_for(rep),
        id=9999,
        owner=other_rep.pk,
        owner_id=other_rep.pk,
        created_at="2001-01-01",
        last_contact_at="2001-01-01",
        is_staff="on",
        role="admin",
    )
    account = Account.objects.get()
    assert (account.owner, account.pk != 9999, account.created_at.year > 2001) == (rep, True, True)
    assert account.last_contact_at is None
    rep.refresh_from_db()
    assert (rep.role, rep.is_staff) == ("rep", False)


def test_manager_owner_choices_are_active_team_members_only(client_for, manager, rep, teammate, other_rep):
    teammate.is_active = False
    teammate.save()
    choices = set(client_for(manager).get(CREATE).context["form"].fields["owner"].queryset)
    assert choices == {manager, rep}


def test_admin_owner_choices_are_all_active_users(client_for, cast):
    choices = set(client_for(cast["admin"]).get(CREATE).context["form"].fields["owner"].queryset)
    assert choices == set(cast.values())


def test_manager_creates_for_a_team_member(client_for, manager, rep):
    create(client_for(manager), owner=rep.pk)
    assert Account.objects.get().owner == rep


def test_manager_cannot_create_for_another_team(client_for, manager, other_rep):
    response = create(client_for(manager), owner=other_rep.pk)
    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    assert not Account.objects.exists()


def test_invalid_input_is_shown_again_with_errors(client_for, rep):
    response = create(client_for(rep), name="  ", website="javascript:alert(1)", phone="call me")
    form = response.context["form"]
    assert set(form.errors) == {"name", "website", "phone"}
    assert 'value="call me"' in response.content.decode()
    assert not Account.objects.exists()


def test_duplicate_name_of_a_visible_customer_warns_with_a_link(client_for, rep):
    existing = AccountFactory(owner=rep, name="Huaxin Steel Co., Ltd.")
    response = create(client_for(rep), name=" huaxin steel ")
    content = response.content.decode()
    assert 'data-testid="duplicate-warning"' in content
    assert detail_url(existing) in content
    assert 'name="create_anyway"' in content
    assert Account.objects.count() == 1


def test_duplicate_name_outside_the_view_warns_without_owner_or_link(client_for, rep, other_rep):
    hidden = AccountFactory(owner=other_rep, name="Huaxin Steel", city="Secret City")
    response = create(client_for(rep))
    content = response.content.decode()
    assert "already exists in another team" in content
    assert detail_url(hidden) not in content
    for secret in [str(other_rep), other_rep.email, "Secret City"]:  # not the owner, nor anything else about it
        assert secret not in content
    assert Account.objects.count() == 1


def test_create_anyway_creates_the_second_customer(client_for, rep):
    AccountFactory(owner=rep, name="Huaxin Steel")
    client = client_for(rep)
    token = form_token(client, CREATE)
    warned = client.post(CREATE, {"once": token, "name": "Huaxin Steel"})
    assert warned.context["once"] == token  # the same form may still be submitted once
    response = client.post(CREATE, {"once": token, "name": "Huaxin Steel", "create_anyway": "on"})
    assert response.status_code == 302
    assert Account.objects.filter(name="Huaxin Steel").count() == 2


def test_double_submit_creates_one_customer_and_sends_both_to_it(client_for, rep):
    """QUALITY R9: the second POST of the same form, even with 'create anyway', does not create again."""
    client = client_for(rep)
    data = {"once": form_token(client, CREATE), "name": "Huaxin Steel", "create_anyway": "on"}
    first, second = client.post(CREATE, data), client.post(CREATE, data)
    account = Account.objects.get()
    assert (first.status_code, second.status_code) == (302, 302)
    assert first.url == second.url == detail_url(account)


def test_two_open_forms_create_two_customers(client_for, rep):
    client = client_for(rep)
    one, two = form_token(client, CREATE), form_token(client, CREATE)
    client.post(CREATE, {"once": one, "name": "Huaxin Steel"})
    client.post(CREATE, {"once": two, "name": "Pearl River Power"})
    assert Account.objects.count() == 2


@pytest.mark.parametrize("token", ["", "forged"])
def test_post_without_an_issued_token_creates_nothing(client_for, rep, token):
    response = client_for(rep).post(CREATE, {"once": token, "name": "Huaxin Steel"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Account.objects.exists()


# --- edit ---------------------------------------------------------------------------------------


def edit(client, account, **data):
    fingerprint = client.get(edit_url(account)).context["fingerprint"]
    values = {"name": account.name, "city": account.city, "owner": account.owner_id, "fingerprint": fingerprint}
    return client.post(edit_url(account), values | data)


def test_rep_edits_own_customer(client_for, rep):
    account = AccountFactory(owner=rep, name="Old")
    response = edit(client_for(rep), account, name="New", city="Xi'an")
    assert response.status_code == 302
    assert row_snapshot(account)[:2] == ("New", "Xi'an")


def test_rep_cannot_edit_teammates_customer(client_for, rep, books):
    account = books["teammate"]
    before = row_snapshot(account)
    client = client_for(rep)
    assert client.get(edit_url(account)).status_code == 404
    response = client.post(edit_url(account), {"name": "Taken", "fingerprint": account_fingerprint(account)})
    assert response.status_code == 404
    assert row_snapshot(account) == before


def test_manager_edits_team_customer_but_not_other_teams(client_for, manager, books):
    client = client_for(manager)
    assert edit(client, books["teammate"], city="Team city").status_code == 302
    other = books["other_rep"]
    before = row_snapshot(other)
    response = client.post(edit_url(other), {"name": "Taken", "fingerprint": account_fingerprint(other)})
    assert response.status_code == 404
    assert row_snapshot(other) == before


def test_admin_edits_any_customer(client_for, admin_user, books):
    assert edit(client_for(admin_user), books["other_rep"], city="Admin city").status_code == 302


def test_rep_posting_an_owner_changes_nothing_about_ownership(client_for, rep, teammate):
    """QUALITY S10 on update."""
    account = AccountFactory(owner=rep)
    edit(client_for(rep), account, owner=teammate.pk, owner_id=teammate.pk, id=account.pk + 100)
    assert Account.objects.get(pk=account.pk).owner == rep
    assert not Account.objects.filter(pk=account.pk + 100).exists()


def test_manager_reassigns_a_customer_and_it_is_audited(client_for, manager, rep, teammate):
    account = AccountFactory(owner=rep)
    edit(client_for(manager), account, owner=teammate.pk)
    assert Account.objects.get(pk=account.pk).owner == teammate
    assert AuditEvent.objects.filter(action=AuditAction.OWNER_CHANGED, object_id=str(account.pk)).count() == 1


def test_manager_cannot_reassign_to_another_team(client_for, manager, rep, other_rep):
    account = AccountFactory(owner=rep)
    response = edit(client_for(manager), account, owner=other_rep.pk)
    assert "owner" in response.context["form"].errors
    assert Account.objects.get(pk=account.pk).owner == rep


def test_stale_edit_is_refused_and_shows_the_current_values(client_for, rep, manager):
    """QUALITY R10: two people open the form; the first save wins, the second sees a conflict."""
    account = AccountFactory(owner=rep, name="Start", city="Wuhan")
    mine, theirs = client_for(rep), client_for(manager)
    seen = mine.get(edit_url(account)).context["fingerprint"]
    assert edit(theirs, account, city="Chengdu").status_code == 302
    response = mine.post(edit_url(account), {"name": "Start", "city": "Nanjing", "fingerprint": seen})
    assert response.status_code == 409
    assert response.context["conflict"].city == "Chengdu"
    content = response.content.decode()
    assert 'data-testid="conflict"' in content
    assert "Chengdu" in content
    assert 'value="Nanjing"' in content  # the user's own input is kept
    assert Account.objects.get(pk=account.pk).city == "Chengdu"
    again = mine.post(
        edit_url(account), {"name": "Start", "city": "Nanjing", "fingerprint": response.context["fingerprint"]}
    )
    assert again.status_code == 302
    assert Account.objects.get(pk=account.pk).city == "Nanjing"


def test_edit_without_fingerprint_is_refused(client_for, rep):
    account = AccountFactory(owner=rep, city="Wuhan")
    response = client_for(rep).post(edit_url(account), {"name": account.name, "city": "Nanjing"})
    assert response.status_code == 409
    assert Account.objects.get(pk=account.pk).city == "Wuhan"


def test_anonymous_is_sent_to_sign_in_for_every_customer_page(client, rep):
    account = AccountFactory(owner=rep)
    contact = ContactFactory(account=account)
    for url in [
        LIST,
        CREATE,
        detail_url(account),
        edit_url(account),
        reverse("customers:contact_create", args=[account.pk]),
    ]:
        assert client.get(url).status_code == 302
    assert client.post(reverse("customers:contact_edit", args=[contact.pk]), {"name": "x"}).status_code == 302
    assert Contact.objects.get(pk=contact.pk).name != "x"
