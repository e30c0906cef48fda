"""Territories (销售区域): which ones a person may choose, and the admin's writes.

A territory is assigned to a team (Territory.team) and people to a territory (User.territory); customers belong
to one (funnel.Account.territory). Admins manage them (funnel.configuration); every write here is audited, old →
new: a territory's own fields as CONFIG_CHANGED (related rows by id, as Django admin's changes are), a person's
territory as FIELD_CHANGED through reps.services.user_update.
"""

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from .models import AuditAction, Role, Team, Territory, User
from .services import audit_record, store_changes, user_update

FIELDS = ["name", "description", "team"]


class TerritoryError(Exception):
    """A refused territory write: nothing was saved."""


def territory_choices(user: User) -> QuerySet[Territory]:
    """The territories `user` may choose for a customer or filter by: an admin every one; anyone else those
    assigned to their own teams (a manager's: the teams they manage and their own) and their own territory."""
    if not (user and user.is_authenticated and user.is_active):
        return Territory.objects.none()
    if user.role == Role.ADMIN:
        return Territory.objects.order_by("name")
    own = Q(pk=user.territory_id) if user.territory_id else Q(pk__in=[])
    return Territory.objects.filter(Q(team__in=Team.objects.visible_to(user)) | own).order_by("name")


def _check_name(name: str, territory: Territory | None) -> str:
    name = " ".join(name.split())
    if not name:
        raise TerritoryError(_("A territory needs a name."))
    others = Territory.objects.filter(name__iexact=name)
    if territory is not None:
        others = others.exclude(pk=territory.pk)
    if others.exists():
        raise TerritoryError(_("A territory named “%(name)s” already exists.") % {"name": name})
    return name


def _audited(value):
    return value.pk if hasattr(value, "pk") else value


@transaction.atomic
def territory_create(*, name: str, description: str = "", team: Team | None = None, by: User) -> Territory:
    """A new territory, optionally assigned to a team; audited with its values."""
    territory = Territory.objects.create(name=_check_name(name, None), description=description.strip(), team=team)
    detail = {field: [None, _audited(getattr(territory, field))] for field in FIELDS}
    audit_record(action=AuditAction.CONFIG_CHANGED, actor=by, obj=territory, detail=detail)
    return territory


@transaction.atomic
def territory_update(*, territory: Territory, name: str, description: str, team: Team | None, by: User) -> dict:
    """Renames, describes or reassigns a territory to a team; returns the changes (old → new, audited), {} when
    the values are the ones stored (nothing written)."""
    stored = Territory.objects.select_for_update().get(pk=territory.pk)
    new = {"name": _check_name(name, stored), "description": description.strip(), "team": team}
    changes = store_changes(stored, new, shown=_audited)
    if changes:
        audit_record(action=AuditAction.CONFIG_CHANGED, actor=by, obj=stored, detail=changes)
    for field in FIELDS:
        setattr(territory, field, getattr(stored, field))
    return changes


def assignable_people(by: User) -> QuerySet[User]:
    """Whom an admin may assign to a territory: the active people who are not admins."""
    if by.role != Role.ADMIN:
        return User.objects.none()
    return User.objects.active().exclude(role=Role.ADMIN)


def territory_assign(*, person: User, territory: Territory | None, by: User) -> bool:
    """Puts a person in a territory, or takes them out of any (None: a deactivated person too); False when that is
    where they were already. Audited old → new as a change of the person's details (FIELD_CHANGED)."""
    if by.role != Role.ADMIN:
        raise TerritoryError(_("Only an admin assigns territories."))
    if territory is not None and not assignable_people(by).filter(pk=person.pk).exists():
        raise TerritoryError(_("Only active reps and managers can be assigned to a territory."))
    return bool(user_update(user=person, by=by, data={"territory": territory}))
