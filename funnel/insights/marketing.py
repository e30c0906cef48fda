"""The marketing page's figures: the funnel judges marketing's work. Per source or per campaign, what the deals
created in a period (the cohort) have become so far: how many came in, the share that reached each open stage,
won and lost, win rate, average cycle, won amount; and, where costs were entered, the period's cost and the cost
per won deal.

Everything is read from the deals themselves (the rollup has no campaigns): one grouped query over the cohort,
bounded by the period on an indexed creation time (opp_created; a manager's or rep's deals: opp_owner_created),
each deal's furthest open stage read from its stage history through the history's index on the deal. Rows are
folded in Python from the grouped rows (subjects × outcomes × stages, never one per deal). Measured on the
reference set (1M deals, 3M stage changes, a loaded 2-core machine): a manager's quarter under 1 ms; the whole
organisation's quarter (290,000 deals) about 2 s, against 0.2 s to count them: hence the rows are kept for a
few minutes per scope (FIGURES_KEPT), and the page says as of when.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    DurationField,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from ..models import Campaign, MarketingCost, Opportunity, Source, Stage, StageChange, StageKind
from .metrics import period_bounds, ratio

BY_SOURCE, BY_CAMPAIGN = "source", "campaign"
GROUPINGS = (BY_SOURCE, BY_CAMPAIGN)
WON_EVERYWHERE = 10**6  # a won deal went through every open stage, whichever it skipped
# The columns a table sorts on besides one per stage ("stage-<pk>", by its share), most first unless said.
SORT_KEYS = ("name", "inflow", "won", "lost", "win_rate", "cycle_days", "won_amount", "cost", "cost_per_won")
COST_KEYS = ("cost", "cost_per_won")
DEFAULT_SORT = "-inflow"
FIGURES_KEPT = 5 * 60  # seconds the grouped rows of one reader's scope and period are kept


@dataclass(frozen=True)
class MarketingScope:
    """The deals the figures count: `deals` (visible to the reader, narrowed by the filter, one pipeline), created
    from `start` to `end` (the reader's days), grouped `by` source or campaign."""

    deals: QuerySet[Opportunity]
    stages: list[Stage]  # the pipeline's open stages, in order
    start: date
    end: date
    by: str = BY_SOURCE
    with_costs: bool = False  # the figures count every deal, so the organisation's costs apply
    source: Source | None = None  # the filter's source: costs only of it (or of its campaigns)
    # What `deals` are, to keep the grouped rows under (the owners in view, the filter): None, not kept.
    cache_key: str | None = None


@dataclass
class Row:
    """One source or campaign (pk None: the deals without one)."""

    pk: int | None
    name: str = ""
    inflow: int = 0
    won: int = 0
    lost: int = 0
    won_amount: Decimal = Decimal(0)
    won_seconds: float = 0.0
    reached: dict[int, int] = field(default_factory=dict)  # furthest open stage order (or WON_EVERYWHERE) → deals
    cost: Decimal | None = None
    stages: list[dict] = field(default_factory=list)  # per open stage: {"stage", "count", "share"}
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def win_rate(self) -> Decimal | None:
        return ratio(self.won, self.won + self.lost)

    @property
    def cycle_days(self) -> Decimal | None:
        """Average days from creation to the win, over the won deals."""
        return Decimal(str(self.won_seconds / self.won / 86400)).quantize(Decimal("0.1")) if self.won else None

    @property
    def cost_per_won(self) -> Decimal | None:
        return (self.cost / self.won).quantize(Decimal("0.01")) if self.cost is not None and self.won else None

    def value(self, key: str):
        """The value a column sorts on: a stage column by its share."""
        if key.startswith("stage-"):
            return next((cell["share"] for cell in self.stages if f"stage-{cell['stage'].pk}" == key), None)
        if key == "name":  # the deals without a source or campaign come after the named ones
            return None if self.pk is None else self.name.casefold()
        return getattr(self, key)


def _furthest_open_stage(orders: dict[int, int]) -> Subquery:
    """The order of the furthest open stage a deal has entered (its first stage included), from its own stage
    changes alone: `orders` maps each open stage (archived ones too) to its order, so the history is read through
    its index on the deal with no join to the stages (a join had PostgreSQL probe the history once per stage)."""
    order = Case(*[When(to_stage_id=pk, then=Value(rank)) for pk, rank in orders.items()], default=None)
    entries = (
        StageChange.objects.filter(opportunity=OuterRef("pk"))
        .order_by()
        .values("opportunity")
        .annotate(furthest=Max(order, output_field=IntegerField()))
        .values("furthest")
    )
    return Subquery(entries, output_field=IntegerField())


def open_stage_orders(stages: list[Stage]) -> dict[int, int]:
    """Every open stage of the stages' pipeline, archived ones too (a deal may have passed one), with its order."""
    pipelines = {stage.pipeline_id for stage in stages}
    rows = Stage.objects.filter(pipeline_id__in=pipelines, kind=StageKind.OPEN).values_list("pk", "order")
    return dict(rows) if pipelines else {}


def cohort(scope: MarketingScope) -> QuerySet[Opportunity]:
    """The deals created in the period, on the half-open [first day 00:00, the day after the last) of the reader's
    time zone, so the index on created_at applies."""
    begin, after = period_bounds(scope.start, scope.end)
    return scope.deals.filter(created_at__gte=begin, created_at__lt=after)


def grouped(scope: MarketingScope) -> list[dict]:
    """One row per source, campaign, status and furthest open stage: how many deals, and the won ones' amount and
    days (both groupings at once: the other tab reads the same rows). Kept FIGURES_KEPT seconds under
    `scope.cache_key` when the caller gives one, with the time they were read: sorting, the other tab and the CSV
    then cost no second read (an organisation's quarter is seconds of history at a million deals)."""
    key = _cache_key(scope)
    found = cache.get(key) if key else None
    if found is not None:
        return found
    won = Q(status=StageKind.WON)
    cycle = Sum(F("closed_at") - F("created_at"), filter=won, output_field=DurationField())
    rows = list(
        cohort(scope)
        .annotate(furthest=_furthest_open_stage(open_stage_orders(scope.stages)))
        .values("source_id", "campaign_id", "status", "furthest")
        .annotate(n=Count("*"), won_amount=Sum("amount", filter=won), cycle=cycle)
        .order_by()
    )
    found = {"rows": rows, "as_of": timezone.now()}
    if key:
        cache.set(key, found, FIGURES_KEPT)
    return found


def _cache_key(scope: MarketingScope) -> str | None:
    """A digest of what the rows count: the caller's name for the deals (their owners and filters), the period,
    and the stages as they are now."""
    if scope.cache_key is None:
        return None
    parts = (scope.cache_key, scope.start, scope.end, [(stage.pk, stage.order) for stage in scope.stages])
    return "funnel:marketing:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _fold(scope: MarketingScope, rows: list[dict]) -> dict[int | None, Row]:
    """The grouped rows added up per source or campaign (scope.by)."""
    found: dict[int | None, Row] = {}
    for values in rows:
        row = found.setdefault(values[f"{scope.by}_id"], Row(values[f"{scope.by}_id"]))
        n = values["n"]
        row.inflow += n
        if values["status"] == StageKind.WON:
            row.won += n
            row.won_amount += values["won_amount"] or Decimal(0)
            row.won_seconds += values["cycle"].total_seconds() if values["cycle"] else 0.0
            reach = WON_EVERYWHERE
        else:
            row.lost += n if values["status"] == StageKind.LOST else 0
            reach = values["furthest"] or 0
        row.reached[reach] = row.reached.get(reach, 0) + n
    return found


def _stage_cells(row: Row, stages: list[Stage]) -> list[dict]:
    """Per open stage: the deals that reached it or a later one, and their share of the row's new deals."""
    cells = []
    for stage in stages:
        count = sum(n for order, n in row.reached.items() if order >= stage.order)
        cells.append({"stage": stage, "count": count, "share": ratio(count, row.inflow)})
    return cells


def _prorated(amount: Decimal, first: date, last: date, start: date, end: date) -> Decimal:
    """The part of a cost over first..last that falls in start..end, by days (a month inside the period: all)."""
    overlap = (min(last, end) - max(first, start)).days + 1
    return amount * overlap / ((last - first).days + 1)


def costs(scope: MarketingScope) -> dict[int, Decimal]:
    """The cost of each source or campaign in the period; a month partly in it counts for its days in it."""
    subject = f"{scope.by}_id"
    entered = MarketingCost.objects.filter(
        **{f"{scope.by}__isnull": False}, period_start__lte=scope.end, period_end__gte=scope.start
    )
    if scope.source is not None:
        entered = entered.filter(
            **({"source": scope.source} if scope.by == BY_SOURCE else {"campaign__source": scope.source})
        )
    totals: dict[int, Decimal] = {}
    for pk, first, last, amount in entered.values_list(subject, "period_start", "period_end", "amount"):
        totals[pk] = totals.get(pk, Decimal(0)) + _prorated(amount, first, last, scope.start, scope.end)
    return {pk: total.quantize(Decimal("0.01")) for pk, total in totals.items()}


def _names(scope: MarketingScope, pks: set[int]) -> dict[int, str]:
    model = Source if scope.by == BY_SOURCE else Campaign
    return dict(model.objects.filter(pk__in=pks).values_list("pk", "name")) if pks else {}


def figures(scope: MarketingScope) -> dict:
    """{"rows": one Row per source or campaign with new deals in the period or (with costs) a cost in it, the
    deals without one last; "total": the same over all of them}."""
    read = grouped(scope)
    rows = _fold(scope, read["rows"])
    spent = costs(scope) if scope.with_costs else {}
    for pk in spent:
        rows.setdefault(pk, Row(pk))
    names = _names(scope, {pk for pk in rows if pk is not None})
    total = Row(None)
    for row in rows.values():
        row.name = names.get(row.pk, "")
        row.cost = spent.get(row.pk) if row.pk is not None else None
        row.stages = _stage_cells(row, scope.stages)
        _add(total, row)
    total.stages = _stage_cells(total, scope.stages)
    total.cost = sum(spent.values(), Decimal(0)) if spent else None
    return {"rows": list(rows.values()), "total": total, "as_of": read["as_of"]}


def _add(total: Row, row: Row) -> None:
    total.inflow += row.inflow
    total.won += row.won
    total.lost += row.lost
    total.won_amount += row.won_amount
    total.won_seconds += row.won_seconds
    for order, n in row.reached.items():
        total.reached[order] = total.reached.get(order, 0) + n


# --- sorting ------------------------------------------------------------------------------------------


def sort_keys(stages: list[Stage], *, with_costs: bool) -> set[str]:
    keys = {f"stage-{stage.pk}" for stage in stages} | set(SORT_KEYS)
    return keys if with_costs else keys - set(COST_KEYS)


def parse_sort(value: str | None, stages: list[Stage], *, with_costs: bool) -> tuple[str, bool]:
    """(column key, descending) from ?sort= ("won", "-won"); anything else is the default, most new deals first."""
    text = (value or "").strip()
    key, descending = (text[1:], True) if text.startswith("-") else (text, False)
    if key not in sort_keys(stages, with_costs=with_costs):
        return DEFAULT_SORT[1:], True
    return key, descending


def sorted_rows(rows: list[Row], key: str, descending: bool) -> list[Row]:
    """Rows in the column's order, ties by name; empty values (no share, no cost) last either way, and the deals
    without a source or campaign after the named ones with the same value."""
    present = [row for row in rows if row.value(key) is not None]
    empty = [row for row in rows if row.value(key) is None]
    present.sort(key=lambda row: (row.pk is None, row.name.casefold()))
    present.sort(key=lambda row: row.value(key), reverse=descending)
    empty.sort(key=lambda row: (row.pk is None, row.name.casefold()))
    return present + empty
