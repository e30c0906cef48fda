"""What the daily log shows on the funnel's pages (registered through funnel.hooks)."""

from django.db.models import Count, Q

from .models import Activity, DailyLog, PlanItemStatus

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


def home_panel(*, user) -> dict:
    """Today's log at a glance and the manager's new comments, at the top of the home page."""
    from .selectors import unread_comments_for
    from .services import local_today

    today = local_today(user)
    log = (
        DailyLog.objects.filter(rep=user, date=today)
        .annotate(
            planned=Count("plan", filter=Q(plan__status=PlanItemStatus.PLANNED), distinct=True),
            done=Count("activities", distinct=True),
        )
        .first()
    )
    return {
        "template": "activity_log/_home_panel.html",
        "context": {"today": today, "log": log, "unread_comments": unread_comments_for(user)},
    }
