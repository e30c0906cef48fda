"""Quota attainment: what each person won in a period (won amount closed on one of its days), and each
quota in force judged as the forecast alert judges a team target: won so far, the weighted amount of the
person's open deals expected to close by the quota's last day, what is left and the coverage.

Every figure is a database aggregate: one GROUP BY per question, however many people and periods.
"""

from datetime import date
from decimal import Decimal

from django.db.models import F, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from reps.models import Quota, Team, User
from reps.quotas import in_force

from ..insights.metrics import WEIGHTED_AMOUNT, period_bounds
from ..models import Opportunity, StageKind, Target

ZERO = Decimal(0)


def won_by_month(people_ids, start: date, end: date) -> dict[tuple[int, date], Decimal]:
    """(person id, first day of the month) → won amount closed in that month, in the current time zone,
    for the months from `start` to `end`."""
    begin, stop = period_bounds(start, end)
    rows = (
        Opportunity.objects.filter(owner__in=people_ids, status=StageKind.WON, closed_at__gte=begin, closed_at__lt=stop)
        .annotate(month=TruncMonth("closed_at", tzinfo=timezone.get_current_timezone()))
        .values_list("owner_id", "month")
        .annotate(won=Sum("amount"))
        .order_by()
    )
    return {(owner, _as_date(month)): won for owner, month, won in rows}


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") else value


def won_in_periods(people_ids, periods: list[tuple[date, date]]) -> dict[tuple[int, date], Decimal]:
    """(person id, period start) → won amount closed within that period; periods are whole months or
    quarters (one query for all of them)."""
    if not periods:
        return {}
    by_month = won_by_month(people_ids, min(start for start, _ in periods), max(end for _, end in periods))
    won: dict[tuple[int, date], Decimal] = {}
    for (person, month), amount in by_month.items():
        for start, end in periods:
            if start <= month <= end:
                won[person, start] = won.get((person, start), ZERO) + amount
    return won


def attainment(won: Decimal, quota: Decimal | None) -> Decimal | None:
    """Won as a percentage of the quota, one decimal; None without a quota above zero."""
    if not quota:
        return None
    return (Decimal(100) * won / quota).quantize(Decimal("0.1"))


def _by_quota(quotas: list[Quota], figure, deals=None, **lookups) -> dict[int, Decimal]:
    """Quota id → `figure` summed over its person's deals (among `deals`, default all) matching `lookups`, in one
    GROUP BY (the lookups and the quotas in one filter(), so their F()s name the same joined quota row)."""
    if not quotas:
        return {}
    rows = (
        (Opportunity.objects.all() if deals is None else deals)
        .filter(owner__quotas__in=[quota.pk for quota in quotas], **lookups)
        .values_list("owner__quotas")
        .annotate(figure=Sum(figure))
        .order_by()
    )
    return dict(rows)


def quota_forecasts(quotas: list[Quota], deals=None) -> list[dict]:
    """Each quota with what its person won within its period so far, the weighted amount of their open deals
    (every pipeline; among `deals`, default all) expected to close within it, what is left, coverage (weighted ÷
    left) and attainment. "at_risk" when the weighted forecast falls short of what is left (as the team target's
    forecast alert; the health scan's "quota at risk" has its own threshold, funnel.planning.reverse)."""
    if not quotas:
        return []
    earliest = min(quota.period_start for quota in quotas)
    won = _by_quota(
        quotas,
        "amount",
        deals,
        status=StageKind.WON,
        closed_at__gte=period_bounds(earliest, earliest)[0],
        closed_at__date__gte=F("owner__quotas__period_start"),
        closed_at__date__lte=F("owner__quotas__period_end"),
    )
    weighted = _by_quota(
        quotas,
        WEIGHTED_AMOUNT,
        deals,
        status=StageKind.OPEN,
        expected_close_date__range=(earliest, max(quota.period_end for quota in quotas)),
        expected_close_date__gte=F("owner__quotas__period_start"),
        expected_close_date__lte=F("owner__quotas__period_end"),
    )
    rows = []
    for quota in quotas:
        won_amount, pipeline = won.get(quota.pk) or ZERO, weighted.get(quota.pk) or ZERO
        remaining = quota.amount - won_amount
        rows.append({
            "quota": quota, "won": won_amount, "weighted": pipeline, "remaining": remaining,
            "coverage": (pipeline / remaining).quantize(Decimal("0.01")) if remaining > 0 else None,
            "attainment": attainment(won_amount, quota.amount),
            "at_risk": remaining > 0 and pipeline < remaining,
        })  # fmt: skip
    return rows


def forecast_vs_quota(people, day: date) -> list[dict]:
    """The quotas in force on `day` of `people` (a queryset or ids), judged (quota_forecasts), people by name,
    a person's month before their quarter."""
    quotas = [quota for found in in_force(people, day).values() for quota in found]
    users = User.objects.in_bulk({quota.user_id for quota in quotas})
    for quota in quotas:
        quota.user = users[quota.user_id]
    rows = quota_forecasts(quotas)
    return sorted(rows, key=lambda row: (str(row["quota"].user), row["quota"].period_end))


def team_splits(rows: list[dict]) -> list[dict]:
    """Per team and period among the quota rows: the sum of its members' quotas beside the team's own target
    for exactly that period (if one is set), what they won and forecast, and whether the quotas add up to the
    target ("sums": True, False, or None without a target)."""
    groups: dict[tuple[int, date, date], dict] = {}
    for row in rows:
        quota = row["quota"]
        if quota.user.team_id is None:
            continue
        key = (quota.user.team_id, quota.period_start, quota.period_end)
        group = groups.setdefault(key, {"quotas": ZERO, "won": ZERO, "weighted": ZERO, "people": 0})
        group["quotas"] += quota.amount
        group["won"] += row["won"]
        group["weighted"] += row["weighted"]
        group["people"] += 1
    if not groups:
        return []
    team_names = dict(Team.objects.filter(pk__in={key[0] for key in groups}).values_list("pk", "name"))
    targets = {
        (target.team_id, target.period_start, target.period_end): target.amount
        for target in Target.objects.filter(team__in=team_names, period_start__in={key[1] for key in groups})
    }
    splits = []
    for (team_id, start, end), group in sorted(groups.items(), key=lambda item: (team_names[item[0][0]], item[0][1])):
        target = targets.get((team_id, start, end))
        remaining = group["quotas"] - group["won"]
        splits.append({
            "team": team_names[team_id], "team_id": team_id, "start": start, "end": end, **group,
            "target": target, "difference": None if target is None else group["quotas"] - target,
            "sums": None if target is None else group["quotas"] == target,
            "remaining": remaining, "attainment": attainment(group["won"], group["quotas"]),
            "coverage": (group["weighted"] / remaining).quantize(Decimal("0.01")) if remaining > 0 else None,
        })  # fmt: skip
    return splits
