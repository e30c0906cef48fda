"""Contact pages: add and edit under a customer, scope both ways, 404 + audit, double submits."""

import pytest
from django.urls import reverse

from funnel.models import Contact
from reps.models import AuditAction, AuditEvent
from tests.factories import AccountFactory, ContactFactory, UserFactory
from tests.funnel.test_account_views import detail_url, form_token

pytestmark = pytest.mark.django_db


def contact_new_url(account) -> str:
    return reverse("customers:contact_create", args=[account.pk])


def contact_edit_url(contact) -> str:
    return reverse("customers:contact_edit", args=[contact.pk])


def test_rep_adds_a_contact_to_own_customer(client_for, rep):
    account = AccountFactory(owner=rep)
    client = client_for(rep)
    data = {"once": form_token(client, contact_new_url(account)), "name": "Li Wei", "email": "li@example.com"}
    response = client.post(contact_new_url(account), data | {"account": AccountFactory().pk})
    assert response.status_code == 302
    assert response.url == detail_url(account) + "#contacts"
    assert Contact.objects.get().account == account


def test_double_submit_adds_one_contact(client_for, rep):
    account = AccountFactory(owner=rep)
    client = client_for(rep)
    data = {"once": form_token(client, contact_new_url(account)), "name": "Li Wei"}
    client.post(contact_new_url(account), data)
    assert client.post(contact_new_url(account), data).status_code == 302
    assert Contact.objects.count() == 1


def test_contact_needs_a_name_and_a_valid_email(client_for, rep):
    account = AccountFactory(owner=rep)
    client = client_for(rep)
    data = {"once": form_token(client, contact_new_url(account)), "name": " ", "email": "not-mail"}
    response = client.post(contact_new_url(account), data)
    assert set(response.context["form"].errors) == {"name", "email"}
    assert not Contact.objects.exists()


def test_rep_cannot_add_a_contact_to_teammates_customer(client_for, rep, books):
    client = client_for(rep)
    url = contact_new_url(books["teammate"])
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "Li Wei"}).status_code == 404
    assert not Contact.objects.exists()


def test_manager_adds_contacts_for_the_team_but_not_other_team(client_for, manager, books):
    client = client_for(manager)
    assert client.get(contact_new_url(books["rep"])).status_code == 200
    assert client.post(contact_new_url(books["other_rep"]), {"name": "Li Wei"}).status_code == 404
    assert not Contact.objects.exists()


def test_rep_edits_own_contact(client_for, rep):
    contact = ContactFactory(account__owner=rep, name="Li")
    response = client_for(rep).post(contact_edit_url(contact), {"name": "Li Wei", "title": "CTO"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.name, contact.title) == ("Li Wei", "CTO")


def test_rep_cannot_edit_teammates_contact_and_it_is_audited(client_for, rep, teammate):
    contact = ContactFactory(account__owner=teammate, name="Li")
    client = client_for(rep)
    assert client.get(contact_edit_url(contact)).status_code == 404
    assert client.post(contact_edit_url(contact), {"name": "Taken"}).status_code == 404
    assert Contact.objects.get(pk=contact.pk).name == "Li"
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, object_type="funnel.contact").count() == 2


def test_manager_cannot_edit_other_teams_contact(client_for, manager, other_rep):
    contact = ContactFactory(account__owner=other_rep, name="Li")
    assert client_for(manager).post(contact_edit_url(contact), {"name": "Taken"}).status_code == 404
    assert Contact.objects.get(pk=contact.pk).name == "Li"


def test_admin_edits_any_contact(client_for, admin_user):
    contact = ContactFactory(account__owner=UserFactory(), name="Li")
    assert client_for(admin_user).post(contact_edit_url(contact), {"name": "Li Wei"}).status_code == 302
