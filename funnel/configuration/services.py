"""The admin's writes to the funnel's configuration: pipelines, stages, sources, lost reasons and the
funnel-health thresholds.

Every change writes one CONFIG_CHANGED audit row with {field: [old, new]}; a refusal raises FunnelError
and changes nothing. Stage writes lock the pipeline row first, so two admins' edits of one pipeline
run one after the other, while reps keep moving deals (they write opportunities, never stages).
"""

from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.wording import join_list
from reps.models import AuditAction, User
from reps.services import audit_record

from ..insights import rollup
from ..models import REQUIRABLE_FIELDS, HealthSettings, LostReason, Pipeline, Source, Stage, StageKind
from ..opportunities import services as opportunity_services
from ..opportunities.services import FunnelError

# The fields of a stage an admin edits, in the order the audit trail lists them.
STAGE_FIELDS = ["name", "probability", "stall_days", "kind", "playbook", "checklist", "required_fields"]
# A pipeline's funnel-health thresholds (funnel.health.diagnoses), in the order the audit trail lists them, with
# their allowed ranges (None: no upper bound).
HEALTH_FIELDS = {
    "blockage_share": (1, 100),
    "blockage_min_deals": (1, None),
    "inflow_minimum": (0, None),
    "inflow_weeks": (1, 52),
    "next_step_cap_days": (1, 365),
}
# A closed stage's probability is a fact, not a forecast.
CLOSED_PROBABILITY = {StageKind.WON: 100, StageKind.LOST: 0}


def _audit(*, by: User, obj: models.Model, detail: dict) -> None:
    audit_record(action=AuditAction.CONFIG_CHANGED, actor=by, obj=obj, detail=detail)


def _changes(obj: models.Model, data: dict) -> dict:
    """{field: [old, new]} for the values in `data` that differ from `obj`'s."""
    return {field: [getattr(obj, field), new] for field, new in data.items() if getattr(obj, field) != new}


def _save_changes(obj: models.Model, changes: dict, *, by: User) -> models.Model:
    """Writes `changes` ({field: [old, new]}, from _changes) and audits them old → new; nothing if none."""
    if changes:
        for field, (_old, new) in changes.items():
            setattr(obj, field, new)
        obj.save(update_fields=list(changes))
        _audit(by=by, obj=obj, detail=changes)
    return obj


def probability_problem(*, kind: str, probability: int) -> str | None:
    """Why this probability does not fit a stage of this kind, or None."""
    expected = CLOSED_PROBABILITY.get(kind)
    if expected is None or probability == expected:
        return None
    if kind == StageKind.WON:
        return _("A won stage has a probability of 100%.")
    return _("A lost stage has a probability of 0%.")


# --- Pipelines -----------------------------------------------------------------------------


def _check_pipeline_name(name: str, exclude: Pipeline | None = None) -> None:
    clash = Pipeline.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise FunnelError(_("A pipeline named “%(name)s” already exists.") % {"name": name})


def _starter_stages() -> list[dict]:
    return [
        {"name": _("New"), "probability": 10, "stall_days": 14, "kind": StageKind.OPEN},
        {"name": _("Won"), "probability": 100, "stall_days": 0, "kind": StageKind.WON},
        {"name": _("Lost"), "probability": 0, "stall_days": 0, "kind": StageKind.LOST},
    ]


@transaction.atomic
def pipeline_create(*, name: str, by: User) -> Pipeline:
    """A new pipeline with an open, a won and a lost stage, so it can take deals at once.

    The first pipeline becomes the default.
    """
    _check_pipeline_name(name)
    pipeline = Pipeline.objects.create(name=name, is_default=not Pipeline.objects.filter(is_default=True).exists())
    stages = [Stage(pipeline=pipeline, order=order, **data) for order, data in enumerate(_starter_stages(), start=1)]
    Stage.objects.bulk_create(stages)
    _audit(
        by=by,
        obj=pipeline,
        detail={
            "name": [None, name],
            "is_default": [None, pipeline.is_default],
            "stages": [None, [s.name for s in stages]],
        },
    )
    return pipeline


def _locked_pipeline(pipeline: Pipeline) -> Pipeline:
    """The pipeline's configuration mutex (see the lock order in funnel.opportunities.services): NO KEY UPDATE, so
    configuration writes take turns without blocking a new deal's foreign-key check on the row."""
    return Pipeline.objects.select_for_update(no_key=True).get(pk=pipeline.pk)


@transaction.atomic
def pipeline_update(*, pipeline: Pipeline, by: User, name: str, is_active: bool) -> Pipeline:
    """Renames, activates or deactivates a pipeline; the default one stays active."""
    current = _locked_pipeline(pipeline)
    _check_pipeline_name(name, exclude=current)
    if current.is_default and not is_active:
        raise FunnelError(_("The default pipeline stays active. Make another pipeline the default first."))
    changes = _changes(current, {"name": name, "is_active": is_active})
    if changes:
        current.name, current.is_active = name, is_active
        current.save(update_fields=list(changes))
        _audit(by=by, obj=current, detail=changes)
    return current


@transaction.atomic
def pipeline_set_default(*, pipeline: Pipeline, by: User) -> Pipeline:
    """Makes `pipeline` the one default; the old default is unset in the same transaction."""
    current = _locked_pipeline(pipeline)
    if not current.is_active:
        raise FunnelError(_("Activate “%(name)s” before making it the default.") % {"name": current.name})
    if current.is_default:
        return current
    previous = Pipeline.objects.select_for_update(no_key=True).filter(is_default=True).first()
    # Unset first: the one_default_pipeline constraint is checked row by row.
    Pipeline.objects.filter(is_default=True).update(is_default=False)
    current.is_default = True
    current.save(update_fields=["is_default"])
    _audit(
        by=by,
        obj=current,
        detail={"is_default": [False, True], "previous_default": previous.name if previous else None},
    )
    return current


# --- Stages ----------------------------------------------------------------------------------


def _check_stage_name(pipeline: Pipeline, name: str, exclude: Stage | None = None) -> None:
    clash = Stage.objects.filter(pipeline=pipeline, name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise FunnelError(_("This pipeline already has a stage named “%(name)s”.") % {"name": name})


def _check_stage_data(data: dict) -> None:
    problem = probability_problem(kind=data["kind"], probability=data["probability"])
    if problem:
        raise FunnelError(problem)
    if not 0 <= data["probability"] <= 100:
        raise FunnelError(_("The probability is a percentage from 0 to 100."))
    unknown = set(data["required_fields"]) - set(REQUIRABLE_FIELDS)
    if unknown:
        raise FunnelError(_("Unknown required fields: %(fields)s.") % {"fields": join_list(sorted(unknown))})


def _check_keeps_kind(stage: Stage, *, archiving: bool) -> None:
    """Refuses to take the last active stage of a kind out of the pipeline: a pipeline always keeps
    an active open, won and lost stage, or deals could not move, win or lose.
    """
    others = Stage.objects.filter(pipeline_id=stage.pipeline_id, kind=stage.kind, is_archived=False).exclude(
        pk=stage.pk
    )
    if others.exists():
        return
    values = {"stage": stage.name, "kind": StageKind(stage.kind).label}
    if archiving:
        message = _(
            "“%(stage)s” is the pipeline's last active stage of kind “%(kind)s”, so it cannot be archived. "
            "A pipeline needs an active open, won and lost stage."
        )
    else:
        message = _(
            "“%(stage)s” is the pipeline's last active stage of kind “%(kind)s”, so its kind cannot change. "
            "A pipeline needs an active open, won and lost stage."
        )
    raise FunnelError(message % values)


def closed_stages_last(stages: list[Stage]) -> list[Stage]:
    """The stages with the won and lost ones after every open one, each group in its given order: deals
    win or lose at the end of the funnel, so a closed stage among the open ones would misread every count
    of "went on to a later stage"."""
    return [s for s in stages if s.kind == StageKind.OPEN] + [s for s in stages if s.kind != StageKind.OPEN]


def probability_order_problems(stages: list[Stage]) -> list[str]:
    """What reads wrong in the active open stages' probabilities, in funnel order: a stage whose chance of
    winning is lower than the stage before it (80 % then 60 %). A warning, not a refusal: the admin may
    mean it, but the forecast weighs deals by these numbers."""
    open_stages = [s for s in stages if s.kind == StageKind.OPEN and not s.is_archived]
    return [
        _("“%(later)s” (%(later_p)s%%) comes after “%(earlier)s” (%(earlier_p)s%%) but is less likely to be won.")
        % {"later": later.name, "later_p": later.probability, "earlier": earlier.name, "earlier_p": earlier.probability}
        for earlier, later in zip(open_stages, open_stages[1:], strict=False)
        if later.probability < earlier.probability
    ]


def _renumber(stages: list[Stage]) -> list[Stage]:
    """Sets order 1..n in list order; returns the stages whose order changed."""
    changed = []
    for order, stage in enumerate(stages, start=1):
        if stage.order != order:
            stage.order = order
            changed.append(stage)
    return changed


@transaction.atomic
def stage_create(*, pipeline: Pipeline, by: User, data: dict) -> Stage:
    """Adds a stage: an open one after the last open stage, a won or lost one at the end."""
    pipeline = _locked_pipeline(pipeline)
    _check_stage_name(pipeline, data["name"])
    _check_stage_data(data)
    stages = list(pipeline.stages.order_by("order", "pk"))
    position = len(stages)
    if data["kind"] == StageKind.OPEN:
        position = next((i for i, s in enumerate(stages) if s.kind != StageKind.OPEN), len(stages))
    stage = Stage(pipeline=pipeline, order=0, **{field: data[field] for field in STAGE_FIELDS})
    stages.insert(position, stage)
    _renumber(stages)
    Stage.objects.bulk_update([s for s in stages if s.pk], ["order"])
    stage.save()
    _audit(by=by, obj=stage, detail={field: [None, data[field]] for field in STAGE_FIELDS})
    return stage


@opportunity_services.retry_on_lock_conflict
@transaction.atomic
def stage_update(*, stage: Stage, by: User, data: dict) -> Stage:
    """Edits a stage's settings; only the changed columns are written, so a concurrent reorder is kept.
    Waits for deals entering the stage (their SHARE lock), so its kind cannot change under them."""
    _locked_pipeline(stage.pipeline)
    current = Stage.objects.select_for_update(no_key=True).get(pk=stage.pk)
    _check_stage_name(current.pipeline, data["name"], exclude=current)
    _check_stage_data(data)
    changes = _changes(current, {field: data[field] for field in STAGE_FIELDS})
    if "kind" in changes:
        held = current.opportunities.count()
        if held:
            # Opportunity.status copies the stage's kind: changing it would misfile these deals.
            message = ngettext(
                "“%(stage)s” holds %(count)d opportunity, so its kind cannot change. Add a new stage instead.",
                "“%(stage)s” holds %(count)d opportunities, so its kind cannot change. Add a new stage instead.",
                held,
            )
            raise FunnelError(message % {"stage": current.name, "count": held})
        if not current.is_archived:
            _check_keeps_kind(current, archiving=False)
        rollup.mark_pipeline_dirty(current.pipeline_id)  # past entries into it count (or not) as moving on
    return _save_changes(current, changes, by=by)


@opportunity_services.retry_on_lock_conflict
@transaction.atomic
def stages_reorder(*, pipeline: Pipeline, stage_ids: list[int], by: User) -> list[Stage]:
    """Puts the pipeline's stages in the given order, the won and lost ones kept after the open ones
    (closed_stages_last). Only Stage.order is written, in one transaction, and only when `stage_ids` names
    each of this pipeline's stages exactly once.
    """
    pipeline = _locked_pipeline(pipeline)
    stages = Stage.objects.select_for_update(no_key=True).filter(pipeline=pipeline).order_by("pk")
    stages = {stage.pk: stage for stage in stages}
    if len(stage_ids) != len(set(stage_ids)) or set(stage_ids) != set(stages):
        raise FunnelError(_("The stages have changed since the page was loaded. Reload it and try again."))
    old = [stage.name for stage in sorted(stages.values(), key=lambda s: (s.order, s.pk))]
    ordered = closed_stages_last([stages[pk] for pk in stage_ids])
    changed = _renumber(ordered)
    if changed:
        Stage.objects.bulk_update(changed, ["order"])
        _audit(by=by, obj=pipeline, detail={"order": [old, [stage.name for stage in ordered]]})
        rollup.mark_pipeline_dirty(pipeline.pk)  # which moves went on to a later stage follows the order
    return ordered


@transaction.atomic
def stage_shift(*, stage: Stage, by: User, step: int) -> list[Stage]:
    """Moves a stage one place up (step -1) or down (+1); the buttons' twin of drag and drop."""
    _locked_pipeline(stage.pipeline)
    ids = list(Stage.objects.filter(pipeline_id=stage.pipeline_id).order_by("order", "pk").values_list("pk", flat=True))
    index = ids.index(stage.pk)
    other = index + step
    if step not in (-1, 1) or not 0 <= other < len(ids):
        raise FunnelError(_("“%(stage)s” cannot move further.") % {"stage": stage.name})
    neighbour = Stage.objects.get(pk=ids[other])
    if (stage.kind == StageKind.OPEN) != (neighbour.kind == StageKind.OPEN):
        raise FunnelError(_("Won and lost stages stay after the open stages."))
    ids[index], ids[other] = ids[other], ids[index]
    return stages_reorder(pipeline=stage.pipeline, stage_ids=ids, by=by)


def archive_targets(stage: Stage) -> models.QuerySet:
    """Where an archived stage's opportunities may go: active stages of the same pipeline and kind."""
    return (
        Stage.objects.filter(pipeline_id=stage.pipeline_id, kind=stage.kind, is_archived=False)
        .exclude(pk=stage.pk)
        .order_by("order", "pk")
    )


@opportunity_services.retry_on_lock_conflict
@transaction.atomic
def stage_archive(*, stage: Stage, by: User, target: Stage | None = None) -> int:
    """Archives a stage, moving its opportunities to `target` (opportunity_services.move_deals_and_archive_stage
    does the move, the history and the audit row). Refused if it is the last active stage of its kind.

    With no target, the first other active stage of the kind is used: it receives any deal a rep
    moved in since the page was shown. Returns the number of opportunities moved.
    """
    _locked_pipeline(stage.pipeline)
    # Read, not locked: the stage row is locked after its deals (opportunity_services.move_deals_and_archive_stage),
    # and the pipeline's mutex already keeps other configuration writes out.
    current = Stage.objects.get(pk=stage.pk)
    if current.is_archived:
        raise FunnelError(_("“%(stage)s” is already archived.") % {"stage": current.name})
    _check_keeps_kind(current, archiving=True)
    target = target or archive_targets(current).first()
    return opportunity_services.move_deals_and_archive_stage(stage=current, target=target, by=by)


@transaction.atomic
def stage_unarchive(*, stage: Stage, by: User) -> Stage:
    """Brings an archived stage back; it keeps its place in the order."""
    current = Stage.objects.select_for_update(no_key=True).get(pk=stage.pk)
    if current.is_archived:
        current.is_archived = False
        current.save(update_fields=["is_archived"])
        _audit(by=by, obj=current, detail={"is_archived": [True, False]})
    return current


# --- Sources and lost reasons -------------------------------------------------------------------
# Two admin-edited lists of names. They are never deleted: deals keep pointing at them (PROTECT),
# and a deactivated entry is only hidden from new choices.


def _check_item_name(model: type[models.Model], name: str, exclude: models.Model | None = None) -> None:
    clash = model.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise FunnelError(_("“%(name)s” is already in the list.") % {"name": name})


def _item_create(model: type[models.Model], *, name: str, by: User) -> models.Model:
    _check_item_name(model, name)
    item = model.objects.create(name=name)
    _audit(by=by, obj=item, detail={"name": [None, name], "is_active": [None, True]})
    return item


def _item_update(model: type[models.Model], item: models.Model, *, name: str, is_active: bool, by: User):
    current = model.objects.select_for_update().get(pk=item.pk)
    _check_item_name(model, name, exclude=current)
    changes = _changes(current, {"name": name, "is_active": is_active})
    if changes:
        current.name, current.is_active = name, is_active
        current.save(update_fields=list(changes))
        _audit(by=by, obj=current, detail=changes)
    return current


@transaction.atomic
def source_create(*, name: str, by: User) -> Source:
    return _item_create(Source, name=name, by=by)


@transaction.atomic
def source_update(*, source: Source, by: User, name: str, is_active: bool) -> Source:
    """Renames, activates or deactivates a source."""
    return _item_update(Source, source, name=name, is_active=is_active, by=by)


@transaction.atomic
def lost_reason_create(*, name: str, by: User) -> LostReason:
    return _item_create(LostReason, name=name, by=by)


@transaction.atomic
def lost_reason_update(*, lost_reason: LostReason, by: User, name: str, is_active: bool) -> LostReason:
    """Renames, activates or deactivates a lost reason; deals lost for it keep it."""
    return _item_update(LostReason, lost_reason, name=name, is_active=is_active, by=by)


# --- Funnel health ------------------------------------------------------------------------------------
# The thresholds the funnel-health scan reads (funnel.health.diagnoses): per pipeline, and the organisation's
# working days. The next scan uses the new values; alerts no longer found then resolve themselves.


def _check_health_data(data: dict) -> None:
    for field, (low, high) in HEALTH_FIELDS.items():
        value = data[field]
        if value < low or (high is not None and value > high):
            label = Pipeline._meta.get_field(field).verbose_name
            raise FunnelError(_("“%(field)s” is out of range.") % {"field": label})


@transaction.atomic
def pipeline_health_update(*, pipeline: Pipeline, by: User, data: dict) -> Pipeline:
    """Sets a pipeline's funnel-health thresholds (HEALTH_FIELDS)."""
    current = _locked_pipeline(pipeline)
    _check_health_data(data)
    changes = _changes(current, {field: data[field] for field in HEALTH_FIELDS})
    return _save_changes(current, changes, by=by)


@transaction.atomic
def health_settings_update(
    *, by: User, working_days: list[int], quota_risk_percent: int | None = None
) -> HealthSettings:
    """Sets the days on which reps owe a daily log (date.weekday(): 0 is Monday; at least one) and the share of
    what is left of a quota below which the weighted pipeline raises "quota at risk" (0–100; None: unchanged)."""
    days = sorted(set(working_days))
    if not days or not set(days) <= set(range(7)):
        raise FunnelError(_("Choose at least one working day."))
    if quota_risk_percent is not None and not 0 <= quota_risk_percent <= 100:
        raise FunnelError(_("Enter a percentage from 0 to 100."))
    current, _created = HealthSettings.objects.select_for_update().get_or_create(pk=1)
    data = {"working_days": days}
    if quota_risk_percent is not None:
        data["quota_risk_percent"] = quota_risk_percent
    return _save_changes(current, _changes(current, data), by=by)
