"""The daily log's events on the funnel's pages (registered through funnel.hooks)."""

from .models import Activity

MAX_EVENTS = 200


def opportunity_activities(*, user, opportunity) -> list[dict]:
    """The activities on this opportunity that the user may see."""
    activities = (
        Activity.objects.visible_to(user)
        .filter(opportunity=opportunity)
        .select_related("kind", "contact", "daily_log__rep")
        .order_by("-when")[:MAX_EVENTS]
    )
    return [{"at": a.when, "template": "activity_log/_event_activity.html", "object": a} for a in activities]
