"""The marketing page (/dashboard/marketing/) and its CSV: per source or per campaign, what the deals created in the
chosen period became (funnel.insights.marketing), over the deals the reader may see, narrowed by the dashboard's
filter. Every role may open it: a rep reads their own deals, a manager their teams', an admin everyone's."""

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from ..models import Opportunity, Pipeline, Stage
from ..opportunities.filters import NO_CAMPAIGN, NO_SOURCE
from ..transfer import exports
from ..transfer.exports import neutralise
from . import marketing, metrics
from .forms import DashboardFilterForm
from .links import FigureLinks

CENT = Decimal("0.01")
# Filters that narrow the deals to some people: the organisation's costs then say nothing about them.
PEOPLE_FILTERS = ("team", "owner", "territory")
TITLES = {marketing.BY_SOURCE: gettext_lazy("Source"), marketing.BY_CAMPAIGN: gettext_lazy("Campaign")}
NONE_NAMES = {marketing.BY_SOURCE: gettext_lazy("No source"), marketing.BY_CAMPAIGN: gettext_lazy("No campaign")}
COLUMNS = {
    "inflow": gettext_lazy("New"),
    "won": gettext_lazy("Won"),
    "lost": gettext_lazy("Lost"),
    "win_rate": gettext_lazy("Win rate"),
    "cycle_days": gettext_lazy("Average cycle (days)"),
    "won_amount": gettext_lazy("Won amount"),
    "cost": gettext_lazy("Cost"),
    "cost_per_won": gettext_lazy("Cost per won deal"),
}


class MarketingFilterForm(DashboardFilterForm):
    """The dashboard's filter (team, rep, pipeline, source, period) without its per-rep ordering: the page's own
    ?sort= orders its table."""

    sort = None


@dataclass
class Page:
    filters: MarketingFilterForm
    pipeline: Pipeline | None
    by: str
    start: date
    end: date
    stages: list[Stage]
    with_costs: bool
    figures: dict | None
    sort: tuple[str, bool]


def _grouping(request: HttpRequest) -> str:
    by = request.GET.get("by")
    return by if by in marketing.GROUPINGS else marketing.BY_SOURCE


def _page(request: HttpRequest) -> Page:
    filters = MarketingFilterForm(request.GET, user=request.user)
    pipeline, by = filters.chosen_pipeline(), _grouping(request)
    start, end = filters.dates(timezone.localdate())
    with_costs = request.user.is_admin and not any(filters.values.get(name) for name in PEOPLE_FILTERS)
    if pipeline is None:
        return Page(filters, None, by, start, end, [], with_costs, None, (marketing.DEFAULT_SORT[1:], True))
    stages = metrics.open_stages(pipeline)
    source = filters.values.get("source")
    scope = marketing.MarketingScope(
        deals=filters.apply(Opportunity.objects.visible_to(request.user), pipeline),
        stages=stages, start=start, end=end, by=by, with_costs=with_costs, source=source,
        cache_key=_deals_key(request, filters, pipeline, source),
    )  # fmt: skip
    figures = marketing.figures(scope)
    sort = marketing.parse_sort(request.GET.get("sort"), stages, with_costs=with_costs)
    figures["rows"] = marketing.sorted_rows(figures["rows"], *sort)
    _link(filters, pipeline, by, start, end, figures["rows"])
    return Page(filters, pipeline, by, start, end, stages, with_costs, figures, sort)


def _deals_key(request: HttpRequest, filters: MarketingFilterForm, pipeline: Pipeline, source) -> str:
    """Names the deals the page counts, to keep their figures under: their owners (everyone: "all", with no
    query), the pipeline and the source. Owners, not the reader: a colleague with the same view shares the rows,
    and a change of team changes the key at once."""
    narrowed = any(filters.values.get(name) for name in PEOPLE_FILTERS)
    if request.user.is_admin and not narrowed:
        owners = "all"
    else:
        owners = ",".join(str(pk) for pk in filters.owners(request.user).order_by("pk").values_list("pk", flat=True))
    return f"{owners}|{pipeline.pk}|{source.pk if source else ''}"


def _link(filters: MarketingFilterForm, pipeline: Pipeline, by: str, start: date, end: date, rows: list) -> None:
    """Each row's counts link to the opportunity list: its source or campaign, created in the period."""
    links = FigureLinks(filters, pipeline, start, end)
    for row in rows:
        subject = {by: row.pk if row.pk is not None else (NO_SOURCE if by == marketing.BY_SOURCE else NO_CAMPAIGN)}
        created = {"created_from": start, "created_to": end, **subject}
        row.urls = {"inflow": links.created(**subject), "won": links.url(status="won", **created),
                    "lost": links.url(status="lost", **created)}  # fmt: skip


def _query(request: HttpRequest, **changes) -> str:
    params = request.GET.copy()
    for name, value in changes.items():
        params.pop(name, None)
        if value is not None:
            params[name] = value
    return params.urlencode()


def _headers(request: HttpRequest, page: Page) -> list[dict]:
    """The table's column heads: label, the link that sorts by it (most first, or the other way when it already
    does), and how it is sorted now (for aria-sort)."""
    key, descending = page.sort
    columns = [("name", TITLES[page.by], False)] + [("inflow", COLUMNS["inflow"], True)]
    columns += [(f"stage-{stage.pk}", stage.name, True) for stage in page.stages]
    columns += [(name, COLUMNS[name], True) for name in ("won", "lost", "win_rate", "cycle_days", "won_amount")]
    if page.with_costs:
        columns += [(name, COLUMNS[name], True) for name in marketing.COST_KEYS]
    heads = []
    for name, label, numeric in columns:
        current = name == key
        first = f"-{name}" if numeric else name  # numbers: most first; names: A to Z first
        again = name if first.startswith("-") else f"-{name}"
        heads.append({
            "key": name, "label": label, "numeric": numeric, "is_stage": name.startswith("stage-"),
            "url": "?" + _query(request, sort=again if current and descending == first.startswith("-") else first),
            "aria_sort": ("descending" if descending else "ascending") if current else None,
        })  # fmt: skip
    return heads


@login_required
@require_GET
def marketing_page(request: HttpRequest) -> HttpResponse:
    page = _page(request)
    context = {
        "page": page,
        "filters": page.filters,
        "pipeline": page.pipeline,
        "start": page.start,
        "end": page.end,
        "by": page.by,
        "figures": page.figures,
        "headers": _headers(request, page) if page.figures is not None else [],
        "tabs": {by: "?" + _query(request, by=by, sort=None) for by in marketing.GROUPINGS},
        "export_url": f"{reverse('insights:marketing_export')}?{_query(request)}",
        "none_name": NONE_NAMES[page.by],
        "is_admin": request.user.is_admin,
    }
    return render(request, "funnel/dashboard/marketing.html", context)


# --- CSV -----------------------------------------------------------------------------------------------


def _header(page: Page) -> list[str]:
    header = [str(TITLES[page.by]), str(COLUMNS["inflow"])]
    for stage in page.stages:
        header += [
            _("Reached “%(stage)s”") % {"stage": stage.name},
            _("Reached “%(stage)s” (%%)") % {"stage": stage.name},
        ]
    header += [str(COLUMNS["won"]), str(COLUMNS["lost"]), _("Win rate (%)"), str(COLUMNS["cycle_days"]),
               str(COLUMNS["won_amount"])]  # fmt: skip
    if page.with_costs:
        header += [str(COLUMNS["cost"]), str(COLUMNS["cost_per_won"])]
    return header


def _csv_row(page: Page, row: marketing.Row, name: str) -> list:
    values = [name, row.inflow]
    for cell in row.stages:
        values += [cell["count"], cell["share"]]
    values += [row.won, row.lost, row.win_rate, row.cycle_days, row.won_amount.quantize(CENT)]
    if page.with_costs:
        values += [row.cost, row.cost_per_won]
    return ["" if value is None else value for value in values]


def _csv_rows(page: Page) -> list[list]:
    if page.figures is None:
        return []
    rows = [
        _csv_row(page, row, row.name if row.pk is not None else str(NONE_NAMES[page.by]))
        for row in page.figures["rows"]
    ]
    return [*rows, _csv_row(page, page.figures["total"], _("Total"))] if rows else rows


@login_required
@require_GET
def marketing_export(request: HttpRequest) -> HttpResponse:
    """The page's table as CSV, in the page's order: the same scope, filters and figures; rate-limited and audited
    like the dashboard's tables (the opportunity export's allowance). Dates are the reader's days."""
    refusal = exports.export_refusal(request.user)
    if refusal is None:
        page = _page(request)
        rows = _csv_rows(page)
        detail = {"table": f"marketing_{page.by}", "rows": len(rows), "filters": request.GET.urlencode()}
        try:  # counted and recorded in one step, so concurrent exports cannot all pass (QUALITY S36)
            exports.export_record(request=request, detail=detail)
        except exports.ExportRefused as error:
            refusal = str(error)
    if refusal is not None:
        messages.error(request, refusal)
        return redirect(f"{reverse('insights:marketing')}?{request.GET.urlencode()}")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # so Excel opens UTF-8 Chinese text correctly
    writer = csv.writer(response)
    writer.writerow(_header(page))
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    name = f"marketing-{page.by}-{page.start.isoformat()}-{page.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
