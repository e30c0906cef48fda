"""The admin's writes of team targets (until quotas exist): each one audited as CONFIG_CHANGED with old → new.

A refusal (a second target for the same team and dates, an end before the start, a negative amount)
raises FunnelError and changes nothing.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from reps.models import AuditAction, Team, User
from reps.services import audit_record, store_changes

from ..models import Target
from ..opportunities.services import FunnelError

FIELDS = ["team", "period_start", "period_end", "amount"]


def _shown(value) -> str | int | None:
    """A JSON-safe value for the audit detail: ids for teams, ISO dates, amounts as text."""
    if isinstance(value, Team):
        return value.pk
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _check(*, team: Team, period_start: date, period_end: date, amount: Decimal, exclude: int | None = None) -> None:
    if period_end < period_start:
        raise FunnelError(_("The period must end on or after its first day."))
    if amount < 0:
        raise FunnelError(_("A target cannot be negative."))
    clash = Target.objects.filter(team=team, period_start=period_start, period_end=period_end).exclude(pk=exclude)
    if clash.exists():
        raise FunnelError(_("This team already has a target for these dates. Edit that one instead."))


@transaction.atomic
def target_create(*, team: Team, period_start: date, period_end: date, amount: Decimal, by: User) -> Target:
    """Sets a team's target for a period."""
    _check(team=team, period_start=period_start, period_end=period_end, amount=amount)
    target = Target.objects.create(
        team=team, period_start=period_start, period_end=period_end, amount=amount, created_by=by
    )
    detail = {field: [None, _shown(getattr(target, field))] for field in FIELDS}
    audit_record(action=AuditAction.CONFIG_CHANGED, actor=by, obj=target, detail=detail)
    return target


@transaction.atomic
def target_update(
    *, target: Target, by: User, team: Team, period_start: date, period_end: date, amount: Decimal
) -> Target:
    """Changes a target's team, dates or amount; writes an audit row only if something changed."""
    current = Target.objects.select_for_update().get(pk=target.pk)
    _check(team=team, period_start=period_start, period_end=period_end, amount=amount, exclude=current.pk)
    new = {"team": team, "period_start": period_start, "period_end": period_end, "amount": amount}
    changes = store_changes(current, new, shown=_shown)
    if changes:
        audit_record(action=AuditAction.CONFIG_CHANGED, actor=by, obj=current, detail=changes)
    return current
