"""What the daily log tells the funnel's reverse-funnel plan (funnel.planning): how many activities people logged
over a run of their days, registered through funnel.hooks.register_activity_counter."""

from datetime import date

from .models import Activity


def activity_count(*, owner_ids: list[int] | tuple[int, ...] | None, since: date, until: date) -> int:
    """Activities (visits, calls, meetings…) on the daily logs of these people (None: everyone) dated from `since`
    to `until`, both included: one count."""
    rows = Activity.objects.filter(daily_log__date__gte=since, daily_log__date__lte=until)
    if owner_ids is not None:
        rows = rows.filter(daily_log__rep__in=list(owner_ids))
    return rows.count()
