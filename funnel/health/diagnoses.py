"""Funnel-health diagnoses (docs/architecture.md, "Health diagnoses"): scope and "now" in, findings out,
nothing written.

Each diagnosis costs a fixed number of grouped queries, however many opportunities there are; the
grouped results (one row per rep or team and stage) are small enough to read in Python. The thresholds
are the admins' per pipeline (Pipeline.blockage_share, …) and per stage (Stage.stall_days), joined into
those grouped queries. A finding is a dict whose `key` names its kind and subject:
funnel.health.services.alerts_sync turns findings into alerts.

A team's funnel is its active members' open deals in one pipeline. Its gap and blockage alerts go to the
team's manager with `team` set; a funnel only one member's deals fill is that rep's own, already
diagnosed, so team findings need deals of at least two members.
"""

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import JSONObject
from django.utils import timezone

from reps.models import User

from ..insights.metrics import WEIGHTED_AMOUNT, period_bounds
from ..models import AlertKind, AlertSeverity, Opportunity, Pipeline, Stage, StageKind, Target
from ..models.opportunities import stalled_condition

TEAM_MIN_MEMBERS = 2  # a team funnel filled by one member's deals is that rep's funnel


def finding(
    kind: str, key: str, *, rep_id: int, severity: str = AlertSeverity.WARNING, details: dict | None = None, **subject
) -> dict:
    """A finding: its dedupe key, kind, severity, rep, subject (opportunity_id, stage_id, day, team_id,
    pipeline_id) and the numbers that raised it (`details`, plain JSON: funnel.health.why words them)."""
    return {
        "details": details or {},
        "key": f"{kind}:{key}",
        "kind": kind,
        "severity": severity,
        "rep_id": rep_id,
        "opportunity_id": subject.get("opportunity_id"),
        "stage_id": subject.get("stage_id"),
        "day": subject.get("day"),
        "team_id": subject.get("team_id"),
        "pipeline_id": subject.get("pipeline_id"),
    }


def _open_deals(scope: QuerySet[Opportunity] | None) -> QuerySet[Opportunity]:
    return (Opportunity.objects.all() if scope is None else scope).open()


def stalled_findings(now: datetime, scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Every stalled open deal (see `OpportunityQuerySet.stalled`), with its `stalled_details`."""
    rows = _open_deals(scope).stalled(now).values_list("pk", "owner_id", "stage_id", STALLED_DETAILS)
    return [
        finding(AlertKind.STALLED, f"opp:{pk}", rep_id=owner_id, opportunity_id=pk, stage_id=stage_id,
                details=details if isinstance(details, dict) else json.loads(details))
        for pk, owner_id, stage_id, details in rows.iterator()
    ]  # fmt: skip


# What raised a stalled alert, read with the deal in the same statement (the scan's INSERT … SELECT too): when it
# entered its stage, the stage's stall days, its last activity and its next step's date. The page counts the
# days from them, so the numbers stay true between scans.
STALLED_DETAILS = JSONObject(
    entered=F("stage_entered_at"),
    stall_days=F("stage__stall_days"),
    last_activity=F("last_activity_at"),
    next_step=F("next_step_date"),
)


def _open_stages_by_pipeline() -> dict[int, list[int]]:
    """The ids of each pipeline's open, unarchived stages, in funnel order."""
    stages = defaultdict(list)
    rows = Stage.objects.filter(kind=StageKind.OPEN, is_archived=False, pipeline__is_active=True)
    for pk, pipeline_id in rows.order_by("pipeline", "order", "pk").values_list("pk", "pipeline_id"):
        stages[pipeline_id].append(pk)
    return stages


_one_reading: ContextVar[dict | None] = ContextVar("health_one_reading", default=None)


@contextmanager
def one_reading() -> Iterator[None]:
    """Within a scan, the diagnoses that group the same open deals (gap, empty cup) read them once."""
    token = _one_reading.set({})
    try:
        yield
    finally:
        _one_reading.reset(token)


def _held_stages(scope: QuerySet[Opportunity] | None) -> list[tuple[int, int | None, int | None, int, int, int]]:
    """(owner, team, team's manager, pipeline, stage, open deals) for each stage holding an active owner's open
    deals: one GROUP BY, once per scan (see one_reading)."""
    shared = _one_reading.get()
    if scope is None and shared is not None:
        if "held" not in shared:
            shared["held"] = _read_held_stages(None)
        return shared["held"]
    return _read_held_stages(scope)


def _read_held_stages(
    scope: QuerySet[Opportunity] | None,
) -> list[tuple[int, int | None, int | None, int, int, int]]:
    return list(
        _open_deals(scope)
        .filter(owner__is_active=True)
        .values_list("owner_id", "owner__team_id", "owner__team__manager_id", "pipeline_id", "stage_id")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "owner__team_id", "owner__team__manager_id", "pipeline_id", "stage_id", "n")
        .order_by()
    )


def _occupied(held: list[tuple]) -> dict[tuple[int, int], dict[int, int]]:
    """(owner, pipeline) → {stage: open deals} for the stages holding at least one of the owner's open deals."""
    occupied = defaultdict(dict)
    for owner_id, _team_id, _manager_id, pipeline_id, stage_id, n in held:
        occupied[owner_id, pipeline_id][stage_id] = n
    return occupied


def _team_occupied(held: list[tuple]) -> dict[tuple[int, int, int], dict[int, int]]:
    """(team, manager, pipeline) → {stage: open deals} of its members, for the managed teams whose funnel in
    that pipeline holds deals of at least TEAM_MIN_MEMBERS members."""
    occupied, members = defaultdict(lambda: defaultdict(int)), defaultdict(set)
    for owner_id, team_id, manager_id, pipeline_id, stage_id, n in held:
        if manager_id is not None:
            occupied[team_id, manager_id, pipeline_id][stage_id] += n
            members[team_id, manager_id, pipeline_id].add(owner_id)
    return {funnel: stages for funnel, stages in occupied.items() if len(members[funnel]) >= TEAM_MIN_MEMBERS}


def _gaps(ordered: list[int], held: dict[int, int]) -> list[int]:
    """The empty stages of `ordered` with a held stage before and after them."""
    filled = [i for i, stage_id in enumerate(ordered) if stage_id in held]
    if len(filled) < 2:
        return []
    return [stage_id for stage_id in ordered[filled[0] + 1 : filled[-1]] if stage_id not in held]


def gap_findings(now: datetime | None = None, scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Per rep and per team funnel: each empty open stage with open deals in a stage before it and after it.

    Two queries: the stages, then the held stages grouped by owner (teams are read off the same rows).
    """
    stages, held = _open_stages_by_pipeline(), _held_stages(scope)
    found = []
    for (owner_id, pipeline_id), occupied in _occupied(held).items():
        ordered = stages.get(pipeline_id, [])
        for stage_id in _gaps(ordered, occupied):
            key = f"rep:{owner_id}:stage:{stage_id}"
            details = _around(ordered, occupied, stage_id)
            found.append(finding(AlertKind.GAP, key, rep_id=owner_id, stage_id=stage_id, details=details))
    for (team_id, manager_id, pipeline_id), occupied in _team_occupied(held).items():
        ordered = stages.get(pipeline_id, [])
        for stage_id in _gaps(ordered, occupied):
            key = f"team:{team_id}:stage:{stage_id}"
            found.append(finding(AlertKind.GAP, key, rep_id=manager_id, team_id=team_id, stage_id=stage_id,
                                 details=_around(ordered, occupied, stage_id)))  # fmt: skip
    return found


def _around(ordered: list[int], held: dict[int, int], stage_id: int) -> dict:
    """A gap's numbers: the open deals in the stages before it and after it."""
    index = ordered.index(stage_id)
    return {"before": sum(held.get(pk, 0) for pk in ordered[:index]),
            "after": sum(held.get(pk, 0) for pk in ordered[index + 1 :])}  # fmt: skip


def empty_cup_findings(now: datetime, scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Per active rep with open deals in a pipeline: none of them in its first open stage; and too little inflow."""
    return _first_stage_empty(scope) + inflow_findings(now, scope)


def inflow_findings(now: datetime, scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Per active rep and active pipeline in which the rep has open deals: fewer new deals than the
    pipeline's inflow_minimum over its last inflow_weeks weeks (a minimum of 0 turns the check off).

    Two queries: the pipelines' windows, then one GROUP BY (rep, pipeline) counting each in its own window.
    """
    windows = list(Pipeline.objects.filter(is_active=True, inflow_minimum__gt=0).values_list("pk", "inflow_weeks"))
    if not windows:
        return []
    recent = Q(pk__in=[])
    for pipeline_id, weeks in windows:
        recent |= Q(pipeline_id=pipeline_id, created_at__gte=now - timedelta(weeks=weeks))
    deals = Opportunity.objects.all() if scope is None else scope
    rows = (
        deals.filter(owner__is_active=True, pipeline_id__in=[pk for pk, _weeks in windows])
        .values_list("owner_id", "pipeline_id", "pipeline__inflow_minimum")
        .annotate(
            open=Count("pk", filter=Q(status=StageKind.OPEN)),
            new=Count("pk", filter=recent & Q(created_at__lte=now)),
        )
        .filter(open__gt=0, new__lt=F("pipeline__inflow_minimum"))
        .values_list("owner_id", "pipeline_id", "new", "pipeline__inflow_minimum", "pipeline__inflow_weeks")
        .order_by()
    )
    return [
        finding(AlertKind.EMPTY_CUP, f"rep:{owner_id}:pipeline:{pipeline_id}:inflow", rep_id=owner_id,
                pipeline_id=pipeline_id, details={"new": new, "minimum": minimum, "weeks": weeks})
        for owner_id, pipeline_id, new, minimum, weeks in rows
    ]  # fmt: skip


def _first_stage_empty(scope: QuerySet[Opportunity] | None) -> list[dict]:
    stages, found = _open_stages_by_pipeline(), []
    for (owner_id, pipeline_id), held in _occupied(_held_stages(scope)).items():
        ordered = stages.get(pipeline_id)
        if ordered and ordered[0] not in held:
            stage_id, details = ordered[0], {"open": sum(held.values())}
            found.append(
                finding(AlertKind.EMPTY_CUP, f"rep:{owner_id}:stage:{stage_id}", rep_id=owner_id, stage_id=stage_id,
                        details=details)
            )  # fmt: skip
    return found


def blockage_findings(now: datetime, scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Per rep and stage, and per team funnel and stage: at least the pipeline's blockage_min_deals open
    deals, of which at least blockage_share % are stalled.

    Three queries: the stages for the stalled rule, one GROUP BY per owner and stage joined to the
    pipeline's thresholds, and the owners' teams; a team's piles are its active members' rows added up.
    """
    rows = list(
        _open_deals(scope)
        .values_list("owner_id", "stage_id", *THRESHOLDS)
        .annotate(n=Count("pk"), stalled=Count("pk", filter=stalled_condition(now)))
        .order_by()
    )
    teams = {
        pk: (team_id, manager_id)
        for pk, team_id, manager_id in User.objects.filter(is_active=True, team__manager__isnull=False).values_list(
            "pk", "team_id", "team__manager_id"
        )
    }
    return _rep_blockages(rows) + _team_blockages(rows, teams)


THRESHOLDS = ("pipeline__blockage_share", "pipeline__blockage_min_deals")


def _blocked(share: int, minimum: int, n: int, n_stalled: int) -> bool:
    return n >= minimum and n_stalled * 100 >= share * n


def _pile(n: int, n_stalled: int, share: int) -> dict:
    """A blockage's numbers: the stage's open deals, how many are stalled, and the pipeline's threshold (%)."""
    return {"open": n, "stalled": n_stalled, "threshold": share}


def _rep_blockages(rows: list[tuple]) -> list[dict]:
    return [
        finding(AlertKind.BLOCKAGE, f"rep:{owner_id}:stage:{stage_id}", rep_id=owner_id, stage_id=stage_id,
                severity=AlertSeverity.CRITICAL, details=_pile(n, n_stalled, share))
        for owner_id, stage_id, share, minimum, n, n_stalled in rows
        if _blocked(share, minimum, n, n_stalled)
    ]  # fmt: skip


def _team_blockages(rows: list[tuple], teams: dict[int, tuple[int, int]]) -> list[dict]:
    """The rows of active members of managed teams, added up per team and stage (TEAM_MIN_MEMBERS or more)."""
    piles, members = defaultdict(lambda: [0, 0]), defaultdict(set)
    thresholds = {}
    for owner_id, stage_id, share, minimum, n, n_stalled in rows:
        if owner_id in teams:
            funnel = (*teams[owner_id], stage_id)
            piles[funnel][0] += n
            piles[funnel][1] += n_stalled
            members[funnel].add(owner_id)
            thresholds[funnel] = (share, minimum)
    return [
        finding(AlertKind.BLOCKAGE, f"team:{team_id}:stage:{stage_id}", rep_id=manager_id, team_id=team_id,
                stage_id=stage_id, severity=AlertSeverity.CRITICAL,
                details=_pile(n, n_stalled, thresholds[team_id, manager_id, stage_id][0]))
        for (team_id, manager_id, stage_id), (n, n_stalled) in piles.items()
        if len(members[team_id, manager_id, stage_id]) >= TEAM_MIN_MEMBERS
        and _blocked(*thresholds[team_id, manager_id, stage_id], n, n_stalled)
    ]  # fmt: skip


def forecast_risk_findings(now: datetime, scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Per team target whose period holds today, judged by `target_forecasts`: a target at risk alerts its
    team's manager.

    Three queries however many teams: the targets, then the won and the weighted amounts grouped by target.
    "Today" and the period's days are in the site's time zone.
    """
    today = timezone.localdate(now)
    targets = list(
        Target.objects.filter(period_start__lte=today, period_end__gte=today, team__manager__isnull=False)
        .select_related("team")
        .order_by()
    )
    return [
        finding(AlertKind.FORECAST_RISK, f"team:{row['target'].team_id}:target:{row['target'].pk}",
                rep_id=row["target"].team.manager_id, severity=row["severity"], team_id=row["target"].team_id,
                details=_forecast_numbers(row))
        for row in target_forecasts(targets, scope)
        if row["severity"] is not None
    ]  # fmt: skip  # the key names the target: two targets of a team may start the same day


def _forecast_numbers(row: dict) -> dict:
    """A forecast alert's numbers, as text (JSON has no decimals): the target, its period, what is won, left and
    weighted to its end, and the coverage."""
    target = row["target"]
    numbers = {"target": target.amount, "won": row["won"], "remaining": row["remaining"], "weighted": row["weighted"]}
    return {
        **{name: str(value) for name, value in numbers.items()},
        "start": target.period_start.isoformat(),
        "end": target.period_end.isoformat(),
        "coverage": None if row["coverage"] is None else str(row["coverage"]),
    }


def target_forecasts(targets: list[Target], scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Each target as the forecast alert judges it, for the dashboard to show what the alert sees: what its
    team's members won within its period, the weighted amount of their open deals expected to close within
    it (looking forward to its last day, in every pipeline), what is left to win, coverage (weighted ÷ left)
    and the alert's severity: None unless the weighted forecast falls short of what is left (critical under
    half of it). Two grouped queries however many targets."""
    if not targets:
        return []
    rows = [(target.pk, target.team_id, None, target.period_start, target.period_end) for target in targets]
    won, weighted = _won_by_target(rows, scope), _weighted_by_target(rows, scope)
    forecasts = []
    for target in targets:
        won_amount, pipeline = won.get(target.pk) or Decimal(0), weighted.get(target.pk) or Decimal(0)
        remaining = target.amount - won_amount
        severity = None
        if remaining > 0 and pipeline < remaining:
            severity = AlertSeverity.CRITICAL if pipeline < remaining / 2 else AlertSeverity.WARNING
        forecasts.append({
            "target": target, "won": won_amount, "weighted": pipeline, "remaining": remaining,
            "coverage": (pipeline / remaining).quantize(Decimal("0.01")) if remaining > 0 else None,
            "severity": severity,
        })  # fmt: skip
    return forecasts


def _by_target(targets: list[tuple], scope: QuerySet[Opportunity] | None, figure, **lookups) -> dict:
    """Target → `figure` summed over its team's members' deals matching `lookups`, in one GROUP BY.

    The lookups go in the same filter() as the targets', so their F()s name the same joined target row
    (a second filter() call would join the team's targets afresh).
    """
    deals = Opportunity.objects.all() if scope is None else scope
    target = "owner__team__targets"
    rows = (
        deals.filter(**{f"{target}__in": [row[0] for row in targets]}, **lookups)
        .values_list(target)
        .annotate(figure=Sum(figure))
        .order_by()
    )
    return dict(rows)


def _won_by_target(targets: list[tuple], scope: QuerySet[Opportunity] | None) -> dict:
    """Target → what its team's members won within its period (closed_at on one of its days)."""
    earliest = min(row[3] for row in targets)
    return _by_target(
        targets,
        scope,
        "amount",
        status=StageKind.WON,
        closed_at__gte=period_bounds(earliest, earliest)[0],  # so the database can walk the closed_at index
        closed_at__date__gte=F("owner__team__targets__period_start"),
        closed_at__date__lte=F("owner__team__targets__period_end"),
    )


def _weighted_by_target(targets: list[tuple], scope: QuerySet[Opportunity] | None) -> dict:
    """Target → weighted amount of its team's open deals expected to close within its period."""
    return _by_target(
        targets,
        scope,
        WEIGHTED_AMOUNT,
        status=StageKind.OPEN,
        expected_close_date__range=(min(row[3] for row in targets), max(row[4] for row in targets)),  # the index
        expected_close_date__gte=F("owner__team__targets__period_start"),
        expected_close_date__lte=F("owner__team__targets__period_end"),
    )
