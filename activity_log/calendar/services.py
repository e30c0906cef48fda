"""Making and stopping a person's private calendar address. The secret travels in the address only: the
database keeps its SHA-256, so a copy of the database does not open anyone's calendar."""

import hashlib
import secrets

from django.db import transaction

from reps.models import AuditAction, User
from reps.services import audit_record

from ..models import CalendarFeed


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_issue(*, user: User, include_names: bool, request=None) -> str:
    """A new address for `user` (the old one, if any, stops working); returns its secret, shown once."""
    token = secrets.token_urlsafe(32)
    replaced = CalendarFeed.objects.filter(user=user).delete()[0] > 0
    CalendarFeed.objects.create(user=user, token_hash=token_hash(token), include_names=include_names)
    detail = {"calendar_feed": "replaced" if replaced else "made", "include_names": include_names}
    audit_record(action=AuditAction.FIELD_CHANGED, request=request, actor=user, obj=user, detail=detail)
    return token


@transaction.atomic
def calendar_feed_revoke(*, user: User, request=None) -> bool:
    """Stops the address; False when there was none (nothing written, nothing audited)."""
    if not CalendarFeed.objects.filter(user=user).delete()[0]:
        return False
    detail = {"calendar_feed": "stopped"}
    audit_record(action=AuditAction.FIELD_CHANGED, request=request, actor=user, obj=user, detail=detail)
    return True


def calendar_feed_for(token: str) -> CalendarFeed | None:
    """The feed this secret opens, if any and if its person may still sign in."""
    if not token or len(token) > 100:
        return None
    return (
        CalendarFeed.objects.select_related("user").filter(token_hash=token_hash(token), user__is_active=True).first()
    )
