"""Funnel-health diagnoses (DESIGN.md, "Diagnoses"): scope and "now" in, findings out, nothing written.

Each diagnosis costs a fixed number of grouped queries, however many opportunities there are; the
grouped results (one row per rep and stage) are small enough to read in Python. A finding is a dict
whose `key` names its kind and subject: alert_services.alerts_sync turns findings into alerts.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from .metrics import WEIGHTED_AMOUNT, period_bounds
from .models import AlertKind, AlertSeverity, Opportunity, Stage, StageKind, Target

BLOCKAGE_SHARE = 0.5  # a stage is blocked when at least this share of its deals are stalled…
BLOCKAGE_MIN_DEALS = 3  # …and it holds at least this many deals (two stalled deals are not a pile-up)
INFLOW_WEEKS = 4  # a cup is also empty when fewer than INFLOW_MINIMUM new deals came in over these weeks
INFLOW_MINIMUM = 1


def finding(kind: str, key: str, *, rep_id: int, severity: str = AlertSeverity.WARNING, **subject) -> dict:
    """A finding: its dedupe key, kind, severity, rep and subject (opportunity_id, stage_id, day, team_id)."""
    return {
        "key": f"{kind}:{key}",
        "kind": kind,
        "severity": severity,
        "rep_id": rep_id,
        "opportunity_id": subject.get("opportunity_id"),
        "stage_id": subject.get("stage_id"),
        "day": subject.get("day"),
        "team_id": subject.get("team_id"),
    }


def _open_deals(scope: QuerySet[Opportunity] | None) -> QuerySet[Opportunity]:
    return (Opportunity.objects.all() if scope is None else scope).open()


def stalled(now: datetime, scope: QuerySet[Opportunity] | None = None) -> QuerySet[Opportunity]:
    """Open deals idle past their stage's stall_days (OpportunityQuerySet.stalled), or whose next step is overdue.

    A next step is overdue once its date is over in every time zone: before yesterday in UTC, so a
    rep ahead of UTC is never flagged early (the flag may come up to a day late).
    """
    return _open_deals(scope).filter(stalled_condition(now))


def stalled_condition(now: datetime) -> Q:
    """`stalled` as a condition, so an aggregate can count stalled deals without a subquery."""
    overdue = Q(status=StageKind.OPEN) & Q(next_step_date__lt=(now - timedelta(days=1)).date())
    return Opportunity.objects.stalled_condition(now) | overdue


def stalled_findings(now: datetime, scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Every stalled open deal (see `stalled`)."""
    rows = stalled(now, scope).values_list("pk", "owner_id", "stage_id")
    return [
        finding(AlertKind.STALLED, f"opp:{pk}", rep_id=owner_id, opportunity_id=pk, stage_id=stage_id)
        for pk, owner_id, stage_id in rows.iterator()
    ]


def _open_stages_by_pipeline() -> dict[int, list[int]]:
    """The ids of each pipeline's open, unarchived stages, in funnel order."""
    stages = defaultdict(list)
    rows = Stage.objects.filter(kind=StageKind.OPEN, is_archived=False, pipeline__is_active=True)
    for pk, pipeline_id in rows.order_by("pipeline", "order", "pk").values_list("pk", "pipeline_id"):
        stages[pipeline_id].append(pk)
    return stages


def _occupied(scope: QuerySet[Opportunity] | None) -> dict[tuple[int, int], set[int]]:
    """(owner, pipeline) → the stages holding at least one of the owner's open deals: one GROUP BY."""
    rows = (
        _open_deals(scope)
        .filter(owner__is_active=True)
        .values_list("owner_id", "pipeline_id", "stage_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    occupied = defaultdict(set)
    for owner_id, pipeline_id, stage_id, _n in rows:
        occupied[owner_id, pipeline_id].add(stage_id)
    return occupied


def gap_findings(now: datetime | None = None, scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Per rep: each empty open stage with one of the rep's open deals in a stage before it and after it."""
    stages, found = _open_stages_by_pipeline(), []
    for (owner_id, pipeline_id), held in _occupied(scope).items():
        ordered = stages.get(pipeline_id, [])
        filled = [i for i, stage_id in enumerate(ordered) if stage_id in held]
        if len(filled) < 2:
            continue
        for stage_id in ordered[filled[0] + 1 : filled[-1]]:
            if stage_id not in held:
                found.append(
                    finding(AlertKind.GAP, f"rep:{owner_id}:stage:{stage_id}", rep_id=owner_id, stage_id=stage_id)
                )
    return found


def empty_cup_findings(now: datetime, scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Per active rep with open deals in a pipeline: none of them in its first open stage; and too little inflow."""
    return _first_stage_empty(scope) + inflow_findings(now, scope)


def inflow_findings(
    now: datetime,
    scope: QuerySet[Opportunity] | None = None,
    *,
    weeks: int = INFLOW_WEEKS,
    minimum: int = INFLOW_MINIMUM,
) -> list[dict]:
    """Per active rep with open deals: fewer than `minimum` new deals over the last `weeks` weeks. One query."""
    deals = Opportunity.objects.all() if scope is None else scope
    reps = deals.open().filter(owner__is_active=True).values("owner_id")
    since = now - timedelta(weeks=weeks)
    rows = (
        deals.filter(owner_id__in=reps)
        .values_list("owner_id")
        .annotate(new=Count("pk", filter=Q(created_at__gte=since, created_at__lte=now)))
        .filter(new__lt=minimum)
        .order_by()
    )
    return [finding(AlertKind.EMPTY_CUP, f"rep:{owner_id}:inflow", rep_id=owner_id) for owner_id, _new in rows]


def _first_stage_empty(scope: QuerySet[Opportunity] | None) -> list[dict]:
    stages, found = _open_stages_by_pipeline(), []
    for (owner_id, pipeline_id), held in _occupied(scope).items():
        ordered = stages.get(pipeline_id)
        if ordered and ordered[0] not in held:
            stage_id = ordered[0]
            found.append(
                finding(AlertKind.EMPTY_CUP, f"rep:{owner_id}:stage:{stage_id}", rep_id=owner_id, stage_id=stage_id)
            )
    return found


def blockage_findings(
    now: datetime,
    scope: QuerySet[Opportunity] | None = None,
    *,
    share: float = BLOCKAGE_SHARE,
    min_deals: int = BLOCKAGE_MIN_DEALS,
) -> list[dict]:
    """Per rep and stage: at least `min_deals` open deals, of which at least `share` are stalled."""
    rows = (
        _open_deals(scope)
        .values_list("owner_id", "stage_id")
        .annotate(n=Count("pk"), stalled=Count("pk", filter=stalled_condition(now)))
        .filter(n__gte=min_deals)
        .order_by()
    )
    return [
        finding(
            AlertKind.BLOCKAGE,
            f"rep:{owner_id}:stage:{stage_id}",
            rep_id=owner_id,
            stage_id=stage_id,
            severity=AlertSeverity.CRITICAL,
        )
        for owner_id, stage_id, n, n_stalled in rows
        if n_stalled >= share * n
    ]


def forecast_risk_findings(now: datetime, scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Per team target whose period holds today: the weighted open deals expected to close in the period
    fall short of what is left to win (critical under half of it). The team's manager gets the alert.

    Three queries however many teams: the targets, then the won and the weighted amounts grouped by target.
    "Today" and the period's days are in the site's time zone, as on the dashboard.
    """
    today = timezone.localdate(now)
    targets = list(
        Target.objects.filter(period_start__lte=today, period_end__gte=today, team__manager__isnull=False)
        .values_list("pk", "team_id", "team__manager_id", "period_start", "period_end", "amount")
        .order_by()
    )
    if not targets:
        return []
    won, weighted = _won_by_target(targets, scope), _weighted_by_target(targets, scope)
    found = []
    for pk, team_id, manager_id, start, _end, amount in targets:
        remaining = amount - won.get(pk, 0)
        pipeline = weighted.get(pk, 0)
        if remaining > 0 and pipeline < remaining:
            severity = AlertSeverity.CRITICAL if pipeline < remaining / 2 else AlertSeverity.WARNING
            key = f"team:{team_id}:{start:%Y-%m-%d}"
            found.append(finding(AlertKind.FORECAST_RISK, key, rep_id=manager_id, severity=severity, team_id=team_id))
    return found


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
