from django.http import HttpRequest

from . import badge


def alerts(request: HttpRequest) -> dict:
    """The navigation's count of alerts needing attention, as funnel.health.middleware attached it (counted
    only when a page shows it; nothing is read or written here)."""
    return {"alerts_needing_attention": getattr(request, "alert_badge", 0), "alerts_badge_cap": badge.BADGE_CAP}
