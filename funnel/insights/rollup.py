"""The dashboard's rollup (funnel.models.rollup): per owner and local day, what the period figures add up.

Every write that changes a deal (a move, an edit, a new deal, a new owner) marks it and its owner dirty in
its own transaction (`mark_deals_dirty`); `refresh` recomputes that owner's rows on the days the deal has
facts on, from every deal of theirs with a fact on those days, and adjusts the all-owners rows by the
difference. A changed time zone or stage order recomputes the owners whole (`mark_dirty`). The refresh is
a job (beat every minute, `make run`'s loop, or started by a dashboard read that finds dirt: config.jobs),
so a page reads figures at most about a minute old and says as of when. `refresh(rebuild=True)` recomputes everything
(after a bulk load, or when the rollup has never been built).

The facts are computed here, in Python, from each deal's stage changes in time order, one way for every
database: a deal's entries into open stages (whether it went on to a later, not-lost stage, and the day of
its previous entry into the same stage), the stays that ended (their length), its creation and its close.
"""

import csv
import io
import itertools
import zoneinfo
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from reps.models import User

from ..models import Opportunity, Stage, StageChange, StageKind
from ..models.rollup import ALL_OWNERS, DealDay, FlowDay, OpenDeals, RollupDirt, RollupState, StayLength

OWNERS_PER_BATCH = 25
DEAL_FIELDS = ("created", "created_won", "won", "lost", "won_amount", "won_seconds", "entered", "advanced",
               "stays", "stay_seconds")  # fmt: skip
FLOW_FIELDS = ("entered", "advanced", "stays", "stay_seconds")
LENGTH_FIELDS = ("stays",)
OPEN_FIELDS = ("count", "amount", "plain_amount", "override_weighted")
COUNTS = {"created", "created_won", "won", "lost", "entered", "advanced", "stays", "count"}
DAY = 86400


def mark_dirty(owner_ids: Iterable[int | None]) -> None:
    """Notes that every row of these owners is out of date (their time zone or their pipeline's stages
    changed); call it inside the transaction that makes the change."""
    RollupDirt.objects.bulk_create([RollupDirt(owner_id=pk) for pk in sorted({pk for pk in owner_ids if pk})])


def mark_deals_dirty(deals: Iterable[tuple[int, int]]) -> None:
    """Notes that these deals changed, as (owner, deal) pairs: a deal and its owner, and also the owner it
    left when it was reassigned. Call it inside the transaction that changes them, so the note and the
    change are stored together or not at all; the refresh recomputes those owners' rows on those deals' days."""
    RollupDirt.objects.bulk_create(
        [RollupDirt(owner_id=owner, opportunity_id=deal) for owner, deal in sorted(set(deals)) if owner]
    )


def mark_pipeline_dirty(pipeline_id: int) -> None:
    """A pipeline's stage order or kinds changed, which changes which moves went on to a later stage:
    every owner with a deal in it is recomputed."""
    deals = Opportunity.objects.filter(pipeline_id=pipeline_id).order_by()
    mark_dirty(deals.values_list("owner_id", flat=True).distinct())


def pending() -> bool:
    """Whether a change waits to be folded in (or the rollup was never built)."""
    state = RollupState.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()
    return state is None or RollupDirt.objects.exists()


def refresh(*, rebuild: bool = False) -> dict:
    """Folds every dirty owner (and every owner whose time zone changed) into the rollup, or rebuilds it
    whole. One refresh at a time: a second one finding the first still running returns at once.
    Returns {"owners": recomputed, "rebuilt": bool, "skipped": bool}."""
    with transaction.atomic():
        state = _claim_state()
        if state is None:
            return {"owners": 0, "rebuilt": False, "skipped": True}
        zones = dict(User.objects.values_list("pk", "time_zone"))
        rebuild = rebuild or state.refreshed_at is None
        if rebuild:
            RollupDirt.objects.all().delete()
            owners = _rebuild(zones)
        else:
            claimed = list(RollupDirt.objects.values_list("pk", "owner_id", "opportunity_id"))
            RollupDirt.objects.filter(pk__in=[pk for pk, _owner, _deal in claimed]).delete()
            moved = {int(pk) for pk, zone in state.zones.items() if zones.get(int(pk), zone) != zone}
            whole = {owner for _pk, owner, deal in claimed if deal is None} | moved
            deals: dict[int, set[int]] = {}
            for _pk, owner, deal in claimed:
                if deal is not None and owner not in whole:
                    deals.setdefault(owner, set()).add(deal)
            owners = (_recompute(whole, zones) if whole else 0) + _recompute_days(deals, zones)
        state.zones = {str(pk): zone for pk, zone in zones.items()}
        state.refreshed_at = timezone.now()
        state.save(update_fields=["zones", "refreshed_at"])
    return {"owners": owners, "rebuilt": rebuild, "skipped": False}


def _claim_state() -> RollupState | None:
    """The state row, locked for this refresh; None while another refresh holds it (PostgreSQL; SQLite runs
    one writer at a time anyway)."""
    RollupState.objects.bulk_create([RollupState(pk=1)], ignore_conflicts=True)
    return RollupState.objects.select_for_update(skip_locked=True).filter(pk=1).first()


def _rebuild(zones: dict[int, str]) -> int:
    if connection.vendor == "postgresql":  # every stage change sorted by owner: in memory, not on disk
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
    for model in (DealDay, FlowDay, StayLength, OpenDeals):
        model.objects.all().delete()
    totals: dict[type, dict] = {DealDay: {}, FlowDay: {}, StayLength: {}}
    owners = 0
    for batch in _in_batches(_facts_by_owner(None, zones)):
        owners += batch.pop("owners")
        for model in (DealDay, FlowDay, StayLength):
            _add_all(totals[model], batch[model], +1)
        for model, rows in batch.items():
            _insert(model, rows)
    for model, rows in totals.items():
        _insert(model, {(ALL_OWNERS, *key): values for key, values in rows.items()})
    _insert(OpenDeals, _open_deals(None))
    return owners


def _recompute(owners: set[int], zones: dict[int, str]) -> int:
    """Replaces the rows of `owners` with freshly computed ones, and moves the all-owners rows by the
    difference between the old and the new rows (an owner left without deals keeps no rows)."""
    delta: dict[type, dict] = {DealDay: {}, FlowDay: {}, StayLength: {}}
    for model in (DealDay, FlowDay, StayLength):
        _add_all(delta[model], _stored(model, owners), -1)
    for model in (DealDay, FlowDay, StayLength, OpenDeals):
        model.objects.filter(owner_id__in=owners).delete()
    for batch in _in_batches(_facts_by_owner(owners, zones)):
        batch.pop("owners")
        for model in (DealDay, FlowDay, StayLength):
            _add_all(delta[model], batch[model], +1)
        for model, rows in batch.items():
            _insert(model, rows)
    _insert(OpenDeals, _open_deals(owners))
    for model, changes in delta.items():
        _apply_to_all_owners(model, changes)
    return len(owners)


def _recompute_days(deals: dict[int, set[int]], zones: dict[int, str]) -> int:
    """For each owner, recomputes their rows on the days their changed deals have facts on (the day each
    was created and each day it moved, in the owner's zone), from every deal of theirs with a fact on those
    days; the all-owners rows move by the difference. A move costs the owner's few deals of those days."""
    if not deals:
        return 0
    local, delta = _LocalDays(zones), {DealDay: {}, FlowDay: {}, StayLength: {}}
    for owner, changed in deals.items():
        days = _fact_days(owner, changed, local)
        moments = _day_ranges(days, zones.get(owner))
        moved = StageChange.objects.filter(moments("at"), opportunity__owner_id=owner).values("opportunity_id")
        affected = list(
            Opportunity.objects.filter(Q(pk__in=moved) | moments("created_at"), owner_id=owner).values_list(
                "pk", flat=True
            )
        )  # read once: a few dozen ids, then two plain lookups by id
        changes = StageChange.objects.filter(opportunity_id__in=affected)
        for model in (DealDay, FlowDay, StayLength):
            _add_all(delta[model], _stored(model, {owner}, days), -1)
            model.objects.filter(owner_id=owner, day__in=days).delete()
        for facts in _facts(Opportunity.objects.filter(pk__in=affected), changes, local):
            for model in (DealDay, FlowDay, StayLength):
                rows = {key: values for key, values in facts[model].items() if key[1] in days}
                _add_all(delta[model], rows, +1)
                _insert(model, rows)
    OpenDeals.objects.filter(owner_id__in=deals).delete()
    _insert(OpenDeals, _open_deals(set(deals)))
    for model, changes in delta.items():
        _apply_to_all_owners(model, changes)
    return len(deals)


def _fact_days(owner: int, deals: set[int], local: "_LocalDays") -> set[date]:
    """The owner's days the deals have facts on: created, and each move (an entry, a stay's end, a close)."""
    moments = [at for (at,) in StageChange.objects.filter(opportunity_id__in=deals).values_list("at")]
    moments += Opportunity.objects.filter(pk__in=deals).values_list("created_at", flat=True)
    return {local(owner, moment) for moment in moments}


def _day_ranges(days: set[date], zone_name: str | None):
    """A function giving the condition "`field` falls on one of `days`" in the zone, as half-open ranges."""
    zone = zoneinfo.ZoneInfo(zone_name or "UTC")
    bounds = [(datetime.combine(day, time.min, zone), datetime.combine(day + timedelta(days=1), time.min, zone))
              for day in sorted(days)]  # fmt: skip

    def condition(field: str) -> Q:
        found = Q(pk__in=[])
        for start, end in bounds:
            found |= Q(**{f"{field}__gte": start, f"{field}__lt": end})
        return found

    return condition


def _open_deals(owners: set[int] | None) -> dict:
    """Open deals now per owner, pipeline, stage and source, summed by the database."""
    deals = Opportunity.objects.open() if owners is None else Opportunity.objects.open().filter(owner_id__in=owners)
    no_override, override = Q(probability_override__isnull=True), Q(probability_override__isnull=False)
    rows = (
        deals.values("owner_id", "pipeline_id", "stage_id", "source_id")
        .annotate(
            n=Count("*"),
            total=Sum("amount"),
            plain=Sum("amount", filter=no_override),
            over=Sum(F("amount") * F("probability_override") / Decimal(100), filter=override),
        )
        .order_by()
    )
    return {
        (row["owner_id"], row["pipeline_id"], row["stage_id"], row["source_id"]):
            [row["n"], row["total"], row["plain"] or Decimal(0), row["over"] or Decimal(0)]
        for row in rows
    }  # fmt: skip


def _in_batches(facts: Iterator[dict[type, dict]]) -> Iterator[dict]:
    """Owners' facts gathered OWNERS_PER_BATCH at a time, so rows are written in a few large copies."""
    batch: dict = {DealDay: {}, FlowDay: {}, StayLength: {}, "owners": 0}
    for owner_facts in facts:
        for model, rows in owner_facts.items():
            batch[model].update(rows)
        batch["owners"] += 1
        if batch["owners"] == OWNERS_PER_BATCH:
            yield batch
            batch = {DealDay: {}, FlowDay: {}, StayLength: {}, "owners": 0}
    if batch["owners"]:
        yield batch


# --- the facts --------------------------------------------------------------------------------------
# Values are lists in the order of DEAL_FIELDS, FLOW_FIELDS, LENGTH_FIELDS and OPEN_FIELDS.


def _facts_by_owner(owners: set[int] | None, zones: dict[int, str]) -> Iterator[dict[type, dict]]:
    """The rows of each of `owners` (None: everyone), one owner at a time, from their deals now."""
    if owners is None:
        return _facts(Opportunity.objects.all(), StageChange.objects.all(), _LocalDays(zones))
    deals = Opportunity.objects.filter(owner_id__in=owners)
    return _facts(deals, StageChange.objects.filter(opportunity__owner_id__in=owners), _LocalDays(zones))


def _facts(deals, changes, local: "_LocalDays") -> Iterator[dict[type, dict]]:
    """The rows of `deals` (with `changes`, their stage changes), one owner at a time.

    Two streams ordered by owner (the deals, and their stage changes in time order), walked side by side,
    so a rebuild holds one owner's facts at a time."""
    stages = {pk: (order, kind) for pk, order, kind in Stage.objects.values_list("pk", "order", "kind")}
    deal_rows = (
        deals.order_by("owner_id", "pk")
        .values_list("pk", "owner_id", "pipeline_id", "source_id", "status", "amount", "created_at", "closed_at")
        .iterator(chunk_size=20000)
    )
    change_rows = (
        changes.order_by("opportunity__owner_id", "opportunity_id", "at", "id")
        .values_list("opportunity__owner_id", "opportunity_id", "to_stage_id", "at")
        .iterator(chunk_size=20000)
    )
    changes_of = itertools.groupby(change_rows, key=lambda row: row[0])
    pending = next(changes_of, None)
    for owner, rows in itertools.groupby(deal_rows, key=lambda row: row[1]):
        facts = {DealDay: {}, FlowDay: {}, StayLength: {}}
        owner_deals = {row[0]: row for row in rows}
        for deal in owner_deals.values():
            _deal_facts(deal, local, facts)
        while pending is not None and pending[0] < owner:  # changes of deals that match no longer
            pending = next(changes_of, None)
        if pending is not None and pending[0] == owner:
            for deal_id, moves in itertools.groupby(pending[1], key=lambda row: row[1]):
                if deal_id in owner_deals:
                    _move_facts(owner_deals[deal_id], [(row[2], row[3]) for row in moves], stages, local, facts)
            pending = next(changes_of, None)
        yield facts


class _LocalDays:
    """An owner's local day of a moment. Every time zone's offset is a whole number of quarter hours, so
    the day is looked up once per zone and quarter hour (astimezone is the slow part of a rebuild)."""

    def __init__(self, zones: dict[int, str]):
        self.zones = {owner: zoneinfo.ZoneInfo(name or "UTC") for owner, name in zones.items()}
        self.utc = zoneinfo.ZoneInfo("UTC")
        self.days: dict[tuple, date] = {}

    def __call__(self, owner: int, moment: datetime) -> date:
        zone = self.zones.get(owner, self.utc)
        key = (zone, int(moment.timestamp()) // 900)
        day = self.days.get(key)
        if day is None:
            day = self.days[key] = moment.astimezone(zone).date()
        return day


def _deal_row(facts: dict, key: tuple) -> list:
    row = facts[DealDay].get(key)
    if row is None:
        row = facts[DealDay][key] = [0, 0, 0, 0, Decimal(0), 0.0, 0, 0, 0, 0.0]
    return row


def _flow_row(facts: dict, key: tuple) -> list:
    row = facts[FlowDay].get(key)
    if row is None:
        row = facts[FlowDay][key] = [0, 0, 0, 0.0]
    return row


def _deal_facts(deal: tuple, local: _LocalDays, facts: dict) -> None:
    _pk, owner, pipeline, source, status, amount, created, closed = deal
    row = _deal_row(facts, (owner, local(owner, created), pipeline, source))
    row[0] += 1  # created
    if status != StageKind.OPEN and closed is not None:
        closing = _deal_row(facts, (owner, local(owner, closed), pipeline, source))
        if status == StageKind.WON:
            row[1] += 1  # created_won: of the deals created that day
            closing[2] += 1
            closing[4] += amount
            closing[5] += (closed - created).total_seconds()
        else:
            closing[3] += 1


def _move_facts(deal: tuple, changes: list, stages: dict, local: _LocalDays, facts: dict) -> None:
    """Each entry into an open stage (went on later? previous entry's day) and each stay that ended."""
    owner, pipeline, source = deal[1], deal[2], deal[3]
    later: list[int | None] = [None] * len(changes)  # the highest not-lost order entered after each change
    highest = None
    for index in range(len(changes) - 1, -1, -1):
        later[index] = highest
        order, kind = stages[changes[index][0]]
        if kind != StageKind.LOST and (highest is None or order > highest):
            highest = order
    previous_entry: dict[int, date] = {}
    for index, (stage, at) in enumerate(changes):
        order, kind = stages[stage]
        if kind != StageKind.OPEN:
            continue
        day = local(owner, at)
        prev_day = previous_entry.get(stage)
        previous_entry[stage] = day
        advanced = later[index] is not None and later[index] > order
        entry = _flow_row(facts, (owner, day, pipeline, source, stage, prev_day))
        entry[0] += 1
        entry[1] += advanced
        if prev_day is None:  # a deal's first entry into the stage; re-entries are read from FlowDay
            first = _deal_row(facts, (owner, day, pipeline, source))
            first[6] += 1
            first[7] += advanced
        if index + 1 < len(changes):
            left = changes[index + 1][1]
            seconds = (left - at).total_seconds()
            end_day = local(owner, left)
            stay = _flow_row(facts, (owner, end_day, pipeline, source, stage, None))
            stay[2] += 1
            stay[3] += seconds
            length = facts[StayLength].setdefault((owner, end_day, pipeline, source, stage, int(seconds // DAY)), [0])
            length[0] += 1
            total = _deal_row(facts, (owner, end_day, pipeline, source))
            total[8] += 1
            total[9] += seconds


# --- storing ------------------------------------------------------------------------------------------


def _key_fields(model: type) -> tuple[str, ...]:
    if model is DealDay:
        return ("owner_id", "day", "pipeline_id", "source_id")
    if model is FlowDay:
        return ("owner_id", "day", "pipeline_id", "source_id", "stage_id", "prev_day")
    if model is StayLength:
        return ("owner_id", "day", "pipeline_id", "source_id", "stage_id", "days")
    return ("owner_id", "pipeline_id", "stage_id", "source_id")


def _value_fields(model: type) -> tuple[str, ...]:
    return {DealDay: DEAL_FIELDS, FlowDay: FLOW_FIELDS, StayLength: LENGTH_FIELDS, OpenDeals: OPEN_FIELDS}[model]


def _stored(model: type, owners: set[int], days: set[date] | None = None) -> dict:
    keys = _key_fields(model)
    rows = model.objects.filter(owner_id__in=owners)
    rows = (rows if days is None else rows.filter(day__in=days)).values_list(*keys, *_value_fields(model))
    return {row[: len(keys)]: list(row[len(keys) :]) for row in rows.iterator(chunk_size=20000)}


def _add_all(into: dict, rows: dict, sign: int) -> None:
    """Adds (sign +1) or takes away (-1) owner rows into rows keyed without the owner."""
    for key, values in rows.items():
        target = into.get(key[1:])
        if target is None:
            target = into[key[1:]] = [0] * len(values)
        for index, value in enumerate(values):
            target[index] += sign * value


def _apply_to_all_owners(model: type, delta: dict) -> None:
    """Moves the all-owners rows by `delta` (keyed without the owner): the rows it touches are read, deleted
    and written back changed (a row whose counts reach 0 is not written back)."""
    delta = {key: values for key, values in delta.items() if _moves_anything(values)}
    if not delta:
        return
    keys, fields = _key_fields(model)[1:], _value_fields(model)
    counts = [index for index, field in enumerate(fields) if field in COUNTS]
    rows = model.objects.filter(owner_id=ALL_OWNERS, day__in={key[0] for key in delta}).values_list(
        "pk", *keys, *fields
    )
    current = {row[1 : 1 + len(keys)]: (row[0], list(row[1 + len(keys) :])) for row in rows.iterator(chunk_size=20000)}
    touched, merged = [], {}
    for key, values in delta.items():
        pk, base = current.get(key, (None, [0] * len(values)))
        if pk is not None:
            touched.append(pk)
        base = [old + change for old, change in zip(base, values, strict=True)]
        if any(base[index] for index in counts):
            merged[(ALL_OWNERS, *key)] = base
    for start in range(0, len(touched), 5000):
        model.objects.filter(pk__in=touched[start : start + 5000]).delete()
    _insert(model, merged)


def _moves_anything(values: list) -> bool:
    return any(abs(value) > 1e-6 for value in values)


def _insert(model: type, rows: dict) -> None:
    """Writes rows ({key: values}); PostgreSQL copies them in (a rebuild writes millions)."""
    if not rows:
        return
    keys, fields = _key_fields(model), _value_fields(model)
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**dict(zip(keys, key, strict=True)), **dict(zip(fields, values, strict=True)))
             for key, values in rows.items()],
            batch_size=2000,
        )  # fmt: skip
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([*key, *values] for key, values in rows.items())
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {model._meta.db_table} ({', '.join((*keys, *fields))}) FROM STDIN WITH (FORMAT csv)", buffer
        )
