"""Quotas (业绩指标): the calendar periods they are set for, who may set whose, and the one write.

A quota covers one calendar month or one calendar quarter. Managers set them for the active people of the
teams they manage, admins for anyone active; nobody sets their own. A grid's changes are saved together:
each cell carries the amount it showed, and if any cell was changed by someone else meanwhile, nothing is
saved and the cells are named (QuotaConflict). Every change is audited (QUOTA_CHANGED, old → new).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .models import AuditAction, Quota, Role, User
from .services import audit_record

MONTH, QUARTER = "month", "quarter"
LARGEST = Decimal("999999999999.99")  # max_digits=14, decimal_places=2


class QuotaError(Exception):
    """A refused quota write: nothing was saved."""


class QuotaConflict(QuotaError):
    """Someone else changed these cells since the page was read: nothing was saved."""

    def __init__(self, cells: list["QuotaCell"]):
        self.cells = cells
        super().__init__(_("Someone else changed these quotas while you were editing. Nothing was saved."))


def month_of(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def quarter_of(day: date) -> tuple[date, date]:
    start = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return start, (start + timedelta(days=95)).replace(day=1) - timedelta(days=1)


def period_of(kind: str, day: date) -> tuple[date, date]:
    return quarter_of(day) if kind == QUARTER else month_of(day)


def periods_of_year(year: int, kind: str) -> list[tuple[date, date]]:
    """The year's twelve months or four quarters, in order."""
    step = 3 if kind == QUARTER else 1
    return [period_of(kind, date(year, month, 1)) for month in range(1, 13, step)]


def period_kind(start: date, end: date) -> str | None:
    """MONTH or QUARTER when (start, end) is exactly one calendar month or quarter, else None."""
    if (start, end) == month_of(start):
        return MONTH
    if (start, end) == quarter_of(start):
        return QUARTER
    return None


def quota_people(by: User) -> QuerySet[User]:
    """Whose quotas `by` may set: managers the active reps and managers of their teams, admins anyone
    active who is not an admin; never themselves. The one visibility rule, narrowed."""
    if by.role not in (Role.MANAGER, Role.ADMIN):
        return User.objects.none()
    return User.objects.visible_to(by).active().exclude(pk=by.pk).exclude(role=Role.ADMIN)


def in_force(people, day: date) -> dict[int, list[Quota]]:
    """Each person's quotas whose period contains `day` (a month's and a quarter's may both be), by id."""
    found: dict[int, list[Quota]] = {}
    rows = Quota.objects.filter(user__in=people, period_start__lte=day, period_end__gte=day)
    for quota in rows.order_by("period_end", "period_start"):
        found.setdefault(quota.user_id, []).append(quota)
    return found


@dataclass(frozen=True)
class QuotaCell:
    """One cell of a grid: a person's quota for a period, what the page showed (None: none) and what was typed
    (None: remove it)."""

    person_id: int
    period_start: date
    period_end: date
    shown: Decimal | None
    amount: Decimal | None


def _shown(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def _check(cell: QuotaCell) -> None:
    if period_kind(cell.period_start, cell.period_end) is None:
        raise QuotaError(_("A quota covers one calendar month or quarter."))
    if cell.amount is not None and not (0 <= cell.amount <= LARGEST):
        raise QuotaError(_("A quota is an amount from 0 to 999,999,999,999.99."))


def quotas_save(*, cells: list[QuotaCell], by: User) -> int:
    """Saves a grid's changed cells in one transaction and returns how many quotas changed (0: nothing to
    save). Refused (QuotaError, nothing saved) for a person `by` may not set, a period that is not a calendar
    month or quarter, or an amount out of range; QuotaConflict when any cell's stored amount is no longer
    what the page showed."""
    for cell in cells:
        _check(cell)
    allowed = set(quota_people(by).filter(pk__in={cell.person_id for cell in cells}).values_list("pk", flat=True))
    if any(cell.person_id not in allowed for cell in cells):
        raise QuotaError(_("You can set quotas only for the active people of your teams."))
    try:
        with transaction.atomic():
            return _write(cells, by)
    except IntegrityError:  # a quota created meanwhile for the same person and period
        raise QuotaConflict(cells) from None


def _write(cells: list[QuotaCell], by: User) -> int:
    stored = {
        (quota.user_id, quota.period_start, quota.period_end): quota
        for quota in Quota.objects.select_for_update()
        .filter(user__in={cell.person_id for cell in cells}, period_start__in={cell.period_start for cell in cells})
        .order_by("pk")  # one lock order for every writer
    }
    conflicts = []
    for cell in cells:
        quota = stored.get((cell.person_id, cell.period_start, cell.period_end))
        if (quota.amount if quota else None) != cell.shown:
            conflicts.append(cell)
    if conflicts:
        raise QuotaConflict(conflicts)
    changed = 0
    for cell in cells:
        quota = stored.get((cell.person_id, cell.period_start, cell.period_end))
        old = quota.amount if quota else None
        if old == cell.amount:
            continue
        changed += 1
        if cell.amount is None:
            object_id = str(quota.pk)
            quota.delete()
        else:
            if quota is None:
                quota = Quota(user_id=cell.person_id, period_start=cell.period_start, period_end=cell.period_end)
            quota.amount, quota.updated_by = cell.amount, by
            quota.save()
            object_id = str(quota.pk)
        detail = {
            "person": cell.person_id,
            "period": [cell.period_start.isoformat(), cell.period_end.isoformat()],
            "amount": [_shown(old), _shown(cell.amount)],
        }
        audit_record(
            action=AuditAction.QUOTA_CHANGED, actor=by, object_type="reps.quota", object_id=object_id, detail=detail
        )
    return changed
