"""Writes about people and security events. Each function is small, keyword-only and atomic."""

import logging

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from .backends import find_login_user, normalise_username
from .models import AuditAction, AuditEvent, Role, User

log = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or the entry our own proxies appended to X-Forwarded-For."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or None


def store_changes(stored: models.Model, new: dict, *, shown=lambda value: value) -> dict:
    """Sets on `stored` (a row just read for update) each of `new`'s values that differs from it, saves those
    fields and returns them as the audit trail keeps them, {field: [old, new]} written by `shown`; {} when every
    value is the stored one (nothing is written)."""
    changes = {}
    for field, value in new.items():
        old, plain = shown(getattr(stored, field)), shown(value)
        if old != plain:
            changes[field] = [old, plain]
            setattr(stored, field, value)
    if changes:
        stored.save(update_fields=list(changes))
    return changes


def audit_record(
    *,
    action: str,
    request: HttpRequest | None = None,
    actor: User | None = None,
    username: str = "",
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    detail: dict | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Writes one audit row (and one log line) for a security-relevant event; `ip` is for work a request
    started and a job finishes (an export), else the request's address is taken."""
    if obj is not None:
        object_type, object_id = obj._meta.label_lower, str(obj.pk)
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    event = AuditEvent.objects.create(
        action=action,
        actor=actor,
        username=(username or (actor.username if actor else ""))[:150],
        ip=client_ip(request) if request is not None else ip,
        object_type=object_type,
        object_id=object_id,
        detail=detail or {},
    )
    log.info(
        "audit %s user=%s ip=%s object=%s:%s", action, event.username, event.ip, event.object_type, event.object_id
    )
    return event


def _recent_failures(**lookup) -> int:
    since = timezone.now() - settings.LOGIN_FAILURE_WINDOW
    return AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, at__gte=since, **lookup).count()


def login_key(*, username: str) -> str:
    """The throttle's name for a typed username: the account it would sign in to, else the name read as the
    sign-in reads it, case folded. " rep3", "rep3 ", "\trep3", "REP3" and "ｒｅｐ3" share one counter (S34)."""
    user = find_login_user(username)
    name = user.username if user else normalise_username(username).replace("\x00", "")  # PostgreSQL stores no NUL
    return name.casefold()[:150]


def login_is_throttled(*, key: str, ip: str | None) -> bool:
    """True while the account (its login_key) or the address has too many recent failures; it cools off."""
    if _recent_failures(username=key) >= settings.LOGIN_FAILURES_PER_ACCOUNT:
        return True
    return ip is not None and _recent_failures(ip=ip) >= settings.LOGIN_FAILURES_PER_IP


def login_record_failure(*, request: HttpRequest, key: str) -> None:
    audit_record(action=AuditAction.LOGIN_FAILED, request=request, username=key)


# A person's details that Django admin may change besides role, active and password; each change is
# audited as FIELD_CHANGED with old → new (related rows by id).
PERSON_FIELDS = ["username", "first_name", "last_name", "email", "language", "time_zone", "team", "territory"]


def _stored(user: User) -> User:
    """The person's row as stored, locked: old values come from here, never from a caller's (form's) copy."""
    return User.objects.select_for_update().get(pk=user.pk)


def _sync(user: User, stored: User, fields: list[str]) -> None:
    for field in fields:
        setattr(user, field, getattr(stored, field))


@transaction.atomic
def user_set_role(*, user: User, role: str, by: User | None = None) -> User:
    """Changes a role; admin rights in Django admin follow the role. Takes effect on the next request."""
    stored = _stored(user)
    old = stored.role
    stored.role = role
    stored.is_staff = stored.is_superuser = role == Role.ADMIN
    stored.save(update_fields=["role", "is_staff", "is_superuser"])
    if old != role:
        audit_record(action=AuditAction.ROLE_CHANGED, actor=by, obj=stored, detail={"old": old, "new": role})
    _sync(user, stored, ["role", "is_staff", "is_superuser"])
    return user


@transaction.atomic
def user_deactivate(*, user: User, by: User | None = None) -> User:
    """Signs the person out of every session at once and keeps those sessions ended even if they are
    reactivated (the session generation is part of each session's hash). Audited; nothing if already inactive."""
    stored = _stored(user)
    if stored.is_active:
        stored.is_active = False
        stored.session_epoch += 1
        stored.save(update_fields=["is_active", "session_epoch"])
        audit_record(action=AuditAction.DEACTIVATED, actor=by, obj=stored)
    _sync(user, stored, ["is_active", "session_epoch"])
    return user


@transaction.atomic
def user_reactivate(*, user: User, by: User | None = None) -> User:
    """Lets a deactivated person sign in again (a new sign-in: their old sessions stay ended). Audited."""
    stored = _stored(user)
    if not stored.is_active:
        stored.is_active = True
        stored.save(update_fields=["is_active"])
        audit_record(action=AuditAction.REACTIVATED, actor=by, obj=stored)
    _sync(user, stored, ["is_active"])
    return user


def _person_value(user: User, field: str):
    return getattr(user, User._meta.get_field(field).attname)


@transaction.atomic
def user_update(*, user: User, by: User, data: dict) -> dict:
    """Changes a person's details (PERSON_FIELDS, audited old → new), role and active flag (through
    user_set_role, user_deactivate, user_reactivate). Returns the detail changes; `data` holds only
    what the caller changed."""
    unknown = set(data) - {*PERSON_FIELDS, "role", "is_active"}
    if unknown:  # a field added to the admin form must be added here too, or it would be dropped unaudited
        raise ValueError(f"user_update does not write {sorted(unknown)}")
    stored = _stored(user)
    new = {field: data[field] for field in PERSON_FIELDS if field in data}
    changes = {}
    for field, value in new.items():
        old = _person_value(stored, field)
        plain = value.pk if isinstance(value, models.Model) else value
        if old != plain:
            changes[field] = [old, plain]
            setattr(stored, field, value)
    if changes:
        stored.save(update_fields=list(changes))
        audit_record(action=AuditAction.FIELD_CHANGED, actor=by, obj=stored, detail=changes)
    if "role" in data:
        user_set_role(user=user, role=data["role"], by=by)
    if data.get("is_active") is False:
        user_deactivate(user=user, by=by)
    elif data.get("is_active") is True:
        user_reactivate(user=user, by=by)
    return changes


@transaction.atomic
def user_added(*, user: User, by: User) -> User:
    """Records a person Django admin's add form has just saved (same transaction); admin rights follow the role."""
    user_set_role(user=user, role=user.role, by=by)
    detail = {"username": user.username, "role": user.role}
    audit_record(action=AuditAction.USER_ADDED, actor=by, obj=user, detail=detail)
    return user


def user_password_set(*, user: User, by: User) -> None:
    """Records that an admin set this person's password (Django admin's form saved it in the same
    transaction); the person's sessions have ended with the old password's hash."""
    audit_record(action=AuditAction.PASSWORD_CHANGED, actor=by, obj=user, detail={"by_admin": True})


@transaction.atomic
def user_change_password(*, request: HttpRequest, user: User, password: str) -> None:
    """Sets the password; the other sessions of this user end, this one stays signed in (ASVS 3.3.3)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    update_session_auth_hash(request, user)
    audit_record(action=AuditAction.PASSWORD_CHANGED, request=request, actor=user)


def user_set_preferences(*, user: User, language: str, time_zone: str) -> User:
    user.language = language
    user.time_zone = time_zone
    user.save(update_fields=["language", "time_zone"])
    return user
