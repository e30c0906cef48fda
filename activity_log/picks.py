"""What the pickers offer a rep before they type (funnel.search.pickers): today's plan, then their latest activities."""

from .models import Activity, PlanItem

RECENT_ACTIVITIES = 30


def recent_picks(*, user) -> dict[str, list[int]]:
    """Customer, deal and contact ids of today's plan (in its order), then of the latest activities."""
    from .services import local_today

    planned = PlanItem.objects.filter(daily_log__rep=user, daily_log__date=local_today(user)).order_by("position")
    done = Activity.objects.filter(daily_log__rep=user).order_by("-when", "-pk")[:RECENT_ACTIVITIES]
    columns = ("account_id", "opportunity_id", "contact_id")
    rows = [*planned.values_list(*columns), *done.values_list(*columns)]
    return {
        source: list(dict.fromkeys(row[index] for row in rows if row[index]))
        for index, source in enumerate(["customer", "opportunity", "contact"])
    }
