"""Customer and contact services: field allow-list, owner rules and audit, stale edits, duplicate names."""

import pytest
from django.core.exceptions import ValidationError

from funnel.customers import services as services
from funnel.models import Account, Contact
from reps.models import AuditAction, AuditEvent
from tests.factories import AccountFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


def details(**changes) -> dict:
    return {"name": "Huaxin Steel", "industry": "Steel", "city": "Wuhan"} | changes


def test_account_create_stores_only_the_editable_fields(rep):
    account = services.account_create(
        by=rep, owner=rep, data=details(id=999, created_at="2000-01-01", owner_id=1, last_contact_at="2000-01-01")
    )
    account.refresh_from_db()
    assert (account.name, account.city, account.owner) == ("Huaxin Steel", "Wuhan", rep)
    assert account.pk != 999
    assert account.created_at.year > 2000
    assert account.last_contact_at is None


def test_rep_cannot_create_a_customer_for_a_teammate(rep, teammate):
    with pytest.raises(services.AccountError):
        services.account_create(by=rep, owner=teammate, data=details())
    assert not Account.objects.exists()


def test_manager_can_create_a_customer_for_a_team_member_but_not_for_another_team(manager, rep, other_rep):
    assert services.account_create(by=manager, owner=rep, data=details()).owner == rep
    with pytest.raises(services.AccountError):
        services.account_create(by=manager, owner=other_rep, data=details(name="Other"))
    assert Account.objects.count() == 1


def test_no_one_can_give_a_customer_to_a_deactivated_user(admin_user, teammate):
    teammate.is_active = False
    teammate.save()
    with pytest.raises(services.AccountError):
        services.account_create(by=admin_user, owner=teammate, data=details())


def test_account_create_validates_the_row(rep):
    with pytest.raises(ValidationError):
        services.account_create(by=rep, owner=rep, data=details(website="javascript:alert(1)"))
    assert not Account.objects.exists()


def test_account_update_with_current_fingerprint_saves(rep):
    account = AccountFactory(owner=rep, name="Old name")
    fingerprint = services.account_fingerprint(account)
    services.account_update(account=account, by=rep, fingerprint=fingerprint, data={"name": "New name"})
    assert Account.objects.get(pk=account.pk).name == "New name"


def test_account_update_with_stale_fingerprint_is_refused_and_changes_nothing(rep):
    """QUALITY R10: the second of two edits started from the same values does not overwrite the first."""
    account = AccountFactory(owner=rep, name="Start")
    seen = services.account_fingerprint(account)
    services.account_update(account=account, by=rep, fingerprint=seen, data={"name": "First save"})
    with pytest.raises(services.StaleAccount) as refused:
        services.account_update(account=account, by=rep, fingerprint=seen, data={"name": "Second save"})
    assert refused.value.current.name == "First save"
    assert Account.objects.get(pk=account.pk).name == "First save"


def test_fingerprint_changes_with_owner_and_every_editable_field(rep, teammate):
    account = AccountFactory(owner=rep)
    before = services.account_fingerprint(account)
    for field in services.ACCOUNT_FIELDS:
        changed = Account.objects.get(pk=account.pk)
        setattr(changed, field, "https://x.example" if field == "website" else "changed")
        assert services.account_fingerprint(changed) != before, field
    account.owner = teammate
    assert services.account_fingerprint(account) != before


def test_owner_change_is_audited_once(manager, rep, teammate):
    account = AccountFactory(owner=rep)
    fingerprint = services.account_fingerprint(account)
    services.account_update(account=account, by=manager, fingerprint=fingerprint, data={}, owner=teammate)
    event = AuditEvent.objects.get(action=AuditAction.OWNER_CHANGED)
    assert (event.actor, event.object_id, event.detail) == (manager, str(account.pk), {"owner": [rep.pk, teammate.pk]})
    assert Account.objects.get(pk=account.pk).owner == teammate


def test_update_without_owner_change_writes_no_audit_row(rep):
    account = AccountFactory(owner=rep)
    services.account_update(
        account=account, by=rep, fingerprint=services.account_fingerprint(account), data={"city": "Xi'an"}, owner=rep
    )
    assert not AuditEvent.objects.filter(action=AuditAction.OWNER_CHANGED).exists()


def test_manager_cannot_hand_a_customer_to_another_team(manager, rep, other_rep):
    account = AccountFactory(owner=rep)
    with pytest.raises(services.AccountError):
        services.account_update(
            account=account, by=manager, fingerprint=services.account_fingerprint(account), data={}, owner=other_rep
        )
    assert Account.objects.get(pk=account.pk).owner == rep
    assert not AuditEvent.objects.filter(action=AuditAction.OWNER_CHANGED).exists()


@pytest.mark.parametrize(
    "existing",
    [
        "Huaxin Steel",
        "  huaxin steel ",
        "HUAXIN STEEL",
        "Huaxin Steel Co., Ltd.",
        "Huaxin Steel Ltd",
        "Huaxin Steel Inc.",
    ],
)
def test_duplicates_ignore_case_spaces_and_legal_suffix(existing):
    account = AccountFactory(name=existing)
    assert list(services.account_duplicates(name="Huaxin Steel Co., Ltd")) == [account]


def test_duplicates_of_a_chinese_name_ignore_the_company_suffix():
    account = AccountFactory(name="华信钢铁有限公司")
    assert list(services.account_duplicates(name="华信钢铁")) == [account]


@pytest.mark.parametrize("other", ["Huaxin Steel Works", "Huaxin", "Huaxin Steelltd"])
def test_different_names_are_not_duplicates(other):
    AccountFactory(name=other)
    assert not services.account_duplicates(name="Huaxin Steel").exists()


def test_a_suffix_counts_only_as_a_separate_word():
    AccountFactory(name="Zinc")
    assert not services.account_duplicates(name="Z Inc").exists()
    assert not services.account_duplicates(name="Z").exists()


def test_contact_create_ignores_a_posted_customer(rep, other_rep):
    mine, theirs = AccountFactory(owner=rep), AccountFactory(owner=other_rep)
    contact = services.contact_create(account=mine, by=rep, data={"name": "Li Wei", "account": theirs, "id": 5000})
    assert (contact.account, Contact.objects.filter(account=theirs).exists()) == (mine, False)


def test_contact_create_rejects_a_bad_email(rep):
    with pytest.raises(ValidationError):
        services.contact_create(account=AccountFactory(owner=rep), by=rep, data={"name": "Li", "email": "not-mail"})


def test_contact_update_keeps_the_customer(rep):
    contact = ContactFactory(account__owner=rep, name="Li")
    other = AccountFactory(owner=UserFactory())
    services.contact_update(contact=contact, by=rep, data={"title": "CTO", "account": other})
    contact.refresh_from_db()
    assert (contact.title, contact.account.owner) == ("CTO", rep)
