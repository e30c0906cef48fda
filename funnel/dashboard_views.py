"""The team dashboard: every figure from the same visibility-scoped querysets, narrowed by the filter."""

import csv
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, Q, QuerySet, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from reps.models import AuditAction, AuditEvent, User
from reps.services import audit_record

from . import dashboard_figures, metrics, target_services
from .alert_views import subject_url
from .config_views import admin_view
from .dashboard_forms import DashboardFilterForm
from .export import neutralise
from .models import Alert, AlertSeverity, Opportunity, Pipeline, StageChange, Target
from .services import FunnelError
from .target_forms import TargetForm

ALERTS_SHOWN = 10
MOST_SEVERE_FIRST = Case(
    When(severity=AlertSeverity.CRITICAL, then=0), When(severity=AlertSeverity.WARNING, then=1), default=2
)


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
    the ten most severe (one query) and how many more there are (one count)."""
    alerts = Alert.objects.visible_to(request.user).needing_attention(timezone.now())
    values, inbox = scope.filters.values, reverse("funnel:alert_list")
    if values.get("owner"):
        alerts = alerts.filter(rep=values["owner"])
        inbox = f"{inbox}?rep={values['owner'].pk}"
    if values.get("team"):  # a team's forecast alert goes to its manager, who may sit in another team
        alerts = alerts.filter(Q(team=values["team"]) | Q(team__isnull=True, rep__team=values["team"]))
    related = alerts.select_related("rep", "opportunity", "stage", "team")
    shown = list(related.order_by(MOST_SEVERE_FIRST, "-last_seen", "-id")[:ALERTS_SHOWN])
    more = alerts.count() - len(shown)
    return {"rows": [(alert, subject_url(alert, request.user)) for alert in shown], "more": more, "inbox": inbox}


def _figure_scope(request: HttpRequest, scope: Scope) -> dashboard_figures.FigureScope:
    """The same deals as scope.opportunities, named by their owners, to find or store their summary."""
    owners = scope.filters.owners(request.user)
    source = scope.filters.values.get("source")
    return dashboard_figures.figure_scope(owners, scope.pipeline, source, scope.start, scope.end)


def _reps(scope: Scope) -> list[dict]:
    """The per-rep rows, live, in the order of the allow-listed ?sort= (rows are reps, not deals)."""
    return _sorted_reps(scope, metrics.per_rep(scope.opportunities, scope.start, scope.end, scope.people))


def _sorted_reps(scope: Scope, rows: list[dict]) -> list[dict]:
    key, descending = scope.filters.rep_sort()
    present = [row for row in rows if row[key] is not None]
    return sorted(present, key=lambda row: row[key], reverse=descending) + [row for row in rows if row[key] is None]


def _flow(scope: Scope, stages: list) -> list[dict]:
    """Conversion and time in stage side by side, one row per open stage."""
    return metrics.flow(scope.changes, scope.pipeline, scope.start, scope.end, stages)


def _chart_data(by_stage: list[dict], inflow: list[dict]) -> dict:
    return {
        "stages": [row["stage"].name for row in by_stage],
        "amount": [float(row["total"]) for row in by_stage],
        "weighted": [float(row["weighted"]) for row in by_stage],
        "weeks": [row["week"].isoformat() for row in inflow],
        "inflow": [row["count"] for row in inflow],
        "labels": {"amount": _("Amount"), "weighted": _("Weighted"), "inflow": _("New opportunities")},
    }


def _coverage(request: HttpRequest, scope: Scope, outcomes: dict, forecast: dict) -> dict | None:
    """The forecast against the targets of the teams in view, or None for one rep's figures."""
    teams = scope.filters.target_teams(request.user)
    if teams is None:
        return None
    targets = Target.objects.filter(team__in=teams)
    return metrics.target_coverage(targets, scope.start, scope.end, outcomes["won_amount"], forecast["weighted"])


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The funnel, its flow, the forecast, sources and reps for the chosen scope and period."""
    scope = _scope(request)
    context = {"filters": scope.filters, "pipeline": scope.pipeline, "start": scope.start, "end": scope.end,
               "alerts": _alerts(request, scope)}  # fmt: skip
    if scope.pipeline is not None:
        stages = metrics.open_stages(scope.pipeline)
        figures, as_of = dashboard_figures.figures(_figure_scope(request, scope), stages)
        context |= {
            **figures,
            "as_of": as_of,
            "summary_minutes": settings.DASHBOARD_SUMMARY_MINUTES,
            "coverage": _coverage(request, scope, figures["outcomes"], figures["forecast"]),
            "reps": _sorted_reps(scope, figures["reps"]),
            "chart": _chart_data(figures["by_stage"], figures["inflow"]),
            "list_query": scope.filters.list_querystring(scope.pipeline),
        }
    return render(request, "funnel/dashboard/dashboard.html", context)


@login_required
def dashboard_export(request: HttpRequest) -> HttpResponse:
    """The per-rep table as CSV, same scope and filters as the page; rate-limited and audited."""
    since = timezone.now() - timedelta(hours=1)
    recent = AuditEvent.objects.filter(action=AuditAction.EXPORTED, actor=request.user, at__gte=since).count()
    if recent >= settings.EXPORTS_PER_HOUR:  # the same budget as the opportunity export (QUALITY S24)
        messages.error(
            request, _("You have exported %(n)d times in the last hour. Please wait a while.") % {"n": recent}
        )
        return redirect(f"{reverse('funnel:dashboard')}?{request.GET.urlencode()}")
    scope = _scope(request)
    rows = _reps(scope) if scope.pipeline is not None else []
    audit_record(
        action=AuditAction.EXPORTED,
        request=request,
        detail={"table": "dashboard_reps", "rows": len(rows), "filters": request.GET.urlencode()},
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # so Excel opens UTF-8 Chinese text correctly
    writer = csv.writer(response)
    writer.writerow(
        [_("Rep"), _("Open deals"), _("Open amount"), _("Weighted"), _("New in period"), _("Won"), _("Lost"),
         _("Won amount"), _("Win rate (%)"), _("Average cycle (days)")]
    )  # fmt: skip
    keys = ("name", "open_count", "open_amount", "weighted", "inflow", "won", "lost", "won_amount", "win_rate",
            "cycle_days")  # fmt: skip
    for row in rows:
        writer.writerow([neutralise(row[key]) for key in keys])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="reps-{scope.start}-{scope.end}-{stamp}.csv"'
    return response


# --- Targets (admin only) until quotas exist ------------------------------------------------------


@admin_view
def target_list(request: HttpRequest) -> HttpResponse:
    """Every team's targets, newest period first, and a form to set one."""
    form = TargetForm(request.POST if request.method == "POST" else None)
    if form.is_valid() and _saved(form, lambda: target_services.target_create(by=request.user, **form.cleaned_data)):
        messages.success(request, _("Target saved."))
        return redirect("funnel:target_list")
    targets = Target.objects.select_related("team", "created_by")
    return render(request, "funnel/dashboard/target_list.html", {"targets": targets, "form": form})


@admin_view
def target_edit(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(Target.objects.select_related("team"), pk=pk)
    form = TargetForm(request.POST if request.method == "POST" else None, target=target)
    if form.is_valid() and _saved(
        form, lambda: target_services.target_update(target=target, by=request.user, **form.cleaned_data)
    ):
        messages.success(request, _("Target saved."))
        return redirect("funnel:target_list")
    return render(request, "funnel/dashboard/target_edit.html", {"target": target, "form": form})


def _saved(form: TargetForm, write) -> Target | None:
    """Runs the service; a refusal becomes a form error, so the page re-shows what was typed."""
    try:
        return write()
    except FunnelError as error:
        form.add_error(None, str(error))
        return None
