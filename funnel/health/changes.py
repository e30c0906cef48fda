"""What changed since yesterday: the deals a manager should hear about, since the start of the last working day in
the reader's time zone (Monday morning: since Friday). Five kinds, each a bounded list (the ten largest deals) with
its count: open deals that changed stage, deals won, deals lost, had their expected close date moved later
(the field history, funnel.opportunities.services.opportunity_update's audit rows), or went stalled (a stalled alert
first seen). One query per kind, whatever the number of deals; only deals the reader may see.

The dashboard shows it to managers and admins; the daily digest e-mail carries it (funnel.health.digest).
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.db.models import CharField, Count, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reps.models import User

from ..models import Alert, AlertKind, HealthSettings, Opportunity, StageChange, StageKind
from ..opportunities.filters import close_date_slips, moved_since_q, slipped_since_q

SHOWN = 10  # deals listed per kind; the rest are counted and linked
CAP = 500  # deals counted per kind; beyond, the count reads "500+"
KINDS = {
    "moved": _("Moved stage"),
    "won": _("Won"),
    "lost": _("Lost"),
    "slipped": _("Close date moved later"),
    "stalled": _("Went stalled"),
}


@dataclass
class Kind:
    """One kind of change: the deals shown (largest first), how many there are, and where the rest are listed."""

    key: str
    label: str
    rows: list[Opportunity]
    count: int
    url: str = ""
    capped: bool = False  # more than `count` (CAP): the list shows the largest of the first CAP found

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


@dataclass
class Changes:
    since: datetime  # the start of the last working day, in the reader's time zone
    kinds: list[Kind] = field(default_factory=list)

    @property
    def day(self) -> date:
        return self.since.date()

    @property
    def total(self) -> int:
        return sum(kind.count for kind in self.kinds)


def last_working_day(today: date, working_days) -> date:
    """The last working day before `today` (HealthSettings.working_days, 0 is Monday); any day when none is set."""
    days = set(working_days) or set(range(7))
    return next(
        today - timedelta(days=back) for back in range(1, 8) if (today - timedelta(days=back)).weekday() in days
    )


def since_last_working_day(user: User, now: datetime | None = None, working_days=None) -> datetime:
    """00:00 of the last working day before the reader's today, in the reader's time zone."""
    zone = zoneinfo.ZoneInfo(user.time_zone)
    today = timezone.localtime(now or timezone.now(), zone).date()
    days = HealthSettings.current().working_days if working_days is None else working_days
    return timezone.make_aware(datetime.combine(last_working_day(today, days), time.min), zone)


def _first_move_from(since: datetime) -> Subquery:
    first = StageChange.objects.filter(opportunity=OuterRef("pk"), at__gte=since, from_stage__isnull=False).order_by(
        "at", "pk"
    )
    return Subquery(first.values("from_stage__name")[:1])


def _first_slip_from(since: datetime) -> Subquery:
    slips = close_date_slips(since).filter(object_id=Cast(OuterRef("pk"), CharField())).order_by("at", "pk")
    return Subquery(slips.values("old")[:1])


def _kinds(user: User, deals: QuerySet[Opportunity], since: datetime) -> dict[str, tuple[QuerySet[Opportunity], dict]]:
    """Per kind: its deals, and what its lines show beside each (annotations, computed for the shown deals only)."""
    # The reader's own alerts (a rep's, a team's): read through the open alerts' index per rep.
    stalled = Alert.objects.visible_to(user).filter(
        kind=AlertKind.STALLED, resolved_at__isnull=True, first_seen__gte=since
    )
    return {
        "moved": (deals.filter(moved_since_q(since)), {"moved_from": _first_move_from(since)}),
        "won": (deals.filter(status=StageKind.WON, closed_at__gte=since), {}),
        "lost": (deals.filter(status=StageKind.LOST, closed_at__gte=since), {}),
        "slipped": (deals.filter(slipped_since_q(since)), {"slipped_from": _first_slip_from(since)}),
        "stalled": (deals.filter(status=StageKind.OPEN, pk__in=stalled.values("opportunity_id")), {}),
    }


def _largest(matching: QuerySet[Opportunity], annotations: dict) -> list[Opportunity]:
    """The SHOWN largest deals among the first CAP + 1 that match (read in no order, so the read stops there),
    each carrying `total`: how many of those there are (CAP + 1: more than CAP). One query. A first scan stalls
    600,000 deals on one day at 1,000,000: counting and sorting them all took 2.5 s."""
    first = matching.order_by().values("pk")[: CAP + 1]
    return list(
        Opportunity.objects.filter(pk__in=first)
        .annotate(**annotations, total=Window(Count("*")))
        .select_related("owner", "stage", "lost_reason")
        .order_by("-amount", "-pk")[: min(SHOWN, CAP)]
    )


def _urls(since: datetime, narrowing: dict) -> dict[str, str]:
    """Where each kind's whole list is: the opportunity list from that day, narrowed as the changes were (the list's
    own parameters: owner, team, pipeline…), or the alerts inbox's stalled deals of the rep or team."""
    day = since.date().isoformat()
    params = {name: value for name, value in narrowing.items() if value is not None}
    deals, inbox = reverse("opportunities:list"), reverse("health:alert_list")
    alerts = {name: params[key] for name, key in (("rep", "owner"), ("team", "team")) if key in params}
    return {
        "moved": f"{deals}?{urlencode({'status': 'all', 'moved_since': day, **params})}",
        "won": f"{deals}?{urlencode({'status': 'won', 'closed_from': day, **params})}",
        "lost": f"{deals}?{urlencode({'status': 'lost', 'closed_from': day, **params})}",
        "slipped": f"{deals}?{urlencode({'status': 'all', 'slipped_since': day, **params})}",
        "stalled": f"{inbox}?{urlencode({'kind': AlertKind.STALLED, **alerts})}",
    }


def changes_since(user: User, since: datetime, deals: QuerySet[Opportunity] | None = None, **narrowing) -> Changes:
    """The changes since `since` among the deals `user` may see (and among `deals`, a filter's narrowing of them);
    `narrowing` (the opportunity list's parameters: owner=, team=, pipeline= ids…) is carried by the links to the
    whole lists."""
    visible = Opportunity.objects.visible_to(user)
    if deals is not None:  # a filter's narrowing, and never beyond the user's view
        visible = deals & visible
    urls = _urls(since, narrowing)
    kinds = []
    for key, (matching, annotations) in _kinds(user, visible, since).items():
        shown = _largest(matching, annotations)
        for row in shown:
            row.slipped_from_date = _as_date(getattr(row, "slipped_from", None))
        found = shown[0].total if shown else 0
        kinds.append(Kind(key, KINDS[key], shown, min(found, CAP), urls[key], capped=found > CAP))
    return Changes(since, kinds)


def _as_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def for_dashboard(user: User, deals: QuerySet[Opportunity], narrowing: dict) -> Changes | None:
    """The dashboard's panel, for managers and admins: the changes among the dashboard's deals (`deals`, narrowed by
    its filter; `narrowing`, the same as the opportunity list's parameters)."""
    if not (user.is_manager or user.is_admin):
        return None
    return changes_since(user, since_last_working_day(user), deals, **narrowing)
