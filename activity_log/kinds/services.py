"""Writes to the admin-edited list of activity kinds, each audited with its old and new values.

Kinds are never deleted (activities and plan items keep theirs, PROTECT); a deactivated kind is only
hidden from new choices.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from reps.models import AuditAction, User
from reps.services import audit_record

from ..models import ActivityKind
from ..services import LogError


def _check_name(name: str, exclude: ActivityKind | None = None) -> None:
    clash = ActivityKind.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise LogError(_("“%(name)s” is already in the list.") % {"name": name})


@transaction.atomic
def kind_create(*, name: str, order: int, by: User) -> ActivityKind:
    name = name.strip()
    _check_name(name)
    kind = ActivityKind.objects.create(name=name, order=order)
    detail = {"name": [None, name], "order": [None, order], "is_active": [None, True]}
    audit_record(action=AuditAction.CONFIG_CHANGED, actor=by, obj=kind, detail=detail)
    return kind


@transaction.atomic
def kind_update(*, kind: ActivityKind, by: User, name: str, order: int, is_active: bool) -> ActivityKind:
    """Renames, reorders, activates or deactivates a kind; at least one kind stays active."""
    current = ActivityKind.objects.select_for_update().get(pk=kind.pk)
    name = name.strip()
    _check_name(name, exclude=current)
    if not is_active and current.is_active and not ActivityKind.objects.filter(is_active=True).exclude(pk=current.pk):
        raise LogError(_("Keep at least one kind active: reps need one to record an activity."))
    wanted = {"name": name, "order": order, "is_active": is_active}
    changes = {key: [getattr(current, key), value] for key, value in wanted.items() if getattr(current, key) != value}
    if changes:
        for key, (_old, value) in changes.items():
            setattr(current, key, value)
        current.save(update_fields=list(changes))
        audit_record(action=AuditAction.CONFIG_CHANGED, actor=by, obj=current, detail=changes)
    return current
