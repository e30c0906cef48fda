"""Access helpers for the daily log: what a user may read (the visibility rule) and what only its
rep may change (their own log, plan and activities). Anything else answers 404 with an audit row."""

from django.http import HttpRequest

from funnel.access import get_for_user

from .models import Activity, DailyLog, PlanItem


def get_own_log_for_edit(request: HttpRequest, pk: int) -> DailyLog:
    return get_for_user(request, DailyLog.objects.visible_to(request.user).filter(rep=request.user), pk)


def get_own_plan_item_for_edit(request: HttpRequest, pk: int) -> PlanItem:
    items = PlanItem.objects.filter(daily_log__in=DailyLog.objects.visible_to(request.user).filter(rep=request.user))
    return get_for_user(request, items.select_related("daily_log"), pk)


def get_own_activity_for_edit(request: HttpRequest, pk: int) -> Activity:
    activities = Activity.objects.visible_to(request.user).filter(daily_log__rep=request.user)
    return get_for_user(request, activities.select_related("daily_log"), pk)
