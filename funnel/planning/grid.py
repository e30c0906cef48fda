"""The quota grid: people (rows) × the year's months or quarters (columns), each cell the quota, what was won
in the period and the attainment; under it each team's split of its target among its people's quotas.

The cells' names carry the person and the period's first day; each cell posts what it showed beside what
was typed, so reps.quotas.quotas_save can tell a conflicting edit from a change.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db.models import QuerySet, Sum
from django.utils.translation import gettext as _

from reps.models import Quota, Team, User
from reps.quotas import LARGEST, QuotaCell, periods_of_year

from ..models import Target
from .attainment import ZERO, attainment, won_in_periods


def cell_name(person_id: int, start: date) -> str:
    return f"q-{person_id}-{start.isoformat()}"


def shown_name(person_id: int, start: date) -> str:
    return f"s-{person_id}-{start.isoformat()}"


def parse_amount(text: str) -> Decimal | None:
    """A typed amount: blank is None (no quota); thousands separators and a currency sign are allowed.
    Raises ValueError for anything else, negative or too large."""
    cleaned = text.strip().replace(",", "").replace("，", "").replace("¥", "").replace(" ", "")
    if not cleaned:
        return None
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(_("Enter an amount, such as 300000.")) from None
    if not amount.is_finite() or amount < 0 or amount > LARGEST:
        raise ValueError(_("Enter an amount from 0 to 999,999,999,999.99."))
    return amount.quantize(Decimal("0.01"))


def _shown_text(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.2f}"


@dataclass
class Cell:
    person_id: int
    start: date
    end: date
    quota: Decimal | None
    won: Decimal
    typed: str
    error: str = ""

    @property
    def name(self) -> str:
        return cell_name(self.person_id, self.start)

    @property
    def shown_name(self) -> str:
        return shown_name(self.person_id, self.start)

    @property
    def shown(self) -> str:
        return _shown_text(self.quota)

    @property
    def attainment(self) -> Decimal | None:
        return attainment(self.won, self.quota)


@dataclass
class Row:
    person: User
    cells: list[Cell] = field(default_factory=list)

    @property
    def quota_total(self) -> Decimal:
        return sum((cell.quota or ZERO for cell in self.cells), ZERO)

    @property
    def won_total(self) -> Decimal:
        return sum((cell.won for cell in self.cells), ZERO)

    @property
    def attainment(self) -> Decimal | None:
        return attainment(self.won_total, self.quota_total)


def build_rows(people: list[User], year: int, kind: str) -> list[Row]:
    """One row per person, one cell per period of the year: two queries (quotas, won by month)."""
    periods = periods_of_year(year, kind)
    ids = [person.pk for person in people]
    quotas = {
        (quota.user_id, quota.period_start): quota.amount
        for quota in Quota.objects.filter(user__in=ids, period_start__in=[start for start, _ in periods])
        if (quota.period_start, quota.period_end) in periods
    }
    won = won_in_periods(ids, periods)
    rows = []
    for person in people:
        row = Row(person)
        for start, end in periods:
            quota = quotas.get((person.pk, start))
            row.cells.append(Cell(person.pk, start, end, quota, won.get((person.pk, start), ZERO), _shown_text(quota)))
        rows.append(row)
    return rows


def read_post(rows: list[Row], data) -> tuple[list[QuotaCell], bool]:
    """The changed cells of a posted grid (typed ≠ shown) and whether any cell has an error. Each cell keeps
    what was typed, so the page re-shows it."""
    changes, errors = [], False
    for row in rows:
        for cell in row.cells:
            if cell.name not in data:
                continue
            cell.typed = data.get(cell.name, "")
            try:
                amount = parse_amount(cell.typed)
                shown = parse_amount(data.get(cell.shown_name, ""))
            except ValueError as error:
                cell.error, errors = str(error), True
                continue
            if amount != shown:
                changes.append(QuotaCell(cell.person_id, cell.start, cell.end, shown, amount))
    return changes, errors


def team_splits(teams: QuerySet[Team], people: QuerySet[User], year: int, kind: str) -> list[dict]:
    """Per team among `teams` and period of the year: its target for exactly that period (if set) beside the
    sum of the quotas of its people in `people`, and the difference. Two queries."""
    periods = periods_of_year(year, kind)
    starts = [start for start, _ in periods]
    sums = {
        (team, start): total
        for team, start, end, total in Quota.objects.filter(
            user__in=people, user__team__in=teams, period_start__in=starts
        )
        .values_list("user__team", "period_start", "period_end")
        .annotate(total=Sum("amount"))
        .order_by()
        if (start, end) in periods
    }
    targets = {
        (team, start): amount
        for team, start, end, amount in Target.objects.filter(team__in=teams, period_start__in=starts).values_list(
            "team", "period_start", "period_end", "amount"
        )
        if (start, end) in periods
    }
    splits = []
    for team in teams:
        cells = []
        for start, end in periods:
            target, total = targets.get((team.pk, start)), sums.get((team.pk, start))
            difference = None if target is None else (total or ZERO) - target
            cells.append({"start": start, "end": end, "target": target, "quotas": total, "difference": difference,
                          "gap": None if difference is None else abs(difference)})  # fmt: skip
        if any(cell["target"] is not None or cell["quotas"] is not None for cell in cells):
            splits.append({"team": team, "cells": cells})
    return splits
