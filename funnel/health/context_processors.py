import time

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

# The badge may lag this long behind the inbox; the scan itself runs every 15 minutes.
ALERT_COUNT_SECONDS = 60
SESSION_KEY = "loudou_alert_count"


def alerts(request: HttpRequest) -> dict:
    """The navigation's count of alerts needing attention, kept in the session for a minute so
    pages do not pay a count query each; only evaluated when a page shows it."""

    def count() -> int:
        from .views import alerts_needing_attention_count

        cached = request.session.get(SESSION_KEY)
        now = time.time()
        if cached and now - cached[1] < ALERT_COUNT_SECONDS:
            return cached[0]
        value = alerts_needing_attention_count(request.user)
        request.session[SESSION_KEY] = [value, now]
        return value

    from .views import BADGE_CAP

    return {"alerts_needing_attention": SimpleLazyObject(count), "alerts_badge_cap": BADGE_CAP}


def forget_alert_count(request: HttpRequest) -> None:
    """After the user acts on alerts, the badge is counted afresh."""
    request.session.pop(SESSION_KEY, None)
