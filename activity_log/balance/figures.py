"""Load balance (负载均衡): who holds how much of a team's funnel, and plain suggestions where one rep is overloaded
and another has room.

Each column family is one grouped query over the team's reps, however many reps and deals: the open deals
(count, weighted amount, stalled), the activities of the last four weeks (by the day of the rep's log), the
quotas in force and their attainment (funnel.planning.attainment), and the customers (how many, how many without
a contact in QUIET_DAYS). Who is in the team is decided once, by the view (balance.views.balance_teams).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.wording import join_list
from funnel.insights.metrics import WEIGHTED_AMOUNT, ZERO
from funnel.models import Account, Opportunity, StageKind
from funnel.models.opportunities import stalled_condition
from funnel.planning.attainment import quota_forecasts
from reps.models import User
from reps.quotas import in_force

from ..models import Activity
from ..services import local_today

WEEKS = 4
QUIET_DAYS = 30
OVERLOADED = Decimal("1.5")  # × an equal share of the team's weighted pipeline or of its stalled deals
ROOM = Decimal("0.5")  # × an equal share of the weighted pipeline


@dataclass
class RepLoad:
    rep: User
    open_count: int = 0
    weighted: Decimal = Decimal(0)
    stalled: int = 0
    weeks: list[int] = field(default_factory=lambda: [0] * WEEKS)  # activities per week, oldest first
    quota: Decimal | None = None
    attainment: Decimal | None = None
    customers: int = 0
    quiet: int = 0  # customers without a contact in QUIET_DAYS
    weighted_share: Decimal | None = None  # of the team's, 0–1
    stalled_share_of_team: Decimal | None = None
    overloaded: bool = False
    room: bool = False

    @property
    def per_week(self) -> Decimal:
        return (Decimal(sum(self.weeks)) / WEEKS).quantize(Decimal("0.1"))

    @property
    def weighted_percent(self) -> str | None:
        return None if self.weighted_share is None else _percent(self.weighted_share)

    @property
    def stalled_team_percent(self) -> str | None:
        return None if self.stalled_share_of_team is None else _percent(self.stalled_share_of_team)

    @property
    def stalled_share(self) -> Decimal | None:
        """The share of the rep's own open deals that are stalled, in per cent."""
        return (Decimal(100) * self.stalled / self.open_count).quantize(Decimal("1")) if self.open_count else None


def rep_loads(reps: list[User], now: datetime) -> list[RepLoad]:
    """One row per rep, in the order given, and each rep's shares of the team's weighted pipeline and stalled
    deals. Seven queries for any number of reps."""
    rows = {rep.pk: RepLoad(rep) for rep in reps}
    if not rows:
        return []
    _deals(rows, now)
    _activities(rows)
    _quotas(rows, reps)
    _customers(rows, now)
    _shares(list(rows.values()))
    return list(rows.values())


def _deals(rows: dict[int, RepLoad], now: datetime) -> None:
    found = (
        Opportunity.objects.filter(owner__in=list(rows), status=StageKind.OPEN)
        .values("owner")
        .annotate(
            n=Count("*"),
            weighted=Coalesce(Sum(WEIGHTED_AMOUNT), ZERO),
            stalled=Count("pk", filter=stalled_condition(now)),
        )  # fmt: skip
        .order_by()
    )
    for row in found:
        load = rows[row["owner"]]
        load.open_count, load.weighted, load.stalled = row["n"], row["weighted"], row["stalled"]


def _activities(rows: dict[int, RepLoad]) -> None:
    """The activities of each rep's last WEEKS × 7 days (their own days: the log's), per week, oldest first."""
    todays = {pk: local_today(load.rep) for pk, load in rows.items()}
    first = min(todays.values()) - timedelta(days=WEEKS * 7 - 1)
    found = (
        Activity.objects.filter(
            daily_log__rep__in=list(rows), daily_log__date__gte=first, daily_log__date__lte=max(todays.values())
        )  # fmt: skip
        .values_list("daily_log__rep", "daily_log__date")
        .annotate(n=Count("*"))
        .order_by()
    )
    for rep, day, count in found:
        weeks_ago = (todays[rep] - day).days // 7
        if 0 <= weeks_ago < WEEKS:
            rows[rep].weeks[WEEKS - 1 - weeks_ago] += count


def _quotas(rows: dict[int, RepLoad], reps: list[User]) -> None:
    """The quota in force today (the longest: a quarter's before a month's) and its attainment."""
    today = max(local_today(rep) for rep in reps)
    quotas = [quota for found in in_force(list(rows), today).values() for quota in found]
    longest: dict[int, dict] = {}
    for row in quota_forecasts(quotas):
        kept = longest.get(row["quota"].user_id)
        if kept is None or _length(row["quota"]) > _length(kept["quota"]):
            longest[row["quota"].user_id] = row
    for pk, row in longest.items():
        rows[pk].quota, rows[pk].attainment = row["quota"].amount, row["attainment"]


def _length(quota) -> timedelta:
    return quota.period_end - quota.period_start


def _customers(rows: dict[int, RepLoad], now: datetime) -> None:
    quiet = Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=now - timedelta(days=QUIET_DAYS))
    found = (
        Account.objects.filter(owner__in=list(rows))
        .values("owner")
        .annotate(n=Count("*"), quiet=Count("pk", filter=quiet))
        .order_by()
    )
    for row in found:
        rows[row["owner"]].customers, rows[row["owner"]].quiet = row["n"], row["quiet"]


def _shares(loads: list[RepLoad]) -> None:
    weighted = sum((load.weighted for load in loads), Decimal(0))
    stalled = sum(load.stalled for load in loads)
    for load in loads:
        load.weighted_share = load.weighted / weighted if weighted else None
        load.stalled_share_of_team = Decimal(load.stalled) / stalled if stalled else None
    if len(loads) > 1:
        for load in loads:
            load.overloaded = any(overloaded_by(load, len(loads)))
            load.room = has_room(load, len(loads)) and not load.overloaded


# --- suggestions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    text: str
    overloaded: User
    room: User | None  # the rep with the most room, offered as the receiver


def _percent(share: Decimal) -> str:
    return str((Decimal(share) * 100).quantize(Decimal("1")))


def overloaded_by(load: RepLoad, reps: int) -> tuple[bool, bool]:
    """(weighted, stalled): whether the rep holds more than OVERLOADED × an equal share of each."""
    equal = Decimal(1) / reps
    heavy = load.weighted_share is not None and load.weighted_share > OVERLOADED * equal
    stalled = load.stalled_share_of_team is not None and load.stalled_share_of_team > OVERLOADED * equal
    return heavy, stalled


def has_room(load: RepLoad, reps: int) -> bool:
    """Less than ROOM × an equal share of the team's weighted pipeline (none at all counts too)."""
    return load.weighted_share is not None and load.weighted_share < ROOM * Decimal(1) / reps


def suggestions(loads: list[RepLoad]) -> list[Suggestion]:
    """One sentence per overloaded rep, naming what they hold and who has room: "Li Fang holds 38% of the
    team's weighted pipeline and 61% of its stalled deals; Wang Jun has room." Nothing for a team of one."""
    if len(loads) < 2:
        return []
    roomy = sorted((load for load in loads if load.room), key=lambda load: load.weighted)
    found = []
    for load in sorted(loads, key=lambda load: -load.weighted):
        heavy, stalled = overloaded_by(load, len(loads))
        if not (heavy or stalled):
            continue
        words = {"rep": load.rep, "pipeline": load.weighted_percent, "stalled": load.stalled_team_percent}
        if heavy and stalled:
            holds = _("%(rep)s holds %(pipeline)s%% of the team's weighted pipeline and %(stalled)s%% of its "
                      "stalled deals") % words  # fmt: skip
        elif heavy:
            holds = _("%(rep)s holds %(pipeline)s%% of the team's weighted pipeline") % words
        else:
            holds = _("%(rep)s holds %(stalled)s%% of the team's stalled deals") % words
        others = [other for other in roomy if other.rep.pk != load.rep.pk]
        if others:
            room = ngettext("%(reps)s has room", "%(reps)s have room", len(others)) % {
                "reps": join_list(other.rep for other in others)
            }
            text = _("%(load)s; %(room)s.") % {"load": holds, "room": room}
        else:
            text = _("%(load)s, and nobody in the team has room.") % {"load": holds}
        found.append(Suggestion(text, load.rep, others[0].rep if others else None))
    return found
