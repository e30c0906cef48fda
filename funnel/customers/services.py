"""Writes about customers (客户) and their contacts, plus the reads those writes depend on.

Only the fields named below are ever copied from `data`, so a posted `id`, `created_at` or
`owner_id` cannot reach the row (QUALITY S10). A customer edit carries the fingerprint of the
values the user saw; if the row changed meanwhile the edit is refused (QUALITY R10).
"""

import hashlib
import json

from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower, Trim
from django.utils.translation import gettext as _

from reps.models import AuditAction, Territory, User
from reps.services import audit_record
from reps.territories import territory_choices

from ..models import Account, Contact

ACCOUNT_FIELDS = ["name", "industry", "city", "address", "phone", "website", "notes"]
CONTACT_FIELDS = ["name", "title", "phone", "email"]

# Legal-form endings that do not make two customers different ("Huaxin Steel Co., Ltd." = "Huaxin Steel").
NAME_SUFFIXES = [
    "有限责任公司",
    "股份有限公司",
    "集团有限公司",
    "有限公司",
    "集团",
    "公司",
    "co., ltd.",
    "co., ltd",
    "co. ltd.",
    "co.,ltd.",
    "co.,ltd",
    "co ltd",
    "company limited",
    "limited",
    "ltd.",
    "ltd",
    "inc.",
    "inc",
    "corporation",
    "corp.",
    "corp",
    "gmbh",
    "llc",
]


class AccountError(Exception):
    """A customer write that is refused; str(error) is the message for the user."""


class StaleAccount(AccountError):
    """The customer changed after the user opened the form; `current` holds the values now stored."""

    def __init__(self, current: Account):
        self.current = current
        super().__init__(
            _("Someone else changed “%(name)s” after you opened it. Review the current values and save again.")
            % {"name": current.name}
        )


def account_fingerprint(account: Account) -> str:
    """A digest of the editable values (owner and territory too) as stored: it changes whenever an edit would
    conflict."""
    values = [getattr(account, field) for field in ACCOUNT_FIELDS] + [account.owner_id, account.territory_id]
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()[:32]


def _name_core(name: str) -> str:
    core = " ".join(name.split()).casefold()
    for suffix in NAME_SUFFIXES:
        rest = core.removesuffix(suffix)
        # A Latin suffix counts only as a separate word: "Zinc" is not "Z Inc".
        if rest and rest != core and (not suffix.isascii() or rest[-1] in " ,."):
            return rest.rstrip(" ,.")
    return core


def account_duplicates(*, name: str) -> QuerySet[Account]:
    """Customers whose name equals `name`, ignoring case, surrounding spaces and a legal-form suffix."""
    core = _name_core(name)
    if not core:
        return Account.objects.none()
    spellings = {core}
    for suffix in NAME_SUFFIXES:
        spellings |= {f"{core} {suffix}", f"{core}, {suffix}"} if suffix.isascii() else {f"{core}{suffix}"}
    return Account.objects.annotate(plain_name=Lower(Trim("name"))).filter(plain_name__in=spellings)


def _check_owner(owner: User, by: User) -> None:
    if not User.objects.visible_to(by).active().filter(pk=owner.pk).exists():
        raise AccountError(_("You cannot give a customer to %(user)s.") % {"user": owner})


def _check_territory(territory: Territory, by: User) -> None:
    if not territory_choices(by).filter(pk=territory.pk).exists():
        raise AccountError(_("You cannot put a customer in the territory %(territory)s.") % {"territory": territory})


def default_territory_id(*, by: User, owner: User) -> int | None:
    """A new customer's territory when none is chosen: its creator's, else (a manager or an admin without one)
    its owner's."""
    return by.territory_id or owner.territory_id


@transaction.atomic
def account_create(*, by: User, owner: User, data: dict, territory: Territory | None = None) -> Account:
    """A new customer owned by `owner`, who must be an active user within `by`'s view, in `territory` (one of
    `by`'s choices), else in default_territory_id's."""
    _check_owner(owner, by)
    if territory is not None:
        _check_territory(territory, by)
    territory_id = territory.pk if territory is not None else default_territory_id(by=by, owner=owner)
    fields = {field: data[field] for field in ACCOUNT_FIELDS if field in data}
    account = Account(owner=owner, territory_id=territory_id, **fields)
    account.full_clean()
    account.save()
    return account


KEEP = object()  # account_update's territory when the caller does not change it


@transaction.atomic
def account_update(
    *, account: Account, by: User, fingerprint: str, data: dict, owner: User | None = None, territory=KEEP
) -> Account:
    """Edits the customer's details and, optionally, its owner and its territory (None: none; each audited old →
    new); refuses a stale fingerprint, and a territory that is not one of `by`'s choices."""
    current = Account.objects.select_for_update().select_related("owner").get(pk=account.pk)
    if fingerprint != account_fingerprint(current):
        raise StaleAccount(current)
    for field in ACCOUNT_FIELDS:
        if field in data:
            setattr(current, field, data[field])
    if owner is not None and owner.pk != current.owner_id:
        _check_owner(owner, by)
        audit_record(
            action=AuditAction.OWNER_CHANGED, actor=by, obj=current, detail={"owner": [current.owner_id, owner.pk]}
        )
        current.owner = owner
    new_territory = None if territory is None or territory is KEEP else territory.pk
    if territory is not KEEP and new_territory != current.territory_id:
        if territory is not None:
            _check_territory(territory, by)
        audit_record(action=AuditAction.FIELD_CHANGED, actor=by, obj=current,
                     detail={"territory": [current.territory_id, new_territory]})  # fmt: skip
        current.territory_id = new_territory
    current.full_clean()
    current.save()
    return current


@transaction.atomic
def contact_create(*, account: Account, by: User, data: dict) -> Contact:
    """A new contact of `account`; the caller has already checked that `by` may see the customer."""
    contact = Contact(account=account, **{field: data[field] for field in CONTACT_FIELDS if field in data})
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, by: User, data: dict) -> Contact:
    """Edits a contact's own fields; the customer it belongs to never changes here."""
    current = Contact.objects.select_for_update().get(pk=contact.pk)
    for field in CONTACT_FIELDS:
        if field in data:
            setattr(current, field, data[field])
    current.full_clean()
    current.save()
    return current
