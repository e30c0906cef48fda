"""Every write to the funnel. Each function validates, writes history and keeps denormalised fields
right inside one transaction; views only translate between HTTP and these calls.

An opportunity write carries the `version` the user saw: a stale one raises StaleVersion and
changes nothing (QUALITY R10, R11).
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from reps.models import AuditAction, User
from reps.services import audit_record

from .models import REQUIRABLE_FIELDS, LostReason, Opportunity, Stage, StageChange, StageKind

# Fields a user may edit directly; stage, owner, status and version change only through the functions below.
EDITABLE_FIELDS = [
    "name",
    "account",
    "contact",
    "source",
    "description",
    "amount",
    "probability_override",
    "expected_close_date",
    "next_step",
    "next_step_date",
]
# Changes to these are kept in the audit trail as field history (QUALITY G-A8).
TRACKED_FIELDS = ["amount", "probability_override", "expected_close_date"]


class FunnelError(Exception):
    """A write the funnel refuses; str(error) is the message for the user."""


class StaleVersion(FunnelError):
    def __init__(self, current: Opportunity):
        self.current = current
        super().__init__(
            _("Someone else changed “%(name)s” after you opened it. Review the current values and try again.")
            % {"name": current.name}
        )


class GateFailed(FunnelError):
    """The target stage's required fields are empty or its checklist is not confirmed."""

    def __init__(self, stage: Stage, missing: list[str], unchecked: list[str]):
        self.stage, self.missing, self.unchecked = stage, missing, unchecked
        parts = []
        if missing:
            parts.append(_("fill in %(fields)s") % {"fields": ", ".join(missing)})
        if unchecked:
            parts.append(_("confirm the checklist: %(items)s") % {"items": "; ".join(unchecked)})
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
    """The row as it is now, locked for this transaction; refuses a stale version."""
    current = Opportunity.objects.select_for_update().select_related("stage", "pipeline").get(pk=opportunity.pk)
    if version is not None and current.version != version:
        raise StaleVersion(current)
    return current


def _check_target(opportunity: Opportunity, stage: Stage) -> None:
    # Lock the stage row, so an admin archiving it at the same moment waits for this move (or
    # this move sees the archive): a deal never lands in an archived stage (QUALITY R12).
    stage.is_archived = Stage.objects.select_for_update().values_list("is_archived", flat=True).get(pk=stage.pk)
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
        from_stage=opportunity.stage,
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
    return opportunity


@transaction.atomic
def opportunity_create(
    *, by: User, owner: User, stage: Stage, data: dict, checklist: Iterable[str] = ()
) -> Opportunity:
    """A new open opportunity in `stage` (gates apply), with its first StageChange."""
    if stage.kind != StageKind.OPEN or stage.is_archived:
        raise FunnelError(_("A new opportunity starts in an open stage."))
    opportunity = Opportunity(owner=owner, pipeline=stage.pipeline, stage=stage, status=StageKind.OPEN)
    for field in EDITABLE_FIELDS:
        if field in data:
            setattr(opportunity, field, data[field])
    confirmed = _check_gate(opportunity, stage, checklist)
    now = timezone.now()
    opportunity.stage_entered_at = opportunity.created_at = now
    opportunity.save()
    StageChange.objects.create(opportunity=opportunity, to_stage=stage, by=by, at=now, checklist=confirmed)
    return opportunity


@transaction.atomic
def opportunity_update(*, opportunity: Opportunity, by: User, version: int, data: dict) -> Opportunity:
    """Edits the editable fields; changes to amount, probability and close date go to the field history."""
    current = _locked(opportunity, version)
    changes = {}
    for field in EDITABLE_FIELDS:
        if field not in data:
            continue
        old, new = getattr(current, field), data[field]
        if old != new and field in TRACKED_FIELDS:
            changes[field] = [_plain(old), _plain(new)]
        setattr(current, field, new)
    current.version += 1
    current.save()
    if changes:
        audit_record(action=AuditAction.FIELD_CHANGED, actor=by, obj=current, detail=changes)
    return current


def _plain(value) -> str | None:
    return None if value is None else str(value)


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
    stage = opportunity.pipeline.stages.filter(kind=kind, is_archived=False).order_by("order").first()
    if stage is None:
        raise FunnelError(_("This pipeline has no “%(kind)s” stage.") % {"kind": StageKind(kind).label})
    return stage


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
    """The requested opportunities, locked, each at the version the user saw."""
    found = list(
        Opportunity.objects.visible_to(by)
        .select_for_update(of=("self",))
        .select_related("stage", "pipeline")
        .filter(pk__in=ids)
    )
    if len(found) != len(ids):  # one left the user's view since the check
        raise FunnelError(_("Some of the selected opportunities are not yours to change. Nothing was changed."))
    for opportunity in found:
        if ids[opportunity.pk] is not None and opportunity.version != ids[opportunity.pk]:
            raise StaleVersion(opportunity)
    return found


def opportunities_bulk_reassign(*, ids: dict[int, int | None], owner: User, by: User) -> int:
    """Reassigns every selected deal or none (QUALITY S7). `ids` maps id → version seen."""
    _check_bulk_scope(ids=ids, by=by)
    with transaction.atomic():
        for opportunity in _bulk_targets(ids=ids, by=by):
            opportunity_reassign(opportunity=opportunity, owner=owner, by=by, version=None)
    return len(ids)


def opportunities_bulk_move(*, ids: dict[int, int | None], stage: Stage, by: User) -> int:
    """Moves every selected deal through the same gates as a single move, or none."""
    _check_bulk_scope(ids=ids, by=by)
    with transaction.atomic():
        problems = []
        for opportunity in _bulk_targets(ids=ids, by=by):
            try:
                opportunity_move(opportunity=opportunity, stage=stage, by=by, version=None)
            except FunnelError as error:
                problems.append(f"{opportunity.name}: {error}")
        if problems:  # raising inside the block undoes the moves that passed
            raise FunnelError(_("Nothing was moved. %(problems)s") % {"problems": " ".join(problems)})
    return len(ids)


@transaction.atomic
def stage_archive(*, stage: Stage, target: Stage, by: User) -> int:
    """Archives a stage, first moving its opportunities to `target` with history written."""
    if target.pipeline_id != stage.pipeline_id or target.is_archived or target.pk == stage.pk:
        raise FunnelError(_("Choose another active stage of the same pipeline."))
    if target.kind != stage.kind:
        raise FunnelError(_("Move the opportunities to a stage of the same kind."))
    # Lock both stages first (see _check_target), in a fixed order so two archives cannot deadlock.
    list(Stage.objects.select_for_update().filter(pk__in=[stage.pk, target.pk]).order_by("pk").values_list("pk"))
    now = timezone.now()
    moved = 0
    for opportunity in Opportunity.objects.select_for_update().select_related("stage").filter(stage=stage):
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
