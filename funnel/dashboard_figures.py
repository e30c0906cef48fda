"""The dashboard's figures for one scope: computed live through funnel.metrics, or read from a summary.

A team's or the organisation's figures aggregate up to millions of rows, so a job keeps them in
`DashboardSummary` (refreshed every DASHBOARD_SUMMARY_MINUTES; the page says how old they are). A summary
is keyed by the exact set of owners whose deals it counts, so it answers only a request covering the very
same deals: visibility is by owner (reps.models.owner_scope_q), and the key is computed from the
requesting user's own visible owners, narrowed by the filter. The key also holds the time zone the
period's days and weeks are cut in: the reader's. A rep's own figures are summarised too
(computing them costs little, so the job refreshes only those read in the last READ_RECENTLY).
"""

import hashlib
import itertools
import json
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import timezone

from reps.models import Role, Team, User

from . import metrics
from .models import DashboardSummary, Opportunity, Pipeline, Source, Stage, StageChange

# Keys whose values are Decimals (or None) in the figures, restored from the JSON's strings.
DECIMALS = {
    "total", "weighted", "rate", "average_days", "median_days", "won_amount", "win_rate", "cycle_days",
    "deal_size", "open_amount", "conversion", "forecast_weighted", "flow_rate", "flow_average_days",
    "flow_median_days",
}  # fmt: skip
# The job keeps each manager's and admin's default period ready; other periods and filters are computed
# on their first read, then kept fresh while they are read (a summary costs up to seconds at 1M deals).
SUMMARY_PERIODS = ("90d",)
# A read is noted at most every READ_MARK_EVERY (a write per page view would be wasted); the job keeps
# refreshing what was read in the last READ_RECENTLY (so a burst of one-off filters costs it little for
# long), and deletes what nobody has read for DROP_UNREAD.
READ_MARK_EVERY = timedelta(hours=1)
READ_RECENTLY = timedelta(hours=2)
DROP_UNREAD = timedelta(days=2)


@dataclass(frozen=True)
class FigureScope:
    """What a set of figures counts: the owners' deals in one pipeline (and source) over [start, end]."""

    owner_ids: tuple[int, ...]
    people_ids: tuple[int, ...]  # the active users in view that the per-rep table starts from
    pipeline: Pipeline
    source: Source | None
    start: date
    end: date
    time_zone: str  # the days of [start, end] and the weeks of the inflow are this zone's

    @property
    def key(self) -> str:
        """A digest of everything the figures depend on, so a summary is only ever read for the same scope."""
        parts = [
            f"p{self.pipeline.pk}",
            f"s{self.source.pk if self.source else 0}",
            self.start.isoformat(),
            self.end.isoformat(),
            self.time_zone,
            "o" + ",".join(map(str, self.owner_ids)),
            "u" + ",".join(map(str, self.people_ids)),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def opportunities(self) -> QuerySet[Opportunity]:
        deals = Opportunity.objects.filter(owner_id__in=self.owner_ids, pipeline=self.pipeline)
        return deals.filter(source=self.source) if self.source else deals

    def changes(self) -> QuerySet[StageChange]:
        changes = StageChange.objects.filter(
            opportunity__owner_id__in=self.owner_ids, opportunity__pipeline=self.pipeline
        )
        return changes.filter(opportunity__source=self.source) if self.source else changes

    def people(self) -> QuerySet[User]:
        return User.objects.filter(pk__in=self.people_ids).order_by("first_name", "last_name", "username")


def figure_scope(
    users: QuerySet[User], pipeline: Pipeline, source: Source | None, start: date, end: date
) -> FigureScope:
    """The scope of `users` (already visibility-scoped and narrowed by the filter), in the current time
    zone: one query for their ids."""
    rows = list(users.order_by("pk").values_list("pk", "is_active"))
    return FigureScope(
        owner_ids=tuple(pk for pk, _active in rows),
        people_ids=tuple(pk for pk, active in rows if active),
        pipeline=pipeline,
        source=source,
        start=start,
        end=end,
        time_zone=timezone.get_current_timezone_name(),
    )


def compute(scope: FigureScope, stages: list[Stage]) -> dict:
    """Every figure of the dashboard, live, in the scope's time zone: one grouped query each (metrics)."""
    with timezone.override(zoneinfo.ZoneInfo(scope.time_zone)):
        return _compute(scope, stages)


def _compute(scope: FigureScope, stages: list[Stage]) -> dict:
    deals, changes = scope.opportunities(), scope.changes()
    by_stage_flow, by_owner_flow = metrics.flows(changes, scope.pipeline, scope.start, scope.end, stages)
    by_stage = metrics.funnel_by_stage(deals, scope.pipeline, stages)
    return {
        "by_stage": by_stage,
        "inflow": metrics.inflow_by_week(deals, scope.start, scope.end),
        "flow": by_stage_flow,
        "outcomes": metrics.outcomes(deals, scope.start, scope.end),
        "forecast": metrics.forecast(deals, scope.start, scope.end),
        "sources": metrics.by_source(deals, scope.start, scope.end),
        "reps": rep_rows(deals, scope.start, scope.end, scope.people(), by_owner_flow),
    }


def rep_rows(
    deals: QuerySet[Opportunity], start: date, end: date, people: QuerySet[User], flows: dict[int, dict]
) -> list[dict]:
    """metrics.per_rep with each rep's flow beside it (flow_*: stage conversion, days in stage) from `flows`
    (the per-owner rows of metrics.flows)."""
    none = {"entered": 0, "advanced": 0, "rate": None, "stays": 0, "average_days": None, "median_days": None}
    return [
        {**row, **{f"flow_{key}": value for key, value in flows.get(row["owner"], none).items()}}
        for row in metrics.per_rep(deals, start, end, people)
    ]


def figures(scope: FigureScope, stages: list[Stage], now: datetime | None = None) -> tuple[dict, datetime | None]:
    """The scope's figures and when they were computed.

    They come from a summary no older than DASHBOARD_SUMMARY_MAX_AGE_MINUTES; without one they are
    computed live and stored, so the next request is served from it (and the job keeps it fresh).
    """
    now = now or timezone.now()
    oldest = now - timedelta(minutes=settings.DASHBOARD_SUMMARY_MAX_AGE_MINUTES)
    summary = DashboardSummary.objects.filter(key=scope.key, computed_at__gte=oldest).first()
    if summary is not None and summary.figures.get("stages") == [stage.pk for stage in stages]:
        if summary.read_at is None or summary.read_at < now - READ_MARK_EVERY:
            DashboardSummary.objects.filter(pk=summary.pk).update(read_at=now)  # at most once an hour
        return restore(summary.figures, stages), summary.computed_at
    computed = compute(scope, stages)
    store(scope, stages, computed, computed_at=now, read_at=now)
    return computed, now


def store(scope: FigureScope, stages: list[Stage], computed: dict, *, computed_at: datetime, read_at=None) -> None:
    """Writes (or replaces) the scope's summary in one INSERT … ON CONFLICT: concurrent writers of a key
    each leave a complete summary, and the last one stays."""
    payload = DjangoJSONEncoder().encode({**flatten(computed), "stages": [stage.pk for stage in stages]})
    summary = DashboardSummary(
        key=scope.key,
        pipeline=scope.pipeline,
        source=scope.source,
        start=scope.start,
        end=scope.end,
        time_zone=scope.time_zone,
        owner_ids=list(scope.owner_ids),
        people_ids=list(scope.people_ids),
        figures=json.loads(payload),
        computed_at=computed_at,
        read_at=read_at,
    )
    replaced = ["figures", "computed_at", "owner_ids", "people_ids"] + (["read_at"] if read_at else [])
    DashboardSummary.objects.bulk_create(
        [summary], update_conflicts=True, unique_fields=["key"], update_fields=replaced
    )


def flatten(computed: dict) -> dict:
    """The figures with model instances replaced by their ids, ready for JSON."""
    return {
        **computed,
        "by_stage": [{**row, "stage": row["stage"].pk} for row in computed["by_stage"]],
        "flow": [{**row, "stage": row["stage"].pk} for row in computed["flow"]],
    }


def restore(stored: dict, stages: list[Stage]) -> dict:
    """The figures as compute() returns them, from a summary's JSON: Decimals, dates and stages back."""
    by_pk = {stage.pk: stage for stage in stages}

    def row(values: dict) -> dict:
        return {
            key: (Decimal(value) if key in DECIMALS and value is not None else value) for key, value in values.items()
        }

    return {
        "by_stage": [{**row(values), "stage": by_pk[values["stage"]]} for values in stored["by_stage"]],
        "inflow": [
            {"week": date.fromisoformat(values["week"]), "count": values["count"]} for values in stored["inflow"]
        ],
        "flow": [{**row(values), "stage": by_pk[values["stage"]]} for values in stored["flow"]],
        "outcomes": row(stored["outcomes"]),
        "forecast": row(stored["forecast"]),
        "sources": [row(values) for values in stored["sources"]],
        "reps": [row(values) for values in stored["reps"]],
    }


# --- the job ----------------------------------------------------------------------------------------


def _viewers() -> QuerySet[User]:
    """Whose default dashboards the job keeps ready: managers and admins (a rep's when read recently)."""
    return User.objects.active().filter(role__in=[Role.MANAGER, Role.ADMIN])


def refresh_summaries(now: datetime | None = None) -> dict[str, int]:
    """Recomputes every summary read in the last READ_RECENTLY, and each manager's and admin's default views.

    The default views: everything the user may see in each active pipeline over the default period
    (SUMMARY_PERIODS, in the user's own time zone, as their page asks), plus each team an admin may
    filter to. Summaries nobody has read for DROP_UNREAD are deleted. Returns counts of refreshed and
    deleted summaries.
    """
    from .dashboard_forms import period_dates  # the form module imports this one's callers

    now = now or timezone.now()
    pipelines = list(Pipeline.objects.filter(is_active=True))
    wanted: dict[str, FigureScope] = {}
    for viewer in _viewers().select_related("team"):
        visible = User.objects.visible_to(viewer)
        groups = [visible]
        if viewer.role == Role.ADMIN:
            groups += [visible.filter(team=team) for team in Team.objects.order_by("pk")]
        with timezone.override(zoneinfo.ZoneInfo(viewer.time_zone)):
            today = timezone.localdate(now)
            for users, pipeline, period in itertools.product(groups, pipelines, SUMMARY_PERIODS):
                scope = figure_scope(users, pipeline, None, *period_dates(period, today))
                wanted.setdefault(scope.key, scope)
    recent = DashboardSummary.objects.filter(read_at__gte=now - READ_RECENTLY).select_related("pipeline", "source")
    for summary in recent:
        scope = FigureScope(
            tuple(summary.owner_ids), tuple(summary.people_ids), summary.pipeline, summary.source, summary.start,
            summary.end, summary.time_zone,
        )  # fmt: skip
        if summary.pipeline.is_active:
            wanted.setdefault(scope.key, scope)
    stages = {pipeline.pk: metrics.open_stages(pipeline) for pipeline in {s.pipeline for s in wanted.values()}}
    for scope in wanted.values():
        store(scope, stages[scope.pipeline.pk], compute(scope, stages[scope.pipeline.pk]), computed_at=now)
    stale = DashboardSummary.objects.exclude(key__in=wanted).filter(computed_at__lt=now - DROP_UNREAD)
    deleted, _by_model = stale.delete()
    return {"refreshed": len(wanted), "deleted": deleted}
