"""The admin's funnel settings: pipelines, stages, sources, lost reasons and the funnel-health thresholds.

Only the admin role may reach any of it. `admin_required` checks the role before anything else, so a rep
or a manager gets 403 on every route and method (QUALITY S11); anonymous users are sent to sign in.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from config.messages import saved_or_unchanged
from config.parsing import parse_ids
from config.wording import join_list
from reps.access import admin_required
from reps.models import AuditAction, AuditEvent, Territory

from ..models import (
    REQUIRABLE_FIELDS,
    WEEKDAYS,
    Campaign,
    HealthSettings,
    LostReason,
    MarketingCost,
    Opportunity,
    Pipeline,
    Source,
    Stage,
    StageKind,
)
from ..opportunities.services import FunnelError
from . import services
from .forms import (
    NamedItemCreateForm,
    NamedItemForm,
    PipelineCreateForm,
    PipelineForm,
    PipelineHealthForm,
    StageArchiveForm,
    StageForm,
    WorkingDaysForm,
)

AUDIT_ROWS = 50


def _posted(request: HttpRequest):
    return request.POST if request.method == "POST" else None


def _attempt(form, write: Callable[[], models.Model]) -> models.Model | None:
    """Runs the service; a refusal becomes a form error (and None), so the page re-shows what was typed."""
    try:
        return write()
    except FunnelError as error:
        form.add_error(None, str(error))
        return None


# --- Settings index ------------------------------------------------------------------------------


COUNT_CAP = 10_000  # the settings pages count deals up to this, then say "over 10,000": a million need no count


class CountUpTo(Subquery):
    """How many rows a correlated queryset has, counted no further than COUNT_CAP + 1: one short index range
    per pipeline, stage or source, where counting every deal took a second at a million deals."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"
    output_field = models.IntegerField()

    def __init__(self, rows: models.QuerySet, **extra):
        super().__init__(rows.order_by().values("pk")[: COUNT_CAP + 1], **extra)


def _pipelines() -> models.QuerySet:
    """Pipelines with their active stage count and open deal count (up to COUNT_CAP + 1), in one query."""
    return Pipeline.objects.annotate(
        stage_count=Count("stages", filter=Q(stages__is_archived=False)),
        open_count=CountUpTo(Opportunity.objects.open().filter(pipeline=OuterRef("pk"))),
    )


def _index(request: HttpRequest, create_form: PipelineCreateForm) -> HttpResponse:
    context = {
        "pipelines": _pipelines(),
        "create_form": create_form,
        "audit_rows": _config_audit(),
        "count_cap": COUNT_CAP,
    }
    return render(request, "funnel/config/index.html", context)


@admin_required
@require_GET
def settings_index(request: HttpRequest) -> HttpResponse:
    return _index(request, PipelineCreateForm())


@admin_required
@require_POST
def pipeline_create(request: HttpRequest) -> HttpResponse:
    form = PipelineCreateForm(request.POST)
    pipeline = form.is_valid() and _attempt(
        form, lambda: services.pipeline_create(name=form.cleaned_data["name"], by=request.user)
    )
    if pipeline:
        messages.success(request, _("Pipeline “%(name)s” created with three starter stages.") % {"name": pipeline})
        return redirect("configuration:pipeline_detail", pipeline.pk)
    return _index(request, form)


# --- Pipelines and their stages ----------------------------------------------------------------------


def _stage_table(pipeline: Pipeline) -> dict:
    held = CountUpTo(Opportunity.objects.filter(stage=OuterRef("pk")))
    stages = list(pipeline.stages.annotate(held=held).order_by("order", "pk"))
    # The arrows stop where the open stages meet the won and lost ones (services.stage_shift refuses that).
    for before, stage, after in zip([None, *stages[:-1]], stages, [*stages[1:], None], strict=True):
        stage.can_go_up = before is not None and (before.kind == StageKind.OPEN) == (stage.kind == StageKind.OPEN)
        stage.can_go_down = after is not None and (after.kind == StageKind.OPEN) == (stage.kind == StageKind.OPEN)
    return {
        "pipeline": pipeline,
        "stages": stages,
        "count_cap": COUNT_CAP,
        "order_problems": services.probability_order_problems(stages),
    }


@admin_required
def pipeline_detail(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = PipelineForm(_posted(request), pipeline=pipeline)
    if form.is_valid() and _attempt(
        form, lambda: services.pipeline_update(pipeline=pipeline, by=request.user, **form.cleaned_data)
    ):
        saved_or_unchanged(request, form, _("Pipeline saved."))
        return redirect("configuration:pipeline_detail", pipeline.pk)
    return render(request, "funnel/config/pipeline_detail.html", {**_stage_table(pipeline), "form": form})


@admin_required
@require_POST
def pipeline_set_default(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pk)
    try:
        services.pipeline_set_default(pipeline=pipeline, by=request.user)
        messages.success(request, _("“%(name)s” is now the default pipeline.") % {"name": pipeline.name})
    except FunnelError as error:
        messages.error(request, str(error))
    return redirect("configuration:pipeline_detail", pipeline.pk)


def _posted_ids(request: HttpRequest) -> list[int]:
    return parse_ids(request.POST.getlist("stage")) or []  # [] is refused below: "not exactly this pipeline's"


@admin_required
@require_POST
def stages_reorder(request: HttpRequest, pk: int) -> HttpResponse:
    """The drag-and-drop target: answers htmx with the refreshed stage table (409 when refused)."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    error, status, note = "", 200, ""
    posted = _posted_ids(request)
    try:
        stored = services.stages_reorder(pipeline=pipeline, stage_ids=posted, by=request.user)
    except FunnelError as refusal:
        error, status = str(refusal), 409
    else:
        if [stage.pk for stage in stored] != posted:
            note = _("Won and lost stages stay after the open stages, so they were put back at the end.")
    if request.htmx:
        context = {**_stage_table(pipeline), "order_error": error, "order_saved": not error, "order_note": note}
        return render(request, "funnel/config/pipeline_detail.html#stage-table", context, status=status)
    messages.add_message(request, messages.ERROR if error else messages.SUCCESS, error or _("Stage order saved."))
    if note:
        messages.info(request, note)
    return redirect("configuration:pipeline_detail", pipeline.pk)


@admin_required
@require_POST
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    """The up and down buttons: they work without script, from a phone or a keyboard."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    step = {"up": -1, "down": 1}.get(request.POST.get("direction", ""), 0)
    try:
        services.stage_shift(stage=stage, by=request.user, step=step)
    except FunnelError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Stage order saved."))
    return redirect("configuration:pipeline_detail", stage.pipeline_id)


@admin_required
def stage_create(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = StageForm(_posted(request), pipeline=pipeline)
    if form.is_valid() and _attempt(
        form, lambda: services.stage_create(pipeline=pipeline, by=request.user, data=form.cleaned_data)
    ):
        messages.success(request, _("Stage “%(name)s” added.") % {"name": form.cleaned_data["name"]})
        return redirect("configuration:pipeline_detail", pipeline.pk)
    return render(request, "funnel/config/stage_form.html", {"pipeline": pipeline, "form": form, "stage": None})


@admin_required
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    form = StageForm(_posted(request), pipeline=stage.pipeline, stage=stage)
    if form.is_valid() and _attempt(
        form, lambda: services.stage_update(stage=stage, by=request.user, data=form.cleaned_data)
    ):
        saved_or_unchanged(request, form, _("Stage “%(name)s” saved.") % {"name": form.cleaned_data["name"]})
        return redirect("configuration:pipeline_detail", stage.pipeline_id)
    return render(request, "funnel/config/stage_form.html", {"pipeline": stage.pipeline, "form": form, "stage": stage})


@admin_required
def stage_archive_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Asks where the stage's deals go (when it has any), then archives it; stages are never deleted."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    deals = Opportunity.objects.filter(stage=OuterRef("pk"))
    counts = Stage.objects.filter(pk=stage.pk).values(held=CountUpTo(deals), open=CountUpTo(deals.open())).get()
    form = StageArchiveForm(_posted(request), stage=stage, held=counts["held"])
    if form.is_valid():
        try:
            moved = services.stage_archive(stage=stage, by=request.user, target=form.cleaned_data["target"])
        except FunnelError as error:
            form.add_error(None, str(error))
        else:
            message = ngettext(
                "Stage “%(name)s” archived; %(count)d opportunity moved.",
                "Stage “%(name)s” archived; %(count)d opportunities moved.",
                moved,
            )
            messages.success(request, message % {"name": stage.name, "count": moved})
            return redirect("configuration:pipeline_detail", stage.pipeline_id)
    context = {"stage": stage, "form": form, "count_cap": COUNT_CAP, **counts}
    return render(request, "funnel/config/stage_archive.html", context)


@admin_required
@require_POST
def stage_unarchive(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=pk)
    services.stage_unarchive(stage=stage, by=request.user)
    messages.success(request, _("Stage “%(name)s” is active again.") % {"name": stage.name})
    return redirect("configuration:pipeline_detail", stage.pipeline_id)


# --- Funnel health ---------------------------------------------------------------------------------------


@admin_required
def health_settings(request: HttpRequest) -> HttpResponse:
    """The working days and the quota-at-risk threshold (organisation-wide), and each pipeline's thresholds,
    linked to their own page."""
    form = WorkingDaysForm(_posted(request), health=HealthSettings.current())
    if form.is_valid() and _attempt(
        form,
        lambda: services.health_settings_update(by=request.user, **form.cleaned_data),
    ):
        saved_or_unchanged(request, form, _("Funnel-health settings saved."))
        return redirect("configuration:health_settings")
    pipelines = Pipeline.objects.order_by("-is_active", "-is_default", "name")
    return render(request, "funnel/config/health_settings.html", {"form": form, "pipelines": pipelines})


@admin_required
def pipeline_health(request: HttpRequest, pk: int) -> HttpResponse:
    """A pipeline's blockage, inflow and next-step thresholds; its stages' stall days are on their own pages."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = PipelineHealthForm(_posted(request), pipeline=pipeline)
    if form.is_valid() and _attempt(
        form, lambda: services.pipeline_health_update(pipeline=pipeline, by=request.user, data=form.cleaned_data)
    ):
        saved_or_unchanged(request, form, _("Funnel-health thresholds of “%(name)s” saved.") % {"name": pipeline.name})
        return redirect("configuration:health_settings")
    stages = pipeline.stages.filter(kind=StageKind.OPEN).order_by("order", "pk")
    return render(request, "funnel/config/pipeline_health.html", {"pipeline": pipeline, "form": form, "stages": stages})


# --- Sources and lost reasons --------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemList:
    """One of the admin-edited lists of names, and the services that write it."""

    model: type[models.Model]
    create: Callable[..., models.Model]
    update: Callable[..., models.Model]
    title: str
    intro: str
    list_url: str
    edit_url: str
    opportunity_field: str  # the deal's field that points at an item, to count its uses


ITEM_LISTS = {
    "source": ItemList(
        model=Source,
        create=services.source_create,
        update=lambda item, **values: services.source_update(source=item, **values),
        title=gettext_lazy("Sources"),
        intro=gettext_lazy("Where opportunities come from: channels, campaigns, referrals."),
        list_url="configuration:source_list",
        edit_url="configuration:source_edit",
        opportunity_field="source",
    ),
    "lost_reason": ItemList(
        model=LostReason,
        create=services.lost_reason_create,
        update=lambda item, **values: services.lost_reason_update(lost_reason=item, **values),
        title=gettext_lazy("Lost reasons"),
        intro=gettext_lazy("Why deals are lost. Reps choose one when they mark a deal lost."),
        list_url="configuration:lost_reason_list",
        edit_url="configuration:lost_reason_edit",
        opportunity_field="lost_reason",
    ),
}


@admin_required
def item_list(request: HttpRequest, kind: str) -> HttpResponse:
    """A list with its use counts and a form to add an entry."""
    spec = ITEM_LISTS[kind]
    form = NamedItemCreateForm(_posted(request), model=spec.model)
    if form.is_valid() and _attempt(form, lambda: spec.create(name=form.cleaned_data["name"], by=request.user)):
        messages.success(request, _("“%(name)s” added.") % {"name": form.cleaned_data["name"]})
        return redirect(spec.list_url)
    uses = CountUpTo(Opportunity.objects.filter(**{spec.opportunity_field: OuterRef("pk")}))
    items = spec.model.objects.annotate(uses=uses).order_by("-is_active", "name")
    context = {"spec": spec, "items": items, "form": form, "count_cap": COUNT_CAP}
    return render(request, "funnel/config/item_list.html", context)


@admin_required
def item_edit(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Rename, activate or deactivate. There is no delete: deals keep pointing at used entries."""
    spec = ITEM_LISTS[kind]
    item = get_object_or_404(spec.model, pk=pk)
    form = NamedItemForm(_posted(request), model=spec.model, item=item)
    if form.is_valid() and _attempt(form, lambda: spec.update(item, by=request.user, **form.cleaned_data)):
        saved_or_unchanged(request, form, _("“%(name)s” saved.") % {"name": form.cleaned_data["name"]})
        return redirect(spec.list_url)
    return render(request, "funnel/config/item_edit.html", {"spec": spec, "item": item, "form": form})


# --- Audit of configuration -----------------------------------------------------------------------------

FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "is_default": gettext_lazy("Default"),
    "previous_default": gettext_lazy("Previous default"),
    "is_active": gettext_lazy("Active"),
    "is_archived": gettext_lazy("Archived"),
    "stages": gettext_lazy("Stages"),
    "order": gettext_lazy("Order"),
    "probability": gettext_lazy("Probability (%)"),
    "stall_days": gettext_lazy("Stalled after (days)"),
    "kind": gettext_lazy("Kind"),
    "playbook": gettext_lazy("Playbook"),
    "checklist": gettext_lazy("Checklist"),
    "required_fields": gettext_lazy("Required fields"),
    "moved_to": gettext_lazy("Opportunities moved to"),
    "blockage_share": gettext_lazy("Blockage share (%)"),
    "blockage_min_deals": gettext_lazy("Blockage minimum deals"),
    "inflow_minimum": gettext_lazy("Minimum new deals"),
    "inflow_weeks": gettext_lazy("Inflow weeks"),
    "next_step_cap_days": gettext_lazy("Next-step cap (days)"),
    "working_days": pgettext_lazy("days of the week", "Working days"),
    "quota_risk_percent": gettext_lazy("Quota at risk below (%)"),
    "opportunities_moved": gettext_lazy("Opportunities moved"),
    # Campaigns and marketing costs (funnel.configuration.marketing_services).
    "source": gettext_lazy("Source"),
    "campaign": gettext_lazy("Campaign"),
    "starts_on": gettext_lazy("Starts"),
    "ends_on": gettext_lazy("Ends"),
    "period_start": gettext_lazy("From"),
    "period_end": gettext_lazy("To"),
    "amount": gettext_lazy("Amount"),
    # Territories (reps.territories; the team by id, as Django admin's changes record it).
    "description": gettext_lazy("Description"),
    "team": gettext_lazy("Team"),
}
AUDITED_MODELS = [Pipeline, Stage, Source, LostReason, HealthSettings, Campaign, MarketingCost, Territory]
# The health settings are one row without a name, and so is a marketing cost (its detail names its subject).
NAMED_MODELS = [Pipeline, Stage, Source, LostReason, Campaign, Territory]


def _shown(field: str, value) -> str:
    if field == "kind" and value in StageKind.values:
        return str(StageKind(value).label)
    if field == "required_fields" and isinstance(value, list):
        value = [str(REQUIRABLE_FIELDS.get(name, name)) for name in value]
    if field == "working_days" and isinstance(value, list):
        value = [str(dict(WEEKDAYS).get(day, day)) for day in value]
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return join_list(value)
    return str(value)


def _object_names(events: list[AuditEvent]) -> dict[tuple[str, str], str]:
    """The current name of each audited object, one query per kind of object."""
    names = {}
    for model in NAMED_MODELS:
        label = model._meta.label_lower
        ids = {event.object_id for event in events if event.object_type == label}
        if ids:
            names.update(
                {(label, str(pk)): name for pk, name in model.objects.filter(pk__in=ids).values_list("pk", "name")}
            )
    return names


def _config_audit() -> list[dict]:
    """The latest configuration changes, ready to print: who, when, what, old → new."""
    events = list(
        AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED)
        .select_related("actor")
        .order_by("-at", "-id")[:AUDIT_ROWS]
    )
    names = _object_names(events)
    verbose = {model._meta.label_lower: model._meta.verbose_name for model in AUDITED_MODELS}
    rows = []
    for event in events:
        changes = []
        for field, value in event.detail.items():
            label = FIELD_LABELS.get(field, field)
            if not (isinstance(value, list) and len(value) == 2):
                changes.append({"label": label, "old": None, "new": _shown(field, value)})
            elif not (value[0] is None and value[1] in ("", [])):  # a new stage's empty fields are noise
                changes.append({"label": label, "old": _shown(field, value[0]), "new": _shown(field, value[1])})
        what = verbose.get(event.object_type, event.object_type)
        rows.append(
            {
                "event": event,
                "what": what,
                "name": names.get((event.object_type, event.object_id), ""),
                "changes": changes,
            }
        )
    return rows
