"""The board (看板): one column per open stage, cards dragged between columns (SortableJS + htmx)."""

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from config.parsing import parse_id

from ..access import get_opportunity_for_user
from ..insights import metrics
from ..models import Opportunity, Stage, StageKind
from . import services
from .filters import OpportunityFilterForm, pipeline_in_view

CARDS_PER_COLUMN = 50
# The drop zones after the open stages: a card dropped there (or sent there from its Move menu) opens the
# opportunity's won or lost form, where the won stage's checklist and the lost reason apply.
CLOSING_ZONES = (
    ("won", gettext_lazy("Won"), gettext_lazy("Drop here to mark it won")),
    ("lost", gettext_lazy("Lost"), gettext_lazy("Drop here to mark it lost")),
)
# COUNT(*), not COUNT(id): with the amounts in opp_owner_status_stage, a team's totals need no deal's row.
COLUMN_TOTALS = {
    "count": Count("*"),
    "total": Coalesce(Sum("amount"), metrics.ZERO),
    "weighted": Coalesce(Sum(metrics.WEIGHTED_AMOUNT), metrics.ZERO),
}


def _board_context(request: HttpRequest, data) -> dict:
    filters = OpportunityFilterForm(data, user=request.user)
    pipeline = pipeline_in_view(filters)
    if pipeline is None:
        return {"filters": filters, "pipeline": None, "columns": []}
    scope = filters.apply(Opportunity.objects.visible_to(request.user, listed=True)).for_pipeline(pipeline).open()
    # The newest cards of each column: one small index-backed query per open stage (a handful).
    cards = scope.select_related("account", "owner", "stage").flag_stalled(timezone.now())
    cards = cards.order_by("-updated_at", "-id")
    stages = list(pipeline.stages.filter(kind=StageKind.OPEN, is_archived=False).order_by("order"))
    by_stage = {stage.pk: list(cards.filter(stage=stage)[:CARDS_PER_COLUMN]) for stage in stages}
    totals = {row["stage"]: row for row in scope.order_by().values("stage").annotate(**COLUMN_TOTALS)}
    empty = {"count": 0, "total": Decimal(0), "weighted": Decimal(0)}
    columns = [{**totals.get(stage.pk, empty), "stage": stage, "cards": by_stage[stage.pk]} for stage in stages]
    return {
        "filters": filters,
        "pipeline": pipeline,
        "columns": columns,
        "closing_zones": CLOSING_ZONES,
        "now": timezone.now(),
    }


@login_required
def board(request: HttpRequest) -> HttpResponse:
    return render(request, "funnel/board.html", _board_context(request, request.GET))


@login_required
@require_POST
def board_move(request: HttpRequest, pk: int) -> HttpResponse:
    """A dropped card: move it, then answer with the board as it now is, so a refused move snaps back."""
    opportunity = get_opportunity_for_user(request, pk)
    stage_id, version = parse_id(request.POST.get("to_stage")), parse_id(request.POST.get("version"))
    stage = Stage.objects.filter(pk=stage_id, pipeline=opportunity.pipeline).first() if stage_id else None
    problem, link_stage, status = None, None, 200
    try:
        if stage is None:
            raise services.FunnelError(_("That stage does not exist in this pipeline."))
        if version is None:
            raise services.FunnelError(_("The card was out of date. The board has been reloaded."))
        services.opportunity_move(opportunity=opportunity, stage=stage, by=request.user, version=version)
    except services.GateFailed as error:
        problem, link_stage = str(error), stage
    except (services.StaleVersion, services.Busy) as error:
        problem, status = str(error), 409  # board.js swaps a 409 in too: the board as it now is
    except services.FunnelError as error:
        problem = str(error)
    context = _board_context(request, request.POST)
    context.update(problem=problem, problem_opportunity=opportunity, link_stage=link_stage, moved=not problem)
    context["moved_to"] = stage
    return render(request, "funnel/board.html#board", context, status=status)
