"""The reverse-funnel pages' reads (funnel.planning.reverse does the arithmetic): a person's or a team's quota in
force, the closed deals behind each level of history, the stage history of the level used, the open deals per
stage and the daily log's activities, each one grouped query however many deals there are.

Closed deals, won amounts, cycle times and new opportunities come from the dashboard's rollup (its owners' days,
funnel.models.rollup; the whole pipeline from its all-owners rows); the stage → won rates from the calibration
history (funnel.insights.calibration, kept for the day; the whole pipeline's read by a job, as the dashboard's).
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Count, Q, Sum

from config import jobs
from reps.models import Team, User
from reps.quotas import MONTH, QUARTER, period_kind

from .. import hooks
from ..insights import calibration, figures, metrics
from ..models import HealthSettings, Opportunity, Pipeline
from ..models.rollup import ALL_OWNERS, DealDay
from . import reverse
from .attainment import ZERO, forecast_vs_quota

WINDOW_MONTHS = calibration.DEFAULT_MONTHS  # the history a plan reads: the last twelve months
VISIT_WEEKS = 12  # the daily log's window for visits per new opportunity
HISTORY_ASKED = "funnel:reverse-history-asked"


@dataclass
class Level:
    """One level of history to fall back on: its name (reverse.REP, TEAM, PIPELINE) and its owners (None: all)."""

    name: str
    owner_ids: tuple[int, ...] | None


def person_levels(person: User) -> list[Level]:
    """A person's own history, their team's (when they have one), the whole pipeline's."""
    levels = [Level(reverse.REP, (person.pk,))]
    if person.team_id:
        members = User.objects.filter(team=person.team_id).order_by("pk").values_list("pk", flat=True)
        levels.append(Level(reverse.TEAM, tuple(members)))
    return [*levels, Level(reverse.PIPELINE, None)]


def team_levels(member_ids: tuple[int, ...]) -> list[Level]:
    return [Level(reverse.TEAM, member_ids), Level(reverse.PIPELINE, None)]


def window(today: date) -> tuple[date, date]:
    """The first day of the history's window and of the visits' window."""
    return calibration.months_before(today, WINDOW_MONTHS), today - timedelta(weeks=VISIT_WEEKS)


def summaries(levels: list[Level], pipeline: Pipeline, today: date) -> dict[str, reverse.History]:
    """Each level's closed and won deals in the pipeline over the window and its new opportunities (every pipeline)
    over the visits window, from one grouped read of the rollup's days (stage shares and activities come later,
    for the level used)."""
    since, visits_since = window(today)
    ids = {pk for level in levels for pk in (level.owner_ids or (ALL_OWNERS,))}
    in_window = Q(pipeline_id=pipeline.pk, day__gte=since)
    rows = {
        row.pop("owner_id"): row
        for row in DealDay.objects.filter(owner_id__in=ids, day__gte=min(since, visits_since), day__lte=today)
        .values("owner_id")
        .annotate(
            won=Sum("won", filter=in_window),
            lost=Sum("lost", filter=in_window),
            won_amount=Sum("won_amount", filter=in_window),
            won_seconds=Sum("won_seconds", filter=in_window),
            created=Sum("created", filter=Q(day__gte=visits_since)),
        )
        .order_by()
    }
    found = {}
    for level in levels:
        sums = [rows.get(pk, {}) for pk in level.owner_ids or (ALL_OWNERS,)]
        total = {key: sum((row.get(key) or 0 for row in sums), 0) for key in ("won", "lost", "won_seconds", "created")}
        found[level.name] = reverse.History(
            level.name, closed=total["won"] + total["lost"], won=total["won"],
            won_amount=sum((row.get("won_amount") or ZERO for row in sums), ZERO),
            won_seconds=float(total["won_seconds"]), created=total["created"],
        )  # fmt: skip
    return found


def stage_shares(level: Level, pipeline: Pipeline, stages: list) -> dict[int, tuple[int, int]] | None:
    """{stage id: (closed deals that entered it, won)} of the level's owners in the window; the whole pipeline's
    is read by a job when not kept yet (None meanwhile), as the dashboard's forecast reads it."""
    scope = figures.FigureScope(level.owner_ids or (), (), pipeline, None, date.min, date.min,
                                everyone=level.owner_ids is None)  # fmt: skip
    everyone = level.owner_ids is None
    rows = figures.scope_history(scope, stages, compute=not everyone, months=WINDOW_MONTHS)
    if rows is None and cache.add(f"{HISTORY_ASKED}:{pipeline.pk}", True, 60):
        from ..tasks import calibration_history_task  # tasks import the modules views use

        jobs.enqueue(calibration_history_task, pipeline.pk, None, [stage.pk for stage in stages], WINDOW_MONTHS)
        rows = figures.scope_history(scope, stages, compute=False, months=WINDOW_MONTHS)
    if rows is None:
        return None
    return {row.stage.pk: (row.total.deals, row.total.won) for row in rows}


def used_history(
    levels: list[Level], pipeline: Pipeline, stages: list, today: date
) -> tuple[dict[str, reverse.History], reverse.History | None, bool]:
    """Every level's summary, the level used (reverse.choose) with its stage shares and activities, and whether
    the history is still being read (the whole pipeline's, by a job)."""
    found = summaries(levels, pipeline, today)
    chosen = reverse.choose([found[level.name] for level in levels])
    if chosen is None:
        return found, None, False
    level = next(level for level in levels if level.name == chosen.level)
    shares = stage_shares(level, pipeline, stages)
    if shares is None:
        return found, None, True
    _since, visits_since = window(today)
    activities = hooks.activity_count(owner_ids=level.owner_ids, since=visits_since, until=today)
    chosen = replace(chosen, shares=shares, activities=activities)
    return found, chosen, False


def open_funnel(owner_ids: tuple[int, ...], pipeline: Pipeline, end: date | None) -> tuple[dict, dict]:
    """Per stage: the owners' open deals now, and those not expected to close after `end` (all without an end)."""
    closable = Q(expected_close_date__isnull=True) | Q(expected_close_date__lte=end) if end else Q()
    rows = (
        Opportunity.objects.open()
        .filter(owner__in=owner_ids, pipeline=pipeline)
        .values_list("stage_id")
        .annotate(n=Count("pk"), can=Count("pk", filter=closable))
        .order_by()
    )
    open_now, can_close = {}, {}
    for stage_id, n, can in rows:
        open_now[stage_id], can_close[stage_id] = n, can
    return open_now, can_close


def quota_kinds(rows: list[dict]) -> list[str]:
    """The kinds of period (QUARTER, MONTH) the quota rows cover, the longer first."""
    kinds = {period_kind(row["quota"].period_start, row["quota"].period_end) for row in rows}
    return [kind for kind in (QUARTER, MONTH) if kind in kinds]


def chosen_kind(rows: list[dict], asked: str | None) -> str | None:
    kinds = quota_kinds(rows)
    return asked if asked in kinds else (kinds[0] if kinds else None)


def of_kind(rows: list[dict], kind: str | None) -> list[dict]:
    return [row for row in rows if period_kind(row["quota"].period_start, row["quota"].period_end) == kind]


def _plan(owner_ids, levels, pipeline, today, quota_rows, ready: bool) -> dict:
    """The plan over the quota rows of one period (added up for a team) and what the page shows beside it; without
    the rollup (`ready` False: never built yet, a job is building it) the history is pending."""
    stages = metrics.open_stages(pipeline)
    quota = sum((row["quota"].amount for row in quota_rows), ZERO) if quota_rows else None
    end = quota_rows[0]["quota"].period_end if quota_rows else None
    found, history, pending = used_history(levels, pipeline, stages, today) if ready else ({}, None, True)
    open_now, can_close = open_funnel(owner_ids, pipeline, end)
    result = reverse.plan(
        quota=quota, won=sum((row["won"] for row in quota_rows), ZERO),
        weighted=sum((row["weighted"] for row in quota_rows), ZERO),
        threshold=HealthSettings.current().quota_risk_percent, history=history,
        stages=[(stage.pk, stage.name) for stage in stages], open_now=open_now, can_close=can_close,
        today=today, end=end, pending=pending,
    )  # fmt: skip
    return {"plan": result, "levels": found, "start": quota_rows[0]["quota"].period_start if quota_rows else None}


def person_plan(person: User, pipeline: Pipeline, today: date, asked_kind: str | None, *, ready: bool = True) -> dict:
    """A person's plan for their quota in force today of the asked kind (default: the longest period)."""
    rows = forecast_vs_quota([person.pk], today)
    kind = chosen_kind(rows, asked_kind)
    found = _plan((person.pk,), person_levels(person), pipeline, today, of_kind(rows, kind), ready)
    return {**found, "kind": kind, "kinds": quota_kinds(rows)}


def team_plan(team: Team, pipeline: Pipeline, today: date, asked_kind: str | None, *, ready: bool = True) -> dict:
    """A team's plan: its members' quotas in force today of one kind added up, beside each member's own."""
    members = list(User.objects.filter(team=team).order_by("first_name", "last_name", "username"))
    ids = tuple(sorted(member.pk for member in members))
    rows = forecast_vs_quota(ids, today)
    kind = chosen_kind(rows, asked_kind)
    chosen = of_kind(rows, kind)
    found = _plan(ids, team_levels(ids), pipeline, today, chosen, ready)
    threshold = found["plan"].threshold
    by_person = {row["quota"].user_id: row for row in chosen}
    people = [{"person": member, "row": by_person.get(member.pk), **_risk(by_person.get(member.pk), threshold)}
              for member in members if member.is_active or member.pk in by_person]  # fmt: skip
    return {**found, "kind": kind, "kinds": quota_kinds(rows), "people": people}


def _risk(row: dict | None, threshold: int) -> dict:
    if row is None:
        return {"coverage": None, "left": None, "at_risk": False}
    remaining, weighted = row["remaining"], row["weighted"]
    return {"coverage": reverse.coverage_percent(remaining, weighted), "left": max(remaining, ZERO),
            "at_risk": reverse.quota_at_risk(remaining, weighted, threshold)}  # fmt: skip


def pipelines() -> list[Pipeline]:
    """The active pipelines a plan may be read in, the default first."""
    return list(Pipeline.objects.filter(is_active=True).order_by("-is_default", "name", "pk"))


def chosen_pipeline(choices: list[Pipeline], asked: str | None) -> Pipeline | None:
    for pipeline in choices:
        if asked and str(pipeline.pk) == asked:
            return pipeline
    return choices[0] if choices else None
