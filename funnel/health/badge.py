"""The navigation's alert badge: how many alerts need the user's attention (AlertQuerySet.needing_attention),
counted up to BADGE_CAP and kept in the session for a minute, so a page does not pay a count query each time.
funnel.health.middleware attaches it to the request, lazily; the context processor only hands it to templates."""

import time

from django.http import HttpRequest
from django.utils import timezone

from reps.models import User

from ..insights import metrics
from ..models import Alert

BADGE_CAP = 999  # the badge says "999+" beyond this: a million open alerts need not be counted each minute
# The badge may lag this long behind the inbox; the scan itself runs every 15 minutes.
ALERT_COUNT_SECONDS = 60
SESSION_KEY = "loudou_alert_count"


def alerts_needing_attention_count(user: User) -> int:
    """The number the navigation shows: the user's visible alerts that are open and not set aside,
    counted up to BADGE_CAP + 1."""
    alerts = Alert.objects.visible_to(user).needing_attention(timezone.now())
    return metrics.count_up_to(alerts, BADGE_CAP)


def badge_count(request: HttpRequest) -> int:
    """The count kept in the session if it is under a minute old; otherwise counted now and kept."""
    cached = request.session.get(SESSION_KEY)
    now = time.time()
    if cached and now - cached[1] < ALERT_COUNT_SECONDS:
        return cached[0]
    value = alerts_needing_attention_count(request.user)
    request.session[SESSION_KEY] = [value, now]
    return value


def forget_alert_count(request: HttpRequest) -> None:
    """After the user acts on alerts, the badge is counted afresh."""
    request.session.pop(SESSION_KEY, None)
