"""Territories (销售区域, issue 14): the admin's settings pages, the customer's territory (its choices, the
creating rep's default, audited changes), the territory filter of the lists, the board, the export and the
dashboard, and the demo's territories."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funnel.customers import services as account_services
from funnel.models import Account
from funnel.transfer import imports
from funnel.transfer.exports import export_rows
from reps.models import AuditAction, AuditEvent, Role, Territory
from reps.territories import TerritoryError, territory_assign, territory_choices, territory_create, territory_update
from tests.factories import AccountFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def places(cast, team1, team2):
    """East (T1's), West (T2's), Spare (no team); R1 and R2 in East, R3 in West."""
    east = Territory.objects.create(name="East", team=team1)
    west = Territory.objects.create(name="West", team=team2)
    spare = Territory.objects.create(name="Spare")
    for name, territory in (("rep", east), ("teammate", east), ("other_rep", west)):
        cast[name].territory = territory
        cast[name].save(update_fields=["territory"])
    return {"east": east, "west": west, "spare": spare}


def names(rows) -> set[str]:
    return {row.name for row in rows}


# --- who may choose which territory ----------------------------------------------------------------------------


def test_admins_choose_every_territory_others_their_teams_and_their_own(cast, places):
    assert names(territory_choices(cast["admin"])) == {"East", "West", "Spare"}
    assert names(territory_choices(cast["manager"])) == {"East"}
    assert names(territory_choices(cast["rep"])) == {"East"}
    cast["rep"].territory = places["spare"]  # an admin put them in a territory of no team
    assert names(territory_choices(cast["rep"])) == {"East", "Spare"}
    cast["other_rep"].is_active = False
    assert not territory_choices(cast["other_rep"]).exists()


# --- the admin's pages ------------------------------------------------------------------------------------------


def test_an_admin_adds_renames_and_reassigns_a_territory_each_change_audited(client_for, cast, team1, team2):
    client = client_for(cast["admin"])
    response = client.post(reverse("configuration:territory_list"), {"name": " North  ", "team": team1.pk})
    north = Territory.objects.get(name="North")
    assert response.status_code == 302 and north.team == team1
    response = client.post(reverse("configuration:territory_edit", args=[north.pk]),
                           {"name": "North China", "description": "Beijing, Tianjin", "team": team2.pk})  # fmt: skip
    assert response.status_code == 302
    north.refresh_from_db()
    assert (north.name, north.description, north.team) == ("North China", "Beijing, Tianjin", team2)
    details = list(AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED, object_id=str(north.pk)).order_by("id"))
    assert details[0].detail["name"] == [None, "North"]
    assert details[1].detail == {"name": ["North", "North China"], "description": ["", "Beijing, Tianjin"],
                                 "team": [team1.pk, team2.pk]}  # fmt: skip
    same = {"name": "North China", "description": "Beijing, Tianjin", "team": team2.pk}
    response = client.post(reverse("configuration:territory_edit", args=[north.pk]), same, follow=True)
    assert "Nothing to save" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED, object_id=str(north.pk)).count() == 2
    changes = client.get(reverse("configuration:index")).content.decode()  # the settings' recent changes
    assert "Territory “North China”" in changes and "Beijing, Tianjin" in changes


def test_a_second_territory_of_the_same_name_is_refused(client_for, cast, places):
    response = client_for(cast["admin"]).post(reverse("configuration:territory_list"), {"name": "east"})
    assert response.status_code == 400 and "already exists" in response.content.decode()
    with pytest.raises(TerritoryError):
        territory_create(name="EAST", by=cast["admin"])
    with pytest.raises(TerritoryError):
        territory_update(territory=places["west"], name="East", description="", team=None, by=cast["admin"])
    assert Territory.objects.count() == 3


def test_an_admin_puts_a_rep_in_a_territory_and_takes_them_out_audited(client_for, cast, places):
    client, rep, url = client_for(cast["admin"]), cast["rep"], reverse("configuration:territory_people",
                                                                        args=[places["west"].pk])  # fmt: skip
    response = client.post(url, {"action": "add", "person": rep.pk}, follow=True)
    rep.refresh_from_db()
    assert rep.territory == places["west"] and "is now in West" in response.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.FIELD_CHANGED, object_id=str(rep.pk))
    assert event.detail == {"territory": [places["east"].pk, places["west"].pk]} and event.actor == cast["admin"]
    client.post(url, {"action": "remove", "person": rep.pk})
    rep.refresh_from_db()
    assert rep.territory is None
    assert client.post(url, {"action": "remove", "person": rep.pk}).status_code == 404  # no longer in it


def test_only_active_reps_and_managers_are_put_in_a_territory(client_for, cast, places):
    cast["teammate"].is_active = False
    cast["teammate"].save(update_fields=["is_active"])
    url = reverse("configuration:territory_people", args=[places["west"].pk])
    for person in (cast["teammate"], cast["admin"]):
        assert client_for(cast["admin"]).post(url, {"action": "add", "person": person.pk}).status_code == 400
    with pytest.raises(TerritoryError):
        territory_assign(person=cast["rep"], territory=places["west"], by=cast["manager"])
    assert cast["teammate"].__class__.objects.get(pk=cast["teammate"].pk).territory == places["east"]


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_reps_and_managers_cannot_open_or_post_to_the_territory_pages(client_for, cast, places, role):
    client, west = client_for(cast[role]), places["west"]
    urls = [reverse("configuration:territory_list"), reverse("configuration:territory_edit", args=[west.pk])]
    for url in urls:
        assert client.get(url).status_code == 403
        assert client.post(url, {"name": "Taken"}).status_code == 403
    people = reverse("configuration:territory_people", args=[west.pk])
    assert client.post(people, {"action": "add", "person": cast[role].pk}).status_code == 403
    assert Territory.objects.get(pk=west.pk).name == "West" and not Territory.objects.filter(name="Taken").exists()


def test_the_territory_pages_read_a_fixed_number_of_queries(client_for, cast, places, django_assert_max_num_queries):
    client = client_for(cast["admin"])
    for n in range(30):
        Territory.objects.create(name=f"Extra {n}")
        UserFactory(territory=places["east"])
    with django_assert_max_num_queries(12):
        assert client.get(reverse("configuration:territory_list")).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(reverse("configuration:territory_edit", args=[places["east"].pk])).status_code == 200
    assert client.get(reverse("configuration:index")).content.decode().count("/settings/territories/") == 1


# --- the customer's territory -------------------------------------------------------------------------------------


def test_a_new_customer_takes_its_creators_territory_else_its_owners(cast, places):
    own = account_services.account_create(by=cast["rep"], owner=cast["rep"], data={"name": "Own"})
    assert own.territory == places["east"]
    for_rep = account_services.account_create(by=cast["admin"], owner=cast["other_rep"], data={"name": "Theirs"})
    assert for_rep.territory == places["west"]  # the admin has no territory: the owner's
    chosen = account_services.account_create(by=cast["admin"], owner=cast["rep"], data={"name": "Chosen"},
                                             territory=places["spare"])  # fmt: skip
    assert chosen.territory == places["spare"]


def test_the_customer_form_offers_the_users_territories_and_starts_with_theirs(client_for, cast, places):
    page = client_for(cast["rep"]).get(reverse("customers:create")).content.decode()
    assert f'<option value="{places["east"].pk}" selected>East</option>' in page
    assert "West" not in page and "Spare" not in page
    response = client_for(cast["rep"]).post(reverse("customers:create"), {"name": "Tampered",
                                                                          "territory": places["west"].pk})  # fmt: skip
    assert response.status_code == 200 and not Account.objects.filter(name="Tampered").exists()
    with pytest.raises(account_services.AccountError):
        account_services.account_create(by=cast["rep"], owner=cast["rep"], data={"name": "X"}, territory=places["west"])


def test_editing_keeps_a_territory_outside_the_editors_choices_and_audits_a_change(client_for, cast, places):
    account = AccountFactory(owner=cast["rep"], name="Placed", territory=places["spare"])
    client = client_for(cast["rep"])
    url = reverse("customers:edit", args=[account.pk])
    fingerprint = account_services.account_fingerprint(account)
    client.post(url, {"name": "Placed again", "territory": places["spare"].pk, "fingerprint": fingerprint})
    account.refresh_from_db()
    assert (account.name, account.territory) == ("Placed again", places["spare"])
    assert not AuditEvent.objects.filter(action=AuditAction.FIELD_CHANGED, object_id=str(account.pk)).exists()
    fingerprint = account_services.account_fingerprint(account)
    client.post(url, {"name": "Placed again", "territory": places["east"].pk, "fingerprint": fingerprint})
    account.refresh_from_db()
    assert account.territory == places["east"]
    event = AuditEvent.objects.get(action=AuditAction.FIELD_CHANGED, object_id=str(account.pk))
    assert event.detail == {"territory": [places["spare"].pk, places["east"].pk]}
    assert "East" in client.get(reverse("customers:detail", args=[account.pk])).content.decode()


# --- filters ------------------------------------------------------------------------------------------------------


@pytest.fixture
def spread(cast, places, stages):
    """An East customer and a West one for R1 (each with an open deal), an unplaced one for R2, one of R3's in West."""
    accounts = {
        "east": AccountFactory(owner=cast["rep"], name="Acme East", territory=places["east"]),
        "west": AccountFactory(owner=cast["rep"], name="Acme West", territory=places["west"]),
        "none": AccountFactory(owner=cast["teammate"], name="Nowhere"),
        "far": AccountFactory(owner=cast["other_rep"], name="Far West", territory=places["west"]),
    }
    for key, account in accounts.items():
        OpportunityFactory(owner=account.owner, account=account, stage=stages["Proposal"], name=f"Deal {key}")
    return accounts


def listed(client, name: str, **params) -> str:
    return client.get(reverse(name), params).content.decode()


def test_the_customer_list_filters_by_territory_and_ignores_one_out_of_choices(client_for, cast, places, spread):
    client = client_for(cast["manager"])
    page = listed(client, "customers:list", territory=places["east"].pk)
    assert "Acme East" in page and "Acme West" not in page and "Nowhere" not in page
    page = listed(client, "customers:list", territory="none")
    assert "Nowhere" in page and "Acme East" not in page
    page = listed(client, "customers:list", territory=places["west"].pk)  # not the manager's: dropped
    assert "Acme West" in page and "Acme East" in page and "Far West" not in page  # never widened


def test_the_opportunity_list_board_and_export_filter_by_the_customers_territory(client_for, cast, places, spread):
    client = client_for(cast["admin"])
    page = listed(client, "opportunities:list", territory=places["west"].pk)
    assert "Deal west" in page and "Deal far" in page and "Deal east" not in page and "Deal none" not in page
    board = listed(client, "opportunities:board", territory=places["east"].pk)
    assert "Deal east" in board and "Deal west" not in board
    export = [row[1] for rows in export_rows(cast["admin"], f"territory={places['west'].pk}") for row in rows]
    assert sorted(export) == ["Deal far", "Deal west"]
    rep_view = listed(client_for(cast["rep"]), "opportunities:list", territory=places["east"].pk)
    assert "Deal east" in rep_view and "Deal west" not in rep_view


def test_the_dashboard_reads_a_territory_as_its_reps_and_links_to_the_same_deals(client_for, cast, places, spread):
    client = client_for(cast["admin"])
    response = client.get(reverse("insights:dashboard"), {"territory": places["east"].pk})
    reps = {row["name"] for row in response.context["reps"]}
    assert reps == {str(cast["rep"]), str(cast["teammate"])}
    assert response.context["coverage"] is None  # a territory's people are not a team: no team target
    link = next(row["urls"]["open"] for row in response.context["reps"] if row["owner"] == cast["rep"].pk)
    assert f"rep_territory={places['east'].pk}" in link
    listed_deals = client.get(link).context["rows"]
    assert sorted(deal.name for deal in listed_deals) == ["Deal east", "Deal west"]  # R1's, wherever the customer
    everyone = client.get(reverse("opportunities:list"), {"rep_territory": places["east"].pk}).context["count"]
    assert everyone == 3  # R1's two and R2's one; R3's deal is in West's reps


def queries(client, name: str, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse(name), params).status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", ["customers:list", "opportunities:list", "opportunities:board"])
def test_a_territory_filtered_page_reads_as_many_queries_for_more_rows(client_for, cast, places, spread, name):
    client = client_for(cast["manager"])
    client.get(reverse(name))  # the session's and the top bar's first reads
    few = queries(client, name, territory=places["east"].pk)
    for _ in range(25):
        OpportunityFactory(owner=cast["rep"], account=AccountFactory(owner=cast["rep"], territory=places["east"]))
    assert queries(client, name, territory=places["east"].pk) == few <= 16


def test_a_customer_import_reads_an_optional_territory_column_by_name(cast, places):
    text = "name,owner,territory\nA,,east\nB,,\nC,,West\nD,r3,\n"
    batch = imports.import_batch_create(by=cast["manager"], kind="customers", text=text)
    checks = imports.import_batch_preview(batch=batch, user=cast["manager"]).checks
    assert [check.errors for check in checks][:2] == [[], []]
    assert checks[2].errors == ["Territory: “West” is not one of your territories."]
    assert checks[3].errors  # R3 is no one the manager may assign to
    imports.import_batch_confirm(batch=batch, by=cast["manager"], all_or_nothing=False)
    imports.import_batch_run(batch.pk)
    placed = dict(Account.objects.values_list("name", "territory__name"))
    assert placed == {"A": "East", "B": None}  # the manager has no territory of their own, nor the owner (them)
    rep_batch = imports.import_batch_create(by=cast["rep"], kind="customers", text="name\nE\n")
    imports.import_batch_confirm(batch=rep_batch, by=cast["rep"], all_or_nothing=False)
    imports.import_batch_run(rep_batch.pk)
    assert Account.objects.get(name="E").territory == places["east"]  # no column: the rep's own


# --- the demo -----------------------------------------------------------------------------------------------------


def test_the_demo_puts_each_teams_customers_and_reps_in_its_territory():
    call_command("seed_demo", "--password", "demo-password-long", "--force", stdout=io.StringIO())
    for territory in Territory.objects.filter(team__isnull=False):
        accounts = Account.objects.filter(owner__team=territory.team)
        assert accounts.exists() and not accounts.exclude(territory=territory).exists()
        reps = territory.team.members.filter(role=Role.REP)
        assert reps.exists() and not reps.exclude(territory=territory).exists()
