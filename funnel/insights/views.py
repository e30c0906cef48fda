"""The team dashboard: every figure from the same visibility-scoped querysets, narrowed by the filter."""

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Case, Q, QuerySet, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.messages import saved_or_unchanged
from reps.access import admin_required
from reps.models import User

from .. import hooks
from ..health import changes, diagnoses
from ..health.links import subject_url
from ..models import Alert, AlertSeverity, Opportunity, Pipeline, StageChange, Target
from ..opportunities.services import FunnelError
from ..planning import attainment
from ..transfer import exports
from ..transfer.exports import neutralise
from . import figures as dashboard_figures
from . import metrics, services
from .forms import DashboardFilterForm, TargetForm
from .links import FigureLinks, link_figures

ALERTS_SHOWN = 10
ALERTS_COUNTED = 1000
REPS_SHOWN = 50
SEVERITIES = (AlertSeverity.CRITICAL, AlertSeverity.WARNING, AlertSeverity.INFO)  # most severe first
MOST_SEVERE_FIRST = Case(*[When(severity=severity, then=rank) for rank, severity in enumerate(SEVERITIES)])


@dataclass
class Scope:
    """What the dashboard looks at: the filter, its pipeline, period and querysets."""

    filters: DashboardFilterForm
    pipeline: Pipeline | None
    start: date
    end: date
    opportunities: QuerySet[Opportunity]
    changes: QuerySet[StageChange]
    people: QuerySet[User]


def _scope(request: HttpRequest) -> Scope:
    filters = DashboardFilterForm(request.GET, user=request.user)
    pipeline = filters.chosen_pipeline()
    start, end = filters.dates(timezone.localdate())
    opportunities = filters.apply(Opportunity.objects.visible_to(request.user), pipeline)
    changes = filters.apply_to_changes(StageChange.objects.visible_to(request.user), pipeline)
    return Scope(filters, pipeline, start, end, opportunities, changes, filters.people(request.user))


def _alerts(request: HttpRequest, scope: Scope) -> dict:
    """The alerts needing attention among those the user may see, narrowed by the filter's team and rep:
    the ten most severe, newest first (see _most_severe), and how many more there are, counted up to
    ALERTS_COUNTED (one count: a million open alerts need not be counted to say "over 1,000")."""
    alerts = Alert.objects.visible_to(request.user).needing_attention(timezone.now())
    values, inbox = scope.filters.values, reverse("health:alert_list")
    if values.get("owner"):
        alerts = alerts.filter(rep=values["owner"])
        inbox = f"{inbox}?rep={values['owner'].pk}"
    if values.get("team"):  # a team's forecast alert goes to its manager, who may sit in another team
        alerts = alerts.filter(Q(team=values["team"]) | Q(team__isnull=True, rep__team=values["team"]))
    if values.get("territory"):  # the territory's reps' own alerts
        alerts = alerts.filter(rep__territory=values["territory"])
    shown = _most_severe(alerts)
    counted = metrics.count_up_to(alerts, ALERTS_COUNTED)
    return {
        "rows": [(alert, subject_url(alert, request.user)) for alert in shown],
        "more": min(counted, ALERTS_COUNTED) - len(shown),
        "more_than": counted > ALERTS_COUNTED,
        "inbox": inbox,
    }


def _most_severe(alerts: QuerySet[Alert]) -> list[Alert]:
    """The ALERTS_SHOWN most severe alerts, newest first. On PostgreSQL the newest few ids of each severity
    in one UNION ALL, each walking the open-alert index in order rather than sorting every open alert, then
    those alerts with their subjects by id (joins planned for every open alert cost more than the scan)."""
    newest = ("-first_seen", "-id")
    related = ("rep", "opportunity", "stage", "team", "pipeline")  # and what `why` words
    if not connection.features.supports_slicing_ordering_in_compound:
        return list(alerts.select_related(*related).order_by(MOST_SEVERE_FIRST, *newest)[:ALERTS_SHOWN])
    first, *rest = [
        alerts.filter(severity=severity).order_by(*newest).values_list("pk", "severity", "first_seen")[:ALERTS_SHOWN]
        for severity in SEVERITIES
    ]
    rank = {severity: index for index, severity in enumerate(SEVERITIES)}
    top = sorted(first.union(*rest, all=True), key=lambda row: (rank[row[1]], -row[2].timestamp(), -row[0]))
    ids = [pk for pk, _severity, _first_seen in top[:ALERTS_SHOWN]]
    by_id = Alert.objects.select_related(*related).in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def _figure_scope(request: HttpRequest, scope: Scope) -> dashboard_figures.FigureScope:
    """The same deals as scope.opportunities, named by their owners, to find or store their summary."""
    owners = scope.filters.owners(request.user)
    source = scope.filters.values.get("source")
    return dashboard_figures.figure_scope(owners, scope.pipeline, source, scope.start, scope.end)


def _rep_table(request: HttpRequest, scope: Scope, figures: dict) -> dict:
    """The per-rep table: the first REPS_SHOWN rows in the chosen order, or all of them with ?reps=all
    (an organisation of hundreds of reps reads its top and bottom by sorting; the CSV has everyone)."""
    rows = _sorted_reps(scope, figures["reps"])
    shown = rows if request.GET.get("reps") == "all" else rows[:REPS_SHOWN]
    return {"reps": shown, "reps_total": len(rows)}


def _sorted_reps(scope: Scope, rows: list[dict]) -> list[dict]:
    key, descending = scope.filters.rep_sort()
    present = [row for row in rows if row[key] is not None]
    return sorted(present, key=lambda row: row[key], reverse=descending) + [row for row in rows if row[key] is None]


def _chart_data(by_stage: list[dict], inflow: list[dict]) -> dict:
    """What static/js/dashboard.js draws: the funnel (one bar per stage, in order) and the weekly inflow."""
    return {
        "stages": [row["stage"].name for row in by_stage],
        "count": [row["count"] for row in by_stage],
        "amount": [float(row["total"]) for row in by_stage],
        "weighted": [float(row["weighted"]) for row in by_stage],
        "weeks": [row["week"].isoformat() for row in inflow],
        "inflow": [row["count"] for row in inflow],
        "currency": settings.CURRENCY_SYMBOL,
        "labels": {
            "count": _("Count"),
            "amount": _("Amount"),
            "weighted": _("Weighted"),
            "inflow": _("New opportunities"),
        },
    }


def in_force_day(scope: Scope) -> date:
    """The day whose targets and quotas the forecast is read against: today when the period holds it (this
    month or quarter, the last 90 days), else the period's last day."""
    today = timezone.localdate()
    return today if scope.start <= today <= scope.end else scope.end


def _coverage(request: HttpRequest, scope: Scope) -> dict | None:
    """The targets in force on in_force_day (on the named periods: today) of the teams in view,
    each judged as the forecast alert judges it (diagnoses.target_forecasts: won within the target's period,
    weighted deals expected to close by its end), and their sums. None for one rep's figures."""
    teams = scope.filters.target_teams(request.user)
    if teams is None:
        return None
    targets = (
        Target.objects.filter(
            team__in=teams, period_start__lte=in_force_day(scope), period_end__gte=in_force_day(scope)
        )
        .select_related("team")
        .order_by("period_start", "team__name", "pk")
    )
    rows = diagnoses.target_forecasts(list(targets))
    return {"rows": rows, "total": _targets_total(rows)}


def _quotas(request: HttpRequest, scope: Scope) -> dict:
    """The quotas in force on in_force_day of the people in view, each read as a team target is (won so far,
    weighted to its end, coverage, attainment), and for a manager or an admin each team's sum beside its target."""
    rows = attainment.forecast_vs_quota(scope.filters.owners(request.user), in_force_day(scope))
    teams = scope.filters.target_teams(request.user) is not None
    return {"rows": rows, "teams": attainment.team_splits(rows) if teams else []}


def _add_quotas(reps: list[dict], rows: list[dict]) -> None:
    """Each rep row gets the quota in force (their longest: a quarter's before a month's) and its attainment,
    for the per-rep comparison (after the figures are cached: quotas are read fresh on every page)."""
    longest = {}
    for row in rows:
        quota = row["quota"]
        if quota.user_id not in longest or quota.period_end - quota.period_start > longest[quota.user_id][0]:
            longest[quota.user_id] = (quota.period_end - quota.period_start, row)
    for rep in reps:
        found = longest.get(rep["owner"])
        rep["quota"] = found[1]["quota"].amount if found else None
        rep["attainment"] = found[1]["attainment"] if found else None


def _targets_total(rows: list[dict]) -> dict | None:
    """The sums of targets over one and the same period (every team's quarter); None when the periods differ
    (a month inside a quarter: adding them up would count the same deals twice)."""
    if len({(row["target"].period_start, row["target"].period_end) for row in rows}) != 1 or len(rows) < 2:
        return None
    total = {key: sum((row[key] for row in rows), Decimal(0)) for key in ("won", "weighted", "remaining")}
    total["amount"] = sum((row["target"].amount for row in rows), Decimal(0))
    remaining = total["remaining"]
    total["coverage"] = (total["weighted"] / remaining).quantize(Decimal("0.01")) if remaining > 0 else None
    return total


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The funnel, its flow, the forecast, sources and reps for the chosen scope and period."""
    scope = _scope(request)
    context = {"filters": scope.filters, "pipeline": scope.pipeline, "start": scope.start, "end": scope.end,
               "alerts": _alerts(request, scope), "exports": _export_urls(request)}  # fmt: skip
    # What changed since the last working day, for managers and admins (funnel.health.changes).
    context["changes"] = changes.for_dashboard(
        request.user, scope.opportunities, scope.filters.list_params(scope.pipeline)
    )
    if scope.pipeline is not None:
        stages = metrics.open_stages(scope.pipeline)
        figures, as_of = dashboard_figures.figures(_figure_scope(request, scope), stages)
        quotas = _quotas(request, scope)
        today = timezone.localdate()  # this quarter runs to its end: no weeks to come in the inflow
        figures["inflow"] = [row for row in figures["inflow"] if row["week"] <= today]
        _add_quotas(figures["reps"], quotas["rows"])
        context |= {
            **figures,
            "as_of": as_of,
            "coverage": _coverage(request, scope),
            "quotas": quotas,
            "in_force": in_force_day(scope),
            **_rep_table(request, scope, figures),
            "chart": _chart_data(figures["by_stage"], figures["inflow"]),
        }
        links = FigureLinks(scope.filters, scope.pipeline, scope.start, scope.end)
        context["links"] = link_figures(links, {**figures, "reps": context["reps"]})
        context["rep_columns"] = _add_rep_columns(request, context["reps"])
    return render(request, "funnel/dashboard/dashboard.html", context)


def _add_rep_columns(request: HttpRequest, reps: list[dict]) -> list[dict]:
    """The columns other apps add to the per-rep table (funnel.hooks: the daily log's data-quality score): each
    row gets its cells, in the columns' order."""
    columns = hooks.rep_columns(user=request.user, owner_ids=[row["owner"] for row in reps])
    for row in reps:
        row["columns"] = [{"template": column["template"], "cell": column["cells"].get(row["owner"])}
                          for column in columns]  # fmt: skip
    return columns


# --- CSV export of each table -----------------------------------------------------------------------


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))


def _stage_rows(request: HttpRequest, scope: Scope, figures: dict) -> list[list]:
    return [[row["stage"].name, row["stage"].probability, row["count"], _money(row["total"]),
             _money(row["weighted"])] for row in figures["by_stage"]]  # fmt: skip


def _flow_rows(request: HttpRequest, scope: Scope, figures: dict) -> list[list]:
    keys = ("entered", "advanced", "rate", "average_days", "median_days")
    return [[row["stage"].name, *(row[key] for key in keys)] for row in figures["flow"]]


def _inflow_rows(request: HttpRequest, scope: Scope, figures: dict) -> list[list]:
    return [[row["week"], row["count"]] for row in figures["inflow"]]


def _source_rows(request: HttpRequest, scope: Scope, figures: dict) -> list[list]:
    return [[row["source__name"] or _("No source"), row["inflow"], row["inflow_won"], row["conversion"], row["won"],
             _money(row["won_amount"])] for row in figures["sources"]]  # fmt: skip


def _rep_rows(request: HttpRequest, scope: Scope, figures: dict) -> list[list]:
    """Every rep (the page shows the first REPS_SHOWN), in the page's order, with the quota in force and its
    attainment as the page shows them."""
    keys = ("name", "open_count", "open_amount", "weighted", "forecast_weighted", "inflow", "flow_rate",
            "flow_average_days", "won", "lost", "won_amount", "win_rate", "deal_size", "cycle_days", "quota",
            "attainment")  # fmt: skip
    money = {"open_amount", "weighted", "forecast_weighted", "won_amount", "deal_size", "quota"}
    _add_quotas(figures["reps"], attainment.forecast_vs_quota(scope.filters.owners(request.user), in_force_day(scope)))
    rows = _sorted_reps(scope, figures["reps"])
    return [[_money(row[key]) if key in money else row[key] for key in keys] for row in rows]


def _forecast_rows(request: HttpRequest, scope: Scope, figures: dict) -> list[list]:
    """The forecast, the period's outcomes and, for teams, the targets: one figure per row."""
    outcomes, forecast = figures["outcomes"], figures["forecast"]
    coverage = _coverage(request, scope)
    rows = [
        [_("Period start"), scope.start],
        [_("Period end"), scope.end],
        [_("Expected to close (deals)"), forecast["count"]],
        [_("Expected to close: amount"), _money(forecast["total"])],
        [_("Expected to close: weighted"), _money(forecast["weighted"])],
        [_("Won (deals)"), outcomes["won"]],
        [_("Lost (deals)"), outcomes["lost"]],
        [_("Won amount"), _money(outcomes["won_amount"])],
        [_("Win rate (%)"), outcomes["win_rate"]],
        [_("Average cycle (days)"), outcomes["cycle_days"]],
        [_("Average deal size"), outcomes["deal_size"]],
    ]
    for row in coverage["rows"] if coverage else []:
        target = row["target"]
        label = f"{target.team.name} {target.period_start}–{target.period_end}"
        rows += [[_("Target: %(target)s") % {"target": label}, _money(target.amount)],
                 [_("Won so far: %(target)s") % {"target": label}, _money(row["won"])],
                 [_("Remaining: %(target)s") % {"target": label}, _money(row["remaining"])],
                 [_("Weighted to its end: %(target)s") % {"target": label}, _money(row["weighted"])],
                 [_("Coverage: %(target)s") % {"target": label}, row["coverage"]]]  # fmt: skip
    return rows


# ?table= → (header, rows): the allow-list of the tables a user may download.
EXPORT_TABLES = {
    "stages": ((gettext_lazy("Stage"), gettext_lazy("Probability (%)"), gettext_lazy("Count"),
                gettext_lazy("Amount"), gettext_lazy("Weighted")), _stage_rows),
    "flow": ((gettext_lazy("Stage"), gettext_lazy("Entered"), gettext_lazy("Moved on"),
              gettext_lazy("Conversion (%)"), gettext_lazy("Average days"), gettext_lazy("Median days")), _flow_rows),
    "inflow": ((gettext_lazy("Week of"), gettext_lazy("New opportunities")), _inflow_rows),
    "sources": ((gettext_lazy("Source"), gettext_lazy("New"), gettext_lazy("Of those won"),
                 gettext_lazy("Conversion (%)"), gettext_lazy("Won in period"), gettext_lazy("Won amount")),
                _source_rows),
    "reps": ((gettext_lazy("Rep"), gettext_lazy("Open deals"), gettext_lazy("Open amount"), gettext_lazy("Weighted"),
              gettext_lazy("Forecast (weighted)"), gettext_lazy("New in period"), gettext_lazy("Conversion (%)"),
              gettext_lazy("Average days in stage"), gettext_lazy("Won"), gettext_lazy("Lost"),
              gettext_lazy("Won amount"), gettext_lazy("Win rate (%)"), gettext_lazy("Average deal size"),
              gettext_lazy("Average cycle (days)"), gettext_lazy("Quota"), gettext_lazy("Attainment (%)")), _rep_rows),
    "forecast": ((gettext_lazy("Figure"), gettext_lazy("Value")), _forecast_rows),
}  # fmt: skip


def _export_urls(request: HttpRequest) -> dict[str, str]:
    """Each table's CSV link, carrying the page's filters."""
    base, params = reverse("insights:dashboard_export"), request.GET.copy()
    urls = {}
    for table in EXPORT_TABLES:
        params["table"] = table
        urls[table] = f"{base}?{params.urlencode()}"
    return urls


def _export_table(request: HttpRequest, table: str) -> tuple:
    """The scope, header, rows and as-of time of one of the page's tables."""
    scope = _scope(request)
    header, make_rows = EXPORT_TABLES[table]
    rows, as_of = [], timezone.now()
    if scope.pipeline is not None:  # the page's own figures, so the file says what the page said
        figures, as_of = dashboard_figures.figures(_figure_scope(request, scope), metrics.open_stages(scope.pipeline))
        rows = make_rows(request, scope, figures)
        if table == "reps":
            header, rows = _with_rep_columns(request, scope, figures, header, rows)
    return scope, header, rows, as_of


def _with_rep_columns(request: HttpRequest, scope: Scope, figures: dict, header: tuple, rows: list[list]) -> tuple:
    """The per-rep file with the columns other apps add (funnel.hooks), after the dashboard's own."""
    owners = [row["owner"] for row in _sorted_reps(scope, figures["reps"])]  # the order of `rows`
    columns = hooks.rep_columns(user=request.user, owner_ids=owners)
    for column in columns:
        header = (*header, *column["csv_headings"])
        blank = [None] * len(column["csv_headings"])
        rows = [row + column["cells"].get(owner, {}).get("csv", blank) for row, owner in zip(rows, owners, strict=True)]
    return header, rows


@login_required
def dashboard_export(request: HttpRequest) -> HttpResponse:
    """One table of the page as CSV (?table=, allow-listed; the per-rep table without one): the same scope,
    filters and figures as the page (its summary, or computed and stored like the page's); rate-limited and
    audited. The file name carries the time the figures are as of."""
    table = request.GET.get("table") or "reps"
    if table not in EXPORT_TABLES:
        raise Http404
    refusal = exports.export_refusal(request.user)  # the same allowance as the opportunity export
    if refusal is None:
        scope, header, rows, as_of = _export_table(request, table)
        detail = {"table": f"dashboard_{table}", "rows": len(rows), "filters": request.GET.urlencode()}
        try:  # counted and recorded in one step, so concurrent exports cannot all pass (QUALITY S36)
            exports.export_record(request=request, detail=detail)
        except exports.ExportRefused as error:
            refusal = str(error)
    if refusal is not None:
        messages.error(request, refusal)
        back = request.GET.copy()
        back.pop("table", None)
        return redirect(f"{reverse('insights:dashboard')}?{back.urlencode()}")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # so Excel opens UTF-8 Chinese text correctly
    writer = csv.writer(response)
    writer.writerow([str(title) for title in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    stamp = timezone.localtime(as_of).strftime("%Y%m%d-%H%M")  # when the figures were computed
    response["Content-Disposition"] = f'attachment; filename="{table}-{scope.start}-{scope.end}-{stamp}.csv"'
    return response


# --- Targets (admin only) until quotas exist ------------------------------------------------------


@admin_required
def target_list(request: HttpRequest) -> HttpResponse:
    """Every team's targets, newest period first, and a form to set one."""
    form = TargetForm(request.POST if request.method == "POST" else None)
    if form.is_valid() and _saved(form, lambda: services.target_create(by=request.user, **form.cleaned_data)):
        messages.success(request, _("Target saved."))
        return redirect("insights:target_list")
    targets = Target.objects.select_related("team", "created_by")
    return render(request, "funnel/dashboard/target_list.html", {"targets": targets, "form": form})


@admin_required
def target_edit(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(Target.objects.select_related("team"), pk=pk)
    form = TargetForm(request.POST if request.method == "POST" else None, target=target)
    if form.is_valid() and _saved(
        form, lambda: services.target_update(target=target, by=request.user, **form.cleaned_data)
    ):
        saved_or_unchanged(request, form, _("Target saved."))
        return redirect("insights:target_list")
    return render(request, "funnel/dashboard/target_edit.html", {"target": target, "form": form})


def _saved(form: TargetForm, write) -> Target | None:
    """Runs the service; a refusal becomes a form error, so the page re-shows what was typed."""
    try:
        return write()
    except FunnelError as error:
        form.add_error(None, str(error))
        return None
