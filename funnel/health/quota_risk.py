"""The "quota at risk" diagnosis (issue 14), beside funnel.health.diagnoses: a quota in force today whose person's
open weighted pipeline expected to close by its last day covers less than HealthSettings.quota_risk_percent of what
is left to win (funnel.planning.reverse.quota_at_risk, the rule the reverse-funnel page shows).

A rep's finding is theirs (their manager sees it, as every alert of their people); a team's, its members' quotas of
one period added up, goes to its manager with `team` set, as the forecast alert does, when at least
TEAM_MIN_MEMBERS members have a quota for that period. Four queries however many people: the threshold, the
quotas in force with their people's teams, and the won and weighted amounts grouped by quota.
"""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from reps.models import Quota

from ..models import AlertKind, AlertSeverity, HealthSettings, Opportunity
from ..planning.attainment import quota_forecasts
from ..planning.reverse import coverage_percent, quota_at_risk
from .diagnoses import TEAM_MIN_MEMBERS, finding

CENTS = Decimal("0.01")  # amounts kept as text with two decimals, whatever the database returns


def quota_risk_findings(now: datetime, scope: QuerySet[Opportunity] | None = None) -> list[dict]:
    """Per quota in force today (site time) of an active person, and per managed team and period: at risk below the
    threshold (critical below half of it)."""
    threshold = HealthSettings.current().quota_risk_percent
    today = timezone.localdate(now)
    quotas = list(
        Quota.objects.filter(period_start__lte=today, period_end__gte=today, user__is_active=True)
        .select_related("user__team")
        .order_by("pk")
    )
    rows = quota_forecasts(quotas, scope)
    found = [_rep_finding(row, threshold) for row in rows if _at_risk(row, threshold)]
    return found + _team_findings(rows, threshold)


def _at_risk(row: dict, threshold: int) -> bool:
    return quota_at_risk(row["remaining"], row["weighted"], threshold)


def _severity(remaining: Decimal, weighted: Decimal, threshold: int) -> str:
    return (
        AlertSeverity.CRITICAL if quota_at_risk(remaining, weighted, Decimal(threshold) / 2) else AlertSeverity.WARNING
    )


def numbers(*, quota: Decimal, won: Decimal, weighted: Decimal, start, end, threshold: int, **more) -> dict:
    """An alert's numbers as plain JSON (amounts as text): the quota, won, left and weighted to its end, the period,
    the coverage (whole percent, rounded down) and the threshold it fell below."""
    remaining = quota - won
    values = {"quota": quota, "won": won, "remaining": remaining, "weighted": weighted}
    return {
        **{name: str(Decimal(value).quantize(CENTS)) for name, value in values.items()},
        "start": start.isoformat(),
        "end": end.isoformat(),
        "coverage": coverage_percent(remaining, weighted),
        "threshold": threshold,
        **more,
    }


def _rep_finding(row: dict, threshold: int) -> dict:
    quota = row["quota"]
    details = numbers(quota=quota.amount, won=row["won"], weighted=row["weighted"], start=quota.period_start,
                      end=quota.period_end, threshold=threshold)  # fmt: skip
    return finding(AlertKind.QUOTA_RISK, f"rep:{quota.user_id}:quota:{quota.pk}", rep_id=quota.user_id,
                   severity=_severity(row["remaining"], row["weighted"], threshold), details=details)  # fmt: skip


def _team_findings(rows: list[dict], threshold: int) -> list[dict]:
    """Each managed team's quotas of one period added up; its manager is told when they are at risk."""
    groups = defaultdict(lambda: {"quota": Decimal(0), "won": Decimal(0), "weighted": Decimal(0), "people": 0})
    for row in rows:
        quota, team = row["quota"], row["quota"].user.team
        if team is None or team.manager_id is None:
            continue
        group = groups[team.pk, team.manager_id, quota.period_start, quota.period_end]
        group["quota"] += quota.amount
        group["won"] += row["won"]
        group["weighted"] += row["weighted"]
        group["people"] += 1
    found = []
    for (team_id, manager_id, start, end), group in sorted(groups.items()):
        remaining = group["quota"] - group["won"]
        if group["people"] < TEAM_MIN_MEMBERS or not quota_at_risk(remaining, group["weighted"], threshold):
            continue
        details = numbers(**group, start=start, end=end, threshold=threshold)
        found.append(
            finding(AlertKind.QUOTA_RISK, f"team:{team_id}:quotas:{start.isoformat()}:{end.isoformat()}",
                    rep_id=manager_id, team_id=team_id, details=details,
                    severity=_severity(remaining, group["weighted"], threshold))
        )  # fmt: skip
    return found
