"""The dashboard's rollup (funnel.rollup_models): per owner and local day, what the period figures add up.

Every write that changes an owner's deals (a move, an edit, a new deal, a new owner) marks the owner dirty
in its own transaction (`mark_dirty`); `refresh` recomputes the rows of the dirty owners from their deals
and stage changes, and adjusts the all-owners rows by the difference. The refresh is a job (beat every
minute, `make run`'s loop, or started by a dashboard read that finds dirt: config.jobs), so a page reads
figures at most about a minute old and says as of when. `refresh(rebuild=True)` recomputes everything
(after a bulk load, or when the rollup has never been built).

The facts are computed here, in Python, from each deal's stage changes in time order, one way for every
database: a deal's entries into open stages (whether it went on to a later, not-lost stage, and the day of
its previous entry into the same stage), the stays that ended (their length), its creation and its close.
"""

import csv
import io
import itertools
import json
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from reps.models import User

from .models import Opportunity, Stage, StageChange, StageKind
from .rollup_models import ALL_OWNERS, DealDay, FlowDay, OpenDeals, RollupDirt, RollupState

OWNERS_PER_BATCH = 25
DEAL_FIELDS = ("created", "created_won", "won", "lost", "won_amount", "won_seconds", "entered", "advanced",
               "stays", "stay_seconds")  # fmt: skip
FLOW_FIELDS = ("entered", "advanced", "stays", "stay_seconds", "lengths")
OPEN_FIELDS = ("count", "amount", "plain_amount", "override_weighted")
COUNTS = {"created", "created_won", "won", "lost", "entered", "advanced", "stays", "count"}
DAY = 86400


def mark_dirty(owner_ids: Iterable[int | None]) -> None:
    """Notes that these owners' rollup rows are out of date; call it inside the transaction that changes
    their deals, so the note and the change are stored together or not at all."""
    RollupDirt.objects.bulk_create([RollupDirt(owner_id=pk) for pk in sorted({pk for pk in owner_ids if pk})])


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
            claimed = list(RollupDirt.objects.values_list("pk", "owner_id"))
            RollupDirt.objects.filter(pk__in=[pk for pk, _owner in claimed]).delete()
            moved = {int(pk) for pk, zone in state.zones.items() if zones.get(int(pk), zone) != zone}
            owners = _recompute({owner for _pk, owner in claimed} | moved, zones)
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
    for model in (DealDay, FlowDay, OpenDeals):
        model.objects.all().delete()
    owners = sorted(Opportunity.objects.order_by().values_list("owner_id", flat=True).distinct())
    totals: dict[type, dict] = {DealDay: {}, FlowDay: {}}
    for batch in _batches(owners):
        facts = _facts(batch, zones)
        for model in (DealDay, FlowDay):
            _add_all(totals[model], facts[model], +1)
        for model, rows in facts.items():
            _insert(model, rows)
    for model, rows in totals.items():
        _insert(model, {(ALL_OWNERS, *key): values for key, values in rows.items()})
    return len(owners)


def _recompute(owners: set[int], zones: dict[int, str]) -> int:
    """Replaces the rows of `owners` with freshly computed ones, and moves the all-owners rows by the
    difference between the old and the new rows."""
    delta: dict[type, dict] = {DealDay: {}, FlowDay: {}}
    for batch in _batches(sorted(owners)):
        facts = _facts(batch, zones)
        for model in (DealDay, FlowDay):
            _add_all(delta[model], _stored(model, batch), -1)
            _add_all(delta[model], facts[model], +1)
        for model, rows in facts.items():
            model.objects.filter(owner_id__in=batch).delete()
            _insert(model, rows)
    for model, changes in delta.items():
        _apply_to_all_owners(model, changes)
    return len(owners)


def _batches(owners: list[int]) -> Iterator[tuple[int, ...]]:
    for start in range(0, len(owners), OWNERS_PER_BATCH):
        yield tuple(owners[start : start + OWNERS_PER_BATCH])


# --- the facts --------------------------------------------------------------------------------------


def _facts(owners: tuple[int, ...], zones: dict[int, str]) -> dict[type, dict]:
    """The rows of `owners`, keyed (owner, day, pipeline, source[, stage, prev_day]), from their deals now."""
    stages = {pk: (order, kind) for pk, order, kind in Stage.objects.values_list("pk", "order", "kind")}
    deals = {
        row[0]: row
        for row in Opportunity.objects.filter(owner_id__in=owners)
        .order_by()
        .values_list("pk", "owner_id", "pipeline_id", "source_id", "status", "amount", "probability_override",
                     "stage_id", "created_at", "closed_at")
        .iterator(chunk_size=5000)
    }  # fmt: skip
    facts = {DealDay: defaultdict(_zeros), FlowDay: defaultdict(_zeros), OpenDeals: defaultdict(_zeros)}
    local = _LocalDays(zones)
    for deal in deals.values():
        _deal_facts(deal, local, facts)
    for deal_id, changes in _changes_by_deal(owners):
        _move_facts(deals[deal_id], changes, stages, local, facts)
    return facts


def _changes_by_deal(owners: tuple[int, ...]) -> Iterator[tuple[int, list[tuple[int, datetime]]]]:
    changes = (
        StageChange.objects.filter(opportunity__owner_id__in=owners)
        .order_by("opportunity_id", "at", "id")
        .values_list("opportunity_id", "to_stage_id", "at")
        .iterator(chunk_size=10000)
    )
    for deal_id, rows in itertools.groupby(changes, key=lambda row: row[0]):
        yield deal_id, [(stage, at) for _deal, stage, at in rows]


class _LocalDays:
    """An owner's local day of a moment, with each zone looked up once."""

    def __init__(self, zones: dict[int, str]):
        self.zones = zones
        self.cache: dict[str, zoneinfo.ZoneInfo] = {}

    def __call__(self, owner: int, moment: datetime) -> date:
        name = self.zones.get(owner) or "UTC"
        zone = self.cache.get(name) or self.cache.setdefault(name, zoneinfo.ZoneInfo(name))
        return moment.astimezone(zone).date()


def _zeros() -> dict:
    return defaultdict(int)


def _deal_facts(deal: tuple, local: _LocalDays, facts: dict) -> None:
    pk, owner, pipeline, source, status, amount, override, stage, created, closed = deal
    row = facts[DealDay][(owner, local(owner, created), pipeline, source)]
    row["created"] += 1
    row["created_won"] += status == StageKind.WON
    if status == StageKind.OPEN:
        held = facts[OpenDeals][(owner, pipeline, stage, source)]
        held["count"] += 1
        held["amount"] += amount
        if override is None:
            held["plain_amount"] += amount
        else:
            held["override_weighted"] += amount * override / Decimal(100)
    elif closed is not None:
        row = facts[DealDay][(owner, local(owner, closed), pipeline, source)]
        if status == StageKind.WON:
            row["won"] += 1
            row["won_amount"] += amount
            row["won_seconds"] += (closed - created).total_seconds()
        else:
            row["lost"] += 1


def _move_facts(deal: tuple, changes: list, stages: dict, local: _LocalDays, facts: dict) -> None:
    """Each entry into an open stage (went on later? previous entry's day) and each stay that ended."""
    _pk, owner, pipeline, source = deal[:4]
    later: list[int | None] = [None] * len(changes)  # the highest not-lost order entered after each change
    highest = None
    for index in range(len(changes) - 1, -1, -1):
        later[index] = highest
        order, kind = stages[changes[index][0]]
        if kind != StageKind.LOST:
            highest = order if highest is None else max(highest, order)
    previous_entry: dict[int, date] = {}
    for index, (stage, at) in enumerate(changes):
        order, kind = stages[stage]
        if kind != StageKind.OPEN:
            continue
        day, prev_day = local(owner, at), previous_entry.get(stage)
        previous_entry[stage] = day
        advanced = later[index] is not None and later[index] > order
        entry = facts[FlowDay][(owner, day, pipeline, source, stage, prev_day)]
        entry["entered"] += 1
        entry["advanced"] += advanced
        if prev_day is None:  # a deal's first entry into the stage; re-entries are read from FlowDay
            first = facts[DealDay][(owner, day, pipeline, source)]
            first["entered"] += 1
            first["advanced"] += advanced
        if index + 1 < len(changes):
            left = changes[index + 1][1]
            seconds = (left - at).total_seconds()
            end_day = local(owner, left)
            stay = facts[FlowDay][(owner, end_day, pipeline, source, stage, None)]
            stay["stays"] += 1
            stay["stay_seconds"] += seconds
            lengths = stay.setdefault("lengths", defaultdict(int))
            lengths[str(int(seconds // DAY))] += 1
            total = facts[DealDay][(owner, end_day, pipeline, source)]
            total["stays"] += 1
            total["stay_seconds"] += seconds


# --- storing ------------------------------------------------------------------------------------------


def _key_fields(model: type) -> tuple[str, ...]:
    if model is DealDay:
        return ("owner_id", "day", "pipeline_id", "source_id")
    if model is FlowDay:
        return ("owner_id", "day", "pipeline_id", "source_id", "stage_id", "prev_day")
    return ("owner_id", "pipeline_id", "stage_id", "source_id")


def _value_fields(model: type) -> tuple[str, ...]:
    return {DealDay: DEAL_FIELDS, FlowDay: FLOW_FIELDS, OpenDeals: OPEN_FIELDS}[model]


def _stored(model: type, owners: tuple[int, ...]) -> dict:
    fields = _key_fields(model) + _value_fields(model)
    width = len(_key_fields(model))
    return {
        row[:width]: dict(zip(_value_fields(model), row[width:], strict=True))
        for row in model.objects.filter(owner_id__in=owners).values_list(*fields).iterator(chunk_size=10000)
    }


def _add_all(into: dict, rows: dict, sign: int) -> None:
    """Adds (sign +1) or takes away (-1) owner rows into rows keyed without the owner."""
    for key, values in rows.items():
        target = into.setdefault(key[1:], {})
        for field, value in values.items():
            if field == "lengths":
                lengths = target.setdefault("lengths", {})
                for days, count in value.items():
                    lengths[days] = lengths.get(days, 0) + sign * count
            else:
                target[field] = target.get(field, 0) + sign * value


def _apply_to_all_owners(model: type, delta: dict) -> None:
    """Moves the all-owners rows by `delta` (keyed without the owner); a row whose counts reach 0 goes."""
    delta = {key: values for key, values in delta.items() if _moves_anything(values)}
    if not delta:
        return
    keys = _key_fields(model)[1:]
    current = {
        tuple(getattr(row, field) for field in keys): row
        for row in model.objects.filter(owner_id=ALL_OWNERS, day__in={key[0] for key in delta})
    }
    new, changed, emptied = {}, [], []
    for key, values in delta.items():
        row = current.get(key)
        if row is None:
            new[(ALL_OWNERS, *key)] = values
            continue
        for field, value in values.items():
            if field == "lengths":
                lengths = dict(row.lengths)
                for length, count in value.items():
                    lengths[length] = lengths.get(length, 0) + count
                row.lengths = {length: count for length, count in lengths.items() if count}
            else:
                setattr(row, field, getattr(row, field) + value)
        (changed if any(getattr(row, field, 0) for field in COUNTS) else emptied).append(row)
    model.objects.filter(pk__in=[row.pk for row in emptied]).delete()
    model.objects.bulk_update(changed, list(_value_fields(model)), batch_size=1000)
    _insert(model, new)


def _moves_anything(values: dict) -> bool:
    for field, value in values.items():
        if field == "lengths":
            if any(value.values()):
                return True
        elif abs(value) > 1e-6:
            return True
    return False


def _insert(model: type, rows: dict) -> None:
    """Writes rows ({key: values}); PostgreSQL copies them in (a rebuild writes millions)."""
    keys, fields = _key_fields(model), _value_fields(model)
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [
                model(**dict(zip(keys, key, strict=True)), **{field: _value(values, field) for field in fields})
                for key, values in rows.items()
            ],
            batch_size=2000,
        )
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for key, values in rows.items():
        cells = [_value(values, field) for field in fields]
        writer.writerow([*key, *(json.dumps(cell, separators=(",", ":")) if isinstance(cell, dict) else cell
                                 for cell in cells)])  # fmt: skip
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {model._meta.db_table} ({', '.join((*keys, *fields))}) FROM STDIN WITH (FORMAT csv)", buffer
        )


def _value(values: dict, field: str):
    if field == "lengths":
        return {days: count for days, count in (values.get("lengths") or {}).items() if count}
    return values.get(field, 0)
