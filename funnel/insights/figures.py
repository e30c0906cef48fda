"""The dashboard's figures for one scope, added up from the rollup (funnel.insights.rollup) at read time.

Any period costs the same few grouped queries over the rollup's day rows, whatever its dates: an
organisation reads the all-owners rows, a team or a rep their owners' rows. Days are each deal's owner's
local days (funnel.models.rollup). The figures are as of the rollup's last refresh, which the page
shows; a read that finds changes not yet folded in starts a refresh in the background (config.jobs) and
answers at once with what is there.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum

from config import jobs
from reps.models import Role, User, person_name

from ..models import Opportunity, Pipeline, Source, Stage, StageChange
from ..models.rollup import ALL_OWNERS, DealDay, FlowDay, OpenDeals, RollupDirt, RollupState, StayLength
from . import calibration
from .metrics import TOTALS, ratio

REFRESH_ASKED = "funnel:rollup-refresh-asked"
HISTORY_ASKED = "funnel:calibration-asked"
# COUNT(*), not COUNT(id): the forecast's index holds no id, and the count is then read from the index alone.
FORECAST = {**TOTALS, "count": Count("*")}
REFRESH_ASK_EVERY = 30  # seconds: a page read asks for a refresh at most this often
FIGURES_KEPT = 15 * 60  # seconds a scope's figures stay in the cache (a refresh changes their key anyway)


@dataclass(frozen=True)
class FigureScope:
    """What a set of figures counts: the owners' deals in one pipeline (and source) over [start, end]."""

    owner_ids: tuple[int, ...]
    people_ids: tuple[int, ...]  # the active users in view that the per-rep table starts from
    pipeline: Pipeline
    source: Source | None
    start: date
    end: date
    everyone: bool = False  # the owners are every user: the all-owners rows answer
    # (pk, username, first name, last name, role) of each owner, read with their ids: names without a query
    names: tuple[tuple, ...] = ()

    def owners_q(self, *, field: str = "owner_id") -> Q:
        return Q(**{field: ALL_OWNERS}) if self.everyone else Q(**{f"{field}__in": self.owner_ids})

    def days(self, model) -> QuerySet:
        rows = model.objects.filter(self.owners_q(), pipeline_id=self.pipeline.pk, day__gte=self.start,
                                    day__lte=self.end)  # fmt: skip
        return rows.filter(source_id=self.source.pk) if self.source else rows

    def owner_days(self, model) -> QuerySet:
        """Per-owner rows, for the per-rep table: every owner's own rows even for the organisation."""
        rows = model.objects.filter(pipeline_id=self.pipeline.pk, day__gte=self.start, day__lte=self.end)
        rows = rows.exclude(owner_id=ALL_OWNERS) if self.everyone else rows.filter(owner_id__in=self.owner_ids)
        return rows.filter(source_id=self.source.pk) if self.source else rows

    def open_deals(self) -> QuerySet:
        rows = OpenDeals.objects.filter(pipeline_id=self.pipeline.pk)
        rows = rows if self.everyone else rows.filter(owner_id__in=self.owner_ids)
        return rows.filter(source_id=self.source.pk) if self.source else rows

    def forecast_deals(self) -> QuerySet[Opportunity]:
        deals = Opportunity.objects.open().filter(
            pipeline=self.pipeline, expected_close_date__gte=self.start, expected_close_date__lte=self.end
        )
        deals = deals if self.everyone else deals.filter(owner_id__in=self.owner_ids)
        return deals.filter(source=self.source) if self.source else deals


def figure_scope(
    users: QuerySet[User], pipeline: Pipeline, source: Source | None, start: date, end: date, *, days: bool = True
) -> FigureScope:
    """The scope of `users` (already visibility-scoped and narrowed by the filter): their ids and names, and
    whether they are everyone (a second query, only when the day rows will be read: `days`)."""
    rows = list(users.order_by("pk").values_list("pk", "is_active", "username", "first_name", "last_name", "role"))
    return FigureScope(
        owner_ids=tuple(row[0] for row in rows),
        people_ids=tuple(row[0] for row in rows if row[1]),
        pipeline=pipeline,
        source=source,
        start=start,
        end=end,
        everyone=days and len(rows) == User.objects.count(),
        names=tuple((pk, username, first, last, role) for pk, _active, username, first, last, role in rows),
    )


def _people(scope: FigureScope, pks: set[int]) -> list[tuple]:
    """(pk, username, first name, last name, role) of these owners and of the scope's active reps: from the
    scope when it read them, else one query."""
    wanted = set(pks) | set(scope.people_ids)
    found = scope.names or User.objects.filter(pk__in=wanted).values_list(
        "pk", "username", "first_name", "last_name", "role"
    )
    active = set(scope.people_ids)
    return [row for row in found if row[0] in pks or (row[0] in active and row[4] == Role.REP)]


def figures(scope: FigureScope, stages: list[Stage]) -> tuple[dict, datetime | None]:
    """Every figure of the dashboard and the time the rollup was brought up to date (None: not yet).

    Added up once per scope and rollup refresh: a reader who comes back before the next refresh (or a
    colleague with the very same scope) is answered from the cache, keyed by everything the figures read."""
    refreshed_at = as_of()
    key = _cache_key(scope, stages, refreshed_at)
    found = cache.get(key) if refreshed_at else None
    if found is not None:
        return _with_history(scope, stages, found), refreshed_at
    forecast_rows = _forecast_rows(scope)
    forecast_by_owner = _forecast_by_owner(scope, forecast_rows)
    computed = {
        "by_stage": by_stage(scope, stages),
        "inflow": inflow_by_week(scope),
        "flow": flow(scope, stages),
        "outcomes": outcomes(scope),
        "forecast": _sum_forecast(forecast_by_owner),
        "forecast_by_stage": _forecast_by_stage(forecast_rows),
        "sources": by_source(scope),
        "reps": per_rep(scope, stages, forecast_by_owner),
    }
    if refreshed_at:
        cache.set(key, computed, FIGURES_KEPT)
    return _with_history(scope, stages, computed), refreshed_at


def _with_history(scope: FigureScope, stages: list[Stage], computed: dict) -> dict:
    """The figures and the forecast weighted by history, which is kept apart (a day, not a rollup refresh)."""
    return {**computed, "forecast_history": forecast_with_history(scope, stages, computed["forecast_by_stage"])}


def _cache_key(scope: FigureScope, stages: list[Stage], refreshed_at: datetime | None) -> str:
    """A digest of the scope (its owners, so a key is only ever read for the same deals), the stages as
    they are now (a new probability or name changes it) and the rollup's refresh."""
    parts = (
        "all" if scope.everyone else scope.owner_ids, scope.people_ids, scope.names, scope.pipeline.pk,
        scope.source.pk if scope.source else None, scope.start, scope.end, refreshed_at,
        [(stage.pk, stage.name, stage.probability, stage.order) for stage in stages],
    )  # fmt: skip
    return "funnel:figures:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def as_of() -> datetime | None:
    """When the rollup was last brought up to date. If changes wait to be folded in (or it was never built),
    a refresh is started, at most every REFRESH_ASK_EVERY seconds, and the page answers with the rows as
    they are: a large organisation's page never waits for it."""
    state = (
        RollupState.objects.filter(pk=1)
        .annotate(waiting=Exists(RollupDirt.objects.all()))
        .values_list("refreshed_at", "waiting")
    ).first()
    refreshed_at, waiting = state if state else (None, True)
    waiting = waiting or refreshed_at is None
    if waiting and cache.add(REFRESH_ASKED, True, REFRESH_ASK_EVERY):
        from ..tasks import refresh_rollup_task  # tasks import this module's callers

        jobs.enqueue(refresh_rollup_task)
        refreshed_at = RollupState.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()
    return refreshed_at


# --- now: the open deals --------------------------------------------------------------------------


def _weighted(plain: Decimal, overridden: Decimal, probability: int) -> Decimal:
    return plain * probability / Decimal(100) + overridden


def by_stage(scope: FigureScope, stages: list[Stage]) -> list[dict]:
    """One row per open stage, in order, empty stages included (a gap shows as zeros)."""
    sums = {
        row["stage_id"]: row
        for row in scope.open_deals()
        .values("stage_id")
        .annotate(n=Sum("count"), total=Sum("amount"), plain=Sum("plain_amount"), over=Sum("override_weighted"))
        .order_by()
    }
    return _stage_rows(sums, stages)


def _stage_rows(sums: dict[int, dict], stages: list[Stage]) -> list[dict]:
    rows = []
    for stage in stages:
        row = sums.get(stage.pk)
        rows.append(
            {"stage": stage, "count": 0, "total": Decimal(0), "weighted": Decimal(0)}
            if row is None
            else {"stage": stage, "count": row["n"], "total": row["total"],
                  "weighted": _weighted(row["plain"], row["over"], stage.probability)}
        )  # fmt: skip
    return rows


def _open_rows(scope: FigureScope) -> list[dict]:
    return list(
        scope.open_deals()
        .values("owner_id", "stage_id")
        .annotate(n=Sum("count"), total=Sum("amount"), plain=Sum("plain_amount"), over=Sum("override_weighted"))
        .order_by()
    )


def _open_by_owner(scope: FigureScope, stages: list[Stage]) -> dict[int, dict]:
    """Each owner's open deals now: count, amount and weighted amount (open deals sit in open stages)."""
    return _owner_totals(_open_rows(scope), stages)


def _owner_totals(rows: list[dict], stages: list[Stage]) -> dict[int, dict]:
    probability = {stage.pk: stage.probability for stage in stages}
    owners: dict[int, dict] = {}
    for row in rows:
        owner = owners.setdefault(row["owner_id"], {"open_count": 0, "open_amount": Decimal(0),
                                                    "weighted": Decimal(0)})  # fmt: skip
        owner["open_count"] += row["n"]
        owner["open_amount"] += row["total"]
        owner["weighted"] += _weighted(row["plain"], row["over"], probability.get(row["stage_id"], 0))
    return owners


def _forecast_rows(scope: FigureScope) -> list[dict]:
    """Open deals expected to close in the period, per owner and stage (deals, not the rollup: the expected close
    date moves with every edit, and the open deals of a period are few)."""
    return list(scope.forecast_deals().values("owner_id", "stage_id").annotate(**FORECAST).order_by())


def _forecast_by_owner(scope: FigureScope, rows: list[dict] | None = None) -> dict[int, dict]:
    """The forecast's count, amount and weighted amount per owner."""
    owners: dict[int, dict] = {}
    for row in _forecast_rows(scope) if rows is None else rows:
        owner = owners.setdefault(row["owner_id"], {"count": 0, "total": Decimal(0), "weighted": Decimal(0)})
        for key in owner:
            owner[key] += row[key]
    return owners


def _forecast_by_stage(rows: list[dict]) -> dict[int, Decimal]:
    amounts: dict[int, Decimal] = {}
    for row in rows:
        amounts[row["stage_id"]] = amounts.get(row["stage_id"], Decimal(0)) + row["total"]
    return amounts


def forecast_with_history(scope: FigureScope, stages: list[Stage], amounts: dict[int, Decimal]) -> dict:
    """The forecast's deals weighted with the probabilities the scope's own closed deals give their stages
    (funnel.insights.calibration, the last 12 months; the configured one where history is too thin).

    The history is read from the cache; when it is not there, a job reads it (seconds at a million deals) and
    the page says it is being prepared ("pending"). No deal to weigh: no history needed."""
    if not amounts:
        return calibration.forecast(amounts, stages, {})
    rows = scope_history(scope, stages, compute=False)
    if rows is None and cache.add(f"{HISTORY_ASKED}:{scope.pipeline.pk}:{hash(scope.owner_ids)}", True, 60):
        from ..tasks import calibration_history_task  # tasks import this module's callers

        owners = None if scope.everyone else list(scope.owner_ids)
        jobs.enqueue(calibration_history_task, scope.pipeline.pk, owners, [stage.pk for stage in stages])
        rows = scope_history(scope, stages, compute=False)
    if rows is None:
        return {**calibration.forecast(amounts, stages, {}), "pending": True}
    return calibration.forecast(amounts, stages, calibration.historical_probabilities(rows))


def scope_history(
    scope: FigureScope, stages: list[Stage], *, compute: bool = True, months: int = calibration.DEFAULT_MONTHS
) -> list | None:
    """The calibration rows of the scope's owners' deals (everyone's: all deals), kept for the day."""
    if scope.everyone:
        changes, key = StageChange.objects.all(), "all"
    else:
        changes, key = StageChange.objects.filter(opportunity__owner_id__in=scope.owner_ids), scope.owner_ids
    return calibration.history(changes, scope.pipeline, scope_key=key, stages=stages, compute=compute, months=months)


def read_history(pipeline_id: int, owner_ids: list[int] | None, stage_ids: list[int], months: int) -> int:
    """calibration_history_task's work: reads and keeps one scope's history; returns the stages read."""
    pipeline = Pipeline.objects.get(pk=pipeline_id)
    stages = list(Stage.objects.filter(pk__in=stage_ids).order_by("order", "pk"))
    scope = FigureScope(tuple(owner_ids or ()), (), pipeline, None, date.min, date.min, everyone=owner_ids is None)
    return len(scope_history(scope, stages, months=months) or [])


def open_funnel(scope: FigureScope, stages: list[Stage]) -> tuple[list[dict], list[dict]]:
    """The open deals now, per stage (as `by_stage`) and per owner (name, count, amount, weighted; the
    heaviest weighted pipeline first), from one grouped read of the rollup: a manager's home page."""
    rows = _open_rows(scope)
    totals: dict[int, dict] = {}
    for row in rows:
        stage = totals.setdefault(row["stage_id"], {"n": 0, "total": Decimal(0), "plain": Decimal(0),
                                                    "over": Decimal(0)})  # fmt: skip
        for key in stage:
            stage[key] += row[key]
    opened = _owner_totals(rows, stages)
    names = {pk: person_name(first, last, username) for pk, username, first, last, _role in _people(scope, set(opened))}
    owners = [{"owner": names.get(pk, ""), "count": row["open_count"], "total": row["open_amount"],
               "weighted": row["weighted"]} for pk, row in opened.items() if row["open_count"]]  # fmt: skip
    return _stage_rows(totals, stages), sorted(owners, key=lambda row: (-row["weighted"], row["owner"]))


def _sum_forecast(by_owner: dict[int, dict]) -> dict:
    return {key: sum((row[key] for row in by_owner.values()), 0 if key == "count" else Decimal(0))
            for key in ("count", "total", "weighted")}  # fmt: skip


# --- over the period: the day rows ----------------------------------------------------------------


def inflow_by_week(scope: FigureScope) -> list[dict]:
    """New opportunities per week (Monday), weeks without any included."""
    counts: dict[date, int] = {}
    for row in scope.days(DealDay).filter(created__gt=0).values("day").annotate(n=Sum("created")).order_by():
        week = row["day"] - timedelta(days=row["day"].weekday())
        counts[week] = counts.get(week, 0) + row["n"]
    monday = scope.start - timedelta(days=scope.start.weekday())
    weeks = [monday + timedelta(weeks=n) for n in range((scope.end - monday).days // 7 + 1)]
    return [{"week": week, "count": counts.get(week, 0)} for week in weeks]


def _days(seconds: float, count: int) -> Decimal | None:
    return None if not count else Decimal(str(seconds / count / 86400)).quantize(Decimal("0.1"))


def outcomes(scope: FigureScope) -> dict:
    """Deals closed in the period: won and lost, win rate (%), average cycle (days) and won deal size."""
    sums = scope.days(DealDay).aggregate(
        won=Sum("won"), lost=Sum("lost"), won_amount=Sum("won_amount"), won_seconds=Sum("won_seconds")
    )
    won, lost = sums["won"] or 0, sums["lost"] or 0
    amount = sums["won_amount"] or Decimal(0)
    return {
        "won": won,
        "lost": lost,
        "won_amount": amount,
        "win_rate": ratio(won, won + lost),
        "cycle_days": _days(sums["won_seconds"] or 0, won),
        "deal_size": (amount / won).quantize(Decimal("0.01")) if won else None,
    }


def by_source(scope: FigureScope) -> list[dict]:
    """Per source (None: none): new in the period, how many of those are won now, won in the period."""
    rows = (
        scope.days(DealDay)
        .values("source_id")
        .annotate(inflow=Sum("created"), inflow_won=Sum("created_won"), won=Sum("won"), won_amount=Sum("won_amount"))
        .filter(Q(inflow__gt=0) | Q(won__gt=0))
        .annotate(name=Subquery(Source.objects.filter(pk=OuterRef("source_id")).values("name")))
        .order_by()
    )
    found = [
        {"source": row["source_id"], "source__name": row["name"], "inflow": row["inflow"],
         "inflow_won": row["inflow_won"], "won": row["won"], "won_amount": row["won_amount"],
         "conversion": ratio(row["inflow_won"], row["inflow"])}
        for row in rows
    ]  # fmt: skip
    return sorted(found, key=lambda row: (-row["inflow"], row["source__name"] is None, row["source__name"] or ""))


def flow(scope: FigureScope, stages: list[Stage]) -> list[dict]:
    """Per open stage: the deals that entered it in the period and how many of those went on to a later
    stage (a cohort, counted to date; each deal once per stage), and the stays that ended in the period:
    how many, their average and median length in days (the median over whole days of length)."""
    counted = Q(prev_day__isnull=True) | Q(prev_day__lt=scope.start)
    sums = {
        row["stage_id"]: row
        for row in scope.days(FlowDay)
        .values("stage_id")
        .annotate(
            entered=Sum("entered", filter=counted), advanced=Sum("advanced", filter=counted),
            stays=Sum("stays"), seconds=Sum("stay_seconds"),
        )
        .order_by()
    }  # fmt: skip
    lengths: dict[int, dict[int, int]] = {}
    for row in scope.days(StayLength).values("stage_id", "days").annotate(n=Sum("stays")).order_by():
        lengths.setdefault(row["stage_id"], {})[row["days"]] = row["n"]
    rows = []
    for stage in stages:
        row = sums.get(stage.pk) or {}
        entered, advanced, stays = row.get("entered") or 0, row.get("advanced") or 0, row.get("stays") or 0
        rows.append({
            "stage": stage, "entered": entered, "advanced": advanced, "rate": ratio(advanced, entered),
            "stays": stays, "average_days": _days(row.get("seconds") or 0, stays),
            "median_days": median(lengths.get(stage.pk, {})),
        })  # fmt: skip
    return rows


def median(counts: dict[int, int]) -> Decimal | None:
    """The median of values given as {value: how many}: the middle one, or the mean of the middle two."""
    total = sum(counts.values())
    if not total:
        return None
    middle, seen, low = (total - 1) // 2, 0, None
    for value in sorted(counts):
        seen += counts[value]
        if low is None and seen > middle:
            low = value
        if seen > total // 2:
            return (Decimal(low + value) / 2).quantize(Decimal("0.1"))
    return None  # unreachable: seen reaches total


def per_rep(scope: FigureScope, stages: list[Stage], forecast_by_owner: dict[int, dict]) -> list[dict]:
    """Per owner: open count, amount, weighted (now), the weighted amount expected to close in the period;
    new, won, lost, won amount, win rate, deal size and cycle in the period; stage conversion and days in
    stage (flow_*). The reps in view without a row (an empty funnel, 空杯) are listed with zeros."""
    period = {
        row.pop("owner_id"): row
        for row in scope.owner_days(DealDay)
        .values("owner_id")
        .annotate(inflow=Sum("created"), won=Sum("won"), lost=Sum("lost"), won_amount=Sum("won_amount"),
                  won_seconds=Sum("won_seconds"), entered=Sum("entered"), advanced=Sum("advanced"),
                  stays=Sum("stays"), stay_seconds=Sum("stay_seconds"))
        .order_by()
    }  # fmt: skip
    reentries = (
        scope.owner_days(FlowDay)
        .filter(prev_day__isnull=False, prev_day__lt=scope.start)
        .values("owner_id")
        .annotate(entered=Sum("entered"), advanced=Sum("advanced"))
        .order_by()
    )
    for row in reentries:
        owner = period.setdefault(row["owner_id"], {})
        owner["entered"] = (owner.get("entered") or 0) + row["entered"]
        owner["advanced"] = (owner.get("advanced") or 0) + row["advanced"]
    opened = _open_by_owner(scope, stages)
    owners = set(period) | set(opened) | set(forecast_by_owner)
    rows = [
        _rep_row(person, opened.get(person[0], {}), period.get(person[0], {}), forecast_by_owner.get(person[0], {}))
        for person in _people(scope, owners)
    ]
    return sorted(rows, key=lambda row: (-row["weighted"], row["owner"]))


def _rep_row(person: tuple, opened: dict, period: dict, forecast: dict) -> dict:
    won, lost = period.get("won") or 0, period.get("lost") or 0
    amount = period.get("won_amount") or Decimal(0)
    entered, advanced, stays = period.get("entered") or 0, period.get("advanced") or 0, period.get("stays") or 0
    return {
        "owner": person[0], "owner__username": person[1], "owner__first_name": person[2],
        "owner__last_name": person[3], "name": person_name(person[2], person[3], person[1]),
        "open_count": opened.get("open_count", 0), "open_amount": opened.get("open_amount", Decimal(0)),
        "weighted": opened.get("weighted", Decimal(0)), "forecast_weighted": forecast.get("weighted", Decimal(0)),
        "inflow": period.get("inflow") or 0, "won": won, "lost": lost, "won_amount": amount,
        "win_rate": ratio(won, won + lost), "cycle_days": _days(period.get("won_seconds") or 0, won),
        "deal_size": (amount / won).quantize(Decimal("0.01")) if won else None,
        "flow_entered": entered, "flow_advanced": advanced, "flow_rate": ratio(advanced, entered),
        "flow_stays": stays, "flow_average_days": _days(period.get("stay_seconds") or 0, stays),
        "flow_median_days": None,
    }  # fmt: skip
