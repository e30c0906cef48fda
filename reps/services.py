"""Writes about people and security events. Each function is small, keyword-only and atomic."""

import logging

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

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


def login_is_throttled(*, username: str, ip: str | None) -> bool:
    """True while the account or the address has too many recent failures; it cools off by itself."""
    if _recent_failures(username=username.lower()[:150]) >= settings.LOGIN_FAILURES_PER_ACCOUNT:
        return True
    return ip is not None and _recent_failures(ip=ip) >= settings.LOGIN_FAILURES_PER_IP


def login_record_failure(*, request: HttpRequest, username: str) -> None:
    # Usernames are compared case-insensitively so "Rep" and "rep" share one counter.
    audit_record(action=AuditAction.LOGIN_FAILED, request=request, username=username.lower())


@transaction.atomic
def user_set_role(*, user: User, role: str, by: User | None = None) -> User:
    """Changes a role; admin rights in Django admin follow the role. Takes effect on the next request."""
    old = user.role
    user.role = role
    user.is_staff = user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    if old != role:
        audit_record(action=AuditAction.ROLE_CHANGED, actor=by, obj=user, detail={"old": old, "new": role})
    return user


@transaction.atomic
def user_deactivate(*, user: User, by: User | None = None) -> User:
    """A deactivated user is signed out of every session at their next request (ModelBackend checks is_active)."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(action=AuditAction.DEACTIVATED, actor=by, obj=user)
    return user


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
