"""How fresh the alerts are. The scan (services.scan_funnel) runs every few minutes and records when it
ran, which the inbox shows ("Checked at 14:05"); a deal that moves is checked again at once, so the
stalled alert of a deal just moved on does not wait for the next scan to go away.

The time is kept in the cache, which the web and the scan share through Redis; without Redis (the demo's
in-process cache), a page served by another process knows no time and says nothing rather than guess.
"""

from collections.abc import Iterable
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from ..models import Alert, AlertKind, Opportunity

LAST_SCAN_KEY = "funnel:health:last-scan"


def record_scan(at: datetime) -> None:
    cache.set(LAST_SCAN_KEY, at, None)


def last_scan() -> datetime | None:
    return cache.get(LAST_SCAN_KEY)


def stalled_recheck(opportunity_ids: Iterable[int], now: datetime | None = None) -> int:
    """Resolves the open stalled alerts of these deals that are no longer stalled (a move starts the
    stage's clock again); returns how many. Runs after the move has committed (on_commit), one UPDATE.
    A deal still stalled keeps its alert; one newly stalled is found by the next scan."""
    now = now or timezone.now()
    ids = list(opportunity_ids)
    still_stalled = Opportunity.objects.filter(pk__in=ids).stalled(now).values("pk")
    alerts = Alert.objects.open().filter(kind=AlertKind.STALLED, opportunity_id__in=ids)
    return alerts.exclude(opportunity_id__in=still_stalled).update(resolved_at=now)
