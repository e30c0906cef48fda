"""Every write to the funnel. Each function validates, writes history and keeps denormalised fields
right inside one transaction; views only translate between HTTP and these calls.

An opportunity write carries the `version` the user saw: a stale one raises StaleVersion and
changes nothing (QUALITY R10, R11).

Lock order. On PostgreSQL every write takes its row locks in this one order, so two writes may wait
for each other but never deadlock (on SQLite a writer's IMMEDIATE transaction holds the whole file):

1. opportunity rows, FOR UPDATE of the opportunity row alone, several in ascending id (`_locked`,
   `_bulk_targets`). Never over a join: that would lock the stage and pipeline rows too, so every
   write in a pipeline would queue, and a deal moved while this waited would vanish from the result;
2. stage rows. A deal entering a stage holds a SHARE lock on it (`stage_lock_for_entry`): moves into
   one stage run side by side, while archiving or editing the stage (which lock it for update) waits
   for them and they for it, so a deal never lands in an archived stage (QUALITY R12). Several stage
   rows are locked in ascending id;
3. the pipeline row: a deal write never locks it. Configuration writes (funnel.configuration.services) lock
   it first, FOR NO KEY UPDATE, as the pipeline's configuration mutex; that lock does not block the
   key-share lock a deal's foreign key check takes, so it is outside this order.

Archiving a stage locks the deals in the stage (1) before the stage (2), then takes the deals that
entered meanwhile. A lock wait ends after settings.DB_LOCK_TIMEOUT_MS; a lock timeout or a deadlock
is retried (`retry_on_lock_conflict`) and, failing that, raised as Busy, which the views answer with
409 and the record as it now is.
"""

import functools
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.wording import colon, join_clauses, join_list, join_sentences
from reps.models import AuditAction, User
from reps.services import audit_record

from ..health.freshness import stalled_recheck
from ..insights import rollup
from ..models import REQUIRABLE_FIELDS, LostReason, Opportunity, Stage, StageChange, StageKind
from .conflicts import (  # noqa: F401 (named here as before: the views and services import them from this module)
    LOCK_ATTEMPTS,
    Busy,
    FunnelError,
    MissingVersion,
    StaleVersion,
    is_lock_conflict,
    retry_on_lock_conflict,
)

# Fields a user may edit directly; stage, owner, status and version change only through the functions below.
EDITABLE_FIELDS = [
    "name",
    "account",
    "contact",
    "source",
    "campaign",
    "description",
    "amount",
    "probability_override",
    "expected_close_date",
    "next_step",
    "next_step_date",
    "next_step_time",
]
# Changes to these are kept in the audit trail as field history (QUALITY G-A8).
TRACKED_FIELDS = ["amount", "probability_override", "expected_close_date"]


class GateFailed(FunnelError):
    """The target stage's required fields are empty or its checklist is not confirmed."""

    def __init__(self, stage: Stage, missing: list[str], unchecked: list[str]):
        self.stage, self.missing, self.unchecked = stage, missing, unchecked
        parts = []
        if missing:
            parts.append(_("fill in %(fields)s") % {"fields": join_list(missing)})
        if unchecked:
            parts.append(_("confirm the checklist: %(items)s") % {"items": join_clauses(unchecked)})
        super().__init__(
            _("Before entering “%(stage)s”, %(what)s.") % {"stage": stage.name, "what": _(" and ").join(parts)}
        )


def _is_blank(opportunity: Opportunity, field: str) -> bool:
    value = getattr(opportunity, field)
    if field == "amount":
        return not value or value <= Decimal(0)
    return value in (None, "")


def stage_gate_problems(opportunity: Opportunity, stage: Stage, checklist: Iterable[str] = ()) -> tuple[list, list]:
    """(missing required fields, unconfirmed checklist items) for entering `stage`."""
    missing = [
        str(label)
        for name, label in REQUIRABLE_FIELDS.items()
        if name in stage.required_fields and _is_blank(opportunity, name)
    ]
    confirmed = set(checklist)
    return missing, [item for item in stage.checklist_items() if item not in confirmed]


def _check_gate(opportunity: Opportunity, stage: Stage, checklist: Iterable[str]) -> list[str]:
    missing, unchecked = stage_gate_problems(opportunity, stage, checklist)
    if missing or unchecked:
        raise GateFailed(stage, missing, unchecked)
    return stage.checklist_items()


def _locked(opportunity: Opportunity, version: int | None) -> Opportunity:
    """The row as it is now, locked for this transaction (the row alone: see the lock order above);
    refuses a stale or a missing version."""
    current = Opportunity.objects.select_for_update(of=("self",)).get(pk=opportunity.pk)
    if version is None:
        raise MissingVersion(current)
    if current.version != version:
        raise StaleVersion(current)
    return current


def stage_lock_for_entry(stage: Stage) -> bool:
    """Holds the stage row against archiving and editing until commit; True if it is archived.

    Every write that puts a deal into a stage calls it before writing. It is a SHARE lock on
    PostgreSQL (Django has no FOR SHARE), so entries into one stage do not wait for each other;
    an archive, which locks the row for update, waits for them, and they for it. Sets
    `stage.is_archived` to the stored value.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT is_archived FROM {Stage._meta.db_table} WHERE id = %s FOR SHARE", [stage.pk])  # noqa: S608
            row = cursor.fetchone()
    else:  # SQLite: the IMMEDIATE transaction already keeps every other writer out
        row = Stage.objects.filter(pk=stage.pk).values_list("is_archived").first()
    stage.is_archived = row is None or row[0]
    return stage.is_archived


def _check_target(opportunity: Opportunity, stage: Stage) -> None:
    stage_lock_for_entry(stage)
    if stage.pipeline_id != opportunity.pipeline_id:
        raise FunnelError(_("“%(stage)s” belongs to another pipeline.") % {"stage": stage.name})
    if stage.is_archived:
        raise FunnelError(_("“%(stage)s” is archived.") % {"stage": stage.name})
    if stage.pk == opportunity.stage_id:
        raise FunnelError(_("The opportunity is already in “%(stage)s”.") % {"stage": stage.name})


def _enter_stage(
    opportunity: Opportunity, stage: Stage, *, by: User | None, at: datetime, checklist: list[str], note: str = ""
) -> Opportunity:
    """Writes the StageChange and moves the (locked) opportunity; the only place a stage is entered."""
    StageChange.objects.create(
        opportunity=opportunity,
        from_stage_id=opportunity.stage_id,
        to_stage=stage,
        by=by,
        at=at,
        checklist=checklist,
        note=note,
    )
    if stage.kind == StageKind.OPEN:
        opportunity.closed_at = None
    elif opportunity.status == StageKind.OPEN or opportunity.closed_at is None:
        opportunity.closed_at = at  # closing now; a closed deal moved between closed stages keeps its date
    opportunity.stage = stage
    opportunity.status = stage.kind
    opportunity.stage_entered_at = at
    opportunity.version += 1
    opportunity.save()
    rollup.mark_deals_dirty([(opportunity.owner_id, opportunity.pk)])
    transaction.on_commit(functools.partial(stalled_recheck, [opportunity.pk]))  # its stalled alert, at once
    return opportunity


@retry_on_lock_conflict
@transaction.atomic
def opportunity_create(
    *, by: User, owner: User, stage: Stage, data: dict, checklist: Iterable[str] = ()
) -> Opportunity:
    """A new open opportunity in `stage` (gates apply), with its first StageChange."""
    if stage.kind != StageKind.OPEN or stage_lock_for_entry(stage):
        raise FunnelError(_("A new opportunity starts in an open stage."))
    opportunity = Opportunity(owner=owner, pipeline=stage.pipeline, stage=stage, status=StageKind.OPEN)
    for field in EDITABLE_FIELDS:
        if field in data:
            setattr(opportunity, field, data[field])
    _source_from_campaign(opportunity)
    confirmed = _check_gate(opportunity, stage, checklist)
    now = timezone.now()
    opportunity.stage_entered_at = opportunity.created_at = now
    opportunity.save()
    StageChange.objects.create(opportunity=opportunity, to_stage=stage, by=by, at=now, checklist=confirmed)
    rollup.mark_deals_dirty([(owner.pk, opportunity.pk)])
    return opportunity


@retry_on_lock_conflict
@transaction.atomic
def opportunity_update(*, opportunity: Opportunity, by: User, version: int, data: dict) -> Opportunity:
    """Edits the editable fields; changes to amount, probability and close date go to the field history.

    Old values are the row as stored (locked), never the caller's copy. Nothing changed: nothing is
    written, and the version stays (the caller can tell by it).
    """
    current = _locked(opportunity, version)
    data = with_campaign_source(data, current.source_id)
    changed = [field for field in EDITABLE_FIELDS if field in data and _stored(current, field) != _id(data[field])]
    if not changed:
        return current
    tracked = [field for field in changed if field in TRACKED_FIELDS]
    changes = {field: [_audit_text(getattr(current, field)), _audit_text(data[field])] for field in tracked}
    for field in changed:
        setattr(current, field, data[field])
    current.version += 1
    current.save()
    rollup.mark_deals_dirty([(current.owner_id, current.pk)])
    if changes:
        audit_record(action=AuditAction.FIELD_CHANGED, actor=by, obj=current, detail=changes)
    return current


def _source_from_campaign(opportunity: Opportunity) -> None:
    """A deal that names a campaign with a source, and no source of its own, comes from the campaign's source."""
    campaign = opportunity.campaign
    if campaign is not None and campaign.source_id and opportunity.source_id is None:
        opportunity.source_id = campaign.source_id


def with_campaign_source(data: dict, stored_source_id: int | None = None) -> dict:
    """`data` with the campaign's source as the source when the campaign has one and neither `data` nor the stored
    deal (`stored_source_id`) names a source; the same rule as _source_from_campaign, for edits and imports."""
    campaign = data.get("campaign")
    source_given = data.get("source") if "source" in data else stored_source_id
    if campaign is None or not campaign.source_id or source_given:
        return data
    return {**data, "source": campaign.source}


def _stored(opportunity: Opportunity, field: str):
    """A field's stored value; related rows by id, read without loading them."""
    return getattr(opportunity, Opportunity._meta.get_field(field).attname)


def _id(value):
    return value.pk if isinstance(value, models.Model) else value


def _audit_text(value) -> str | None:
    """A field's value as the audit trail shows it: related rows by their name, amounts with two places."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"  # as stored (two places), however it was typed
    return None if value is None else str(value)


@retry_on_lock_conflict
@transaction.atomic
def opportunity_move(
    *,
    opportunity: Opportunity,
    stage: Stage,
    by: User,
    version: int | None,
    checklist: Iterable[str] = (),
    keep_probability: bool = False,
) -> Opportunity:
    """Moves an open deal to another stage of its pipeline (open or won; losing needs a reason).

    The probability follows the new stage unless the user asks to keep their override.
    """
    current = _locked(opportunity, version)
    _check_target(current, stage)
    if current.status != StageKind.OPEN:
        raise FunnelError(_("This opportunity is closed. Reopen it first."))
    if stage.kind == StageKind.LOST:
        raise FunnelError(_("Use “Mark lost” to record why the deal was lost."))
    confirmed = _check_gate(current, stage, checklist)
    if not keep_probability:
        current.probability_override = None
    return _enter_stage(current, stage, by=by, at=timezone.now(), checklist=confirmed)


def _closing_stage(opportunity: Opportunity, kind: str) -> Stage:
    """The pipeline's first active stage of `kind`, held for entry."""
    stage = Stage.objects.filter(pipeline_id=opportunity.pipeline_id, kind=kind, is_archived=False).order_by("order")
    stage = stage.first()
    if stage is None:
        raise FunnelError(_("This pipeline has no “%(kind)s” stage.") % {"kind": StageKind(kind).label})
    if stage_lock_for_entry(stage):  # archived since the read above
        raise Busy(_("The funnel's stages are being changed right now. Try again in a moment."))
    return stage


@retry_on_lock_conflict
@transaction.atomic
def opportunity_mark_won(
    *, opportunity: Opportunity, by: User, version: int | None, checklist: Iterable[str] = (), note: str = ""
) -> Opportunity:
    current = _locked(opportunity, version)
    if current.status != StageKind.OPEN:
        raise FunnelError(_("This opportunity is already closed."))
    stage = _closing_stage(current, StageKind.WON)
    confirmed = _check_gate(current, stage, checklist)
    current.close_note = note
    current.probability_override = None
    return _enter_stage(current, stage, by=by, at=timezone.now(), checklist=confirmed, note=note)


@retry_on_lock_conflict
@transaction.atomic
def opportunity_mark_lost(
    *, opportunity: Opportunity, by: User, version: int | None, reason: LostReason | None, note: str = ""
) -> Opportunity:
    """Closes a deal as lost; a reason from the admin's list is required, a note is optional."""
    current = _locked(opportunity, version)
    if current.status != StageKind.OPEN:
        raise FunnelError(_("This opportunity is already closed."))
    if reason is None or not reason.is_active:
        raise FunnelError(_("Choose why the deal was lost."))
    stage = _closing_stage(current, StageKind.LOST)
    current.lost_reason, current.close_note = reason, note
    current.probability_override = None
    return _enter_stage(current, stage, by=by, at=timezone.now(), checklist=[], note=note or reason.name)


@retry_on_lock_conflict
@transaction.atomic
def opportunity_reopen(
    *, opportunity: Opportunity, stage: Stage, by: User, version: int | None, checklist: Iterable[str] = ()
) -> Opportunity:
    """Puts a won or lost deal back into an open stage (gates apply); the close is kept in history."""
    current = _locked(opportunity, version)
    if current.status == StageKind.OPEN:
        raise FunnelError(_("This opportunity is already open."))
    _check_target(current, stage)
    if stage.kind != StageKind.OPEN:
        raise FunnelError(_("Reopen into an open stage."))
    confirmed = _check_gate(current, stage, checklist)
    current.lost_reason, current.close_note = None, ""
    return _enter_stage(current, stage, by=by, at=timezone.now(), checklist=confirmed)


@retry_on_lock_conflict
@transaction.atomic
def opportunity_reassign(*, opportunity: Opportunity, owner: User, by: User, version: int | None) -> Opportunity:
    """Gives the deal to another active user; audited as owner history."""
    current = _locked(opportunity, version)
    if not owner.is_active:
        raise FunnelError(_("%(user)s is deactivated.") % {"user": owner})
    if owner.pk != current.owner_id:
        audit_record(
            action=AuditAction.OWNER_CHANGED,
            actor=by,
            obj=current,
            detail={"owner": [current.owner_id, owner.pk]},
        )
        rollup.mark_deals_dirty([(current.owner_id, current.pk), (owner.pk, current.pk)])
        current.owner = owner
        current.version += 1
        current.save()
    return current


def _check_bulk_scope(*, ids: dict[int, int | None], by: User) -> None:
    """Refuses the whole request if any id is outside the user's view, and audits it (QUALITY S7).

    Runs before the write transaction so the audit row survives the refusal.
    """
    visible = set(Opportunity.objects.visible_to(by).filter(pk__in=ids).values_list("pk", flat=True))
    foreign = sorted(set(ids) - visible)
    if foreign:
        audit_record(
            action=AuditAction.ACCESS_DENIED,
            actor=by,
            object_type=Opportunity._meta.label_lower,
            object_id=",".join(map(str, foreign))[:64],
            detail={"bulk": True, "ids": foreign},
        )
        raise FunnelError(_("Some of the selected opportunities are not yours to change. Nothing was changed."))


def _bulk_targets(*, ids: dict[int, int | None], by: User) -> list[Opportunity]:
    """The requested opportunities, locked in ascending id (the lock order), each at the version the user saw."""
    found = list(Opportunity.objects.visible_to(by).select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))
    if len(found) != len(ids):  # one left the user's view since the check
        raise FunnelError(_("Some of the selected opportunities are not yours to change. Nothing was changed."))
    for opportunity in found:
        if ids[opportunity.pk] is not None and opportunity.version != ids[opportunity.pk]:
            raise StaleVersion(opportunity)
    return found


@retry_on_lock_conflict
def opportunities_bulk_reassign(*, ids: dict[int, int | None], owner: User, by: User) -> int:
    """Reassigns every selected deal or none (QUALITY S7). `ids` maps id → version seen."""
    _check_bulk_scope(ids=ids, by=by)
    with transaction.atomic():
        for opportunity in _bulk_targets(ids=ids, by=by):
            opportunity_reassign(opportunity=opportunity, owner=owner, by=by, version=opportunity.version)
    return len(ids)


@retry_on_lock_conflict
def opportunities_bulk_move(*, ids: dict[int, int | None], stage: Stage, by: User) -> int:
    """Moves every selected deal through the same gates as a single move, or none."""
    _check_bulk_scope(ids=ids, by=by)
    with transaction.atomic():
        problems = []
        for opportunity in _bulk_targets(ids=ids, by=by):
            try:
                opportunity_move(opportunity=opportunity, stage=stage, by=by, version=opportunity.version)
            except Busy:
                raise  # the whole request is retried, not reported as this deal's problem
            except FunnelError as error:
                problems.append(f"{opportunity.name}{colon()}{error}")
        if problems:  # raising inside the block undoes the moves that passed
            raise FunnelError(_("Nothing was moved. %(problems)s") % {"problems": join_sentences(problems)})
    return len(ids)


def _deals_in(stage: Stage) -> list[Opportunity]:
    return list(Opportunity.objects.select_for_update(of=("self",)).filter(stage=stage).order_by("pk"))


@retry_on_lock_conflict
@transaction.atomic
def move_deals_and_archive_stage(*, stage: Stage, target: Stage, by: User) -> int:
    """Archives a stage, first moving its opportunities to `target` with history written. Callers check the
    pipeline's rules first (funnel.configuration.services.stage_archive, the one admins reach).

    Locks in the module's order: the deals in the stage, then the stage (no deal enters it any more),
    then the deals that entered while this waited.
    """
    if target.pipeline_id != stage.pipeline_id or target.pk == stage.pk:
        raise FunnelError(_("Choose another active stage of the same pipeline."))
    if target.kind != stage.kind:
        raise FunnelError(_("Move the opportunities to a stage of the same kind."))
    _deals_in(stage)
    list(Stage.objects.select_for_update(no_key=True).filter(pk=stage.pk).values_list("pk"))
    if stage_lock_for_entry(target):
        raise FunnelError(_("Choose another active stage of the same pipeline."))
    now = timezone.now()
    moved = 0
    for opportunity in _deals_in(stage):
        _enter_stage(opportunity, target, by=by, at=now, checklist=[], note=_("Stage archived"))
        moved += 1
    stage.is_archived = True
    stage.save(update_fields=["is_archived"])
    audit_record(
        action=AuditAction.CONFIG_CHANGED,
        actor=by,
        obj=stage,
        detail={"is_archived": [False, True], "moved_to": target.pk, "opportunities_moved": moved},
    )
    return moved
