"""The events of a person's calendar feed: their scheduled activities, from a month back to a year ahead; one
with a time of day (in the person's time zone, as they typed it) is a timed event, any other lasts all day.

A scheduled activity is a dated next step: an open deal's next step (the visit form writes the visit's next
step and date onto its deal, and the plan proposes it on its day), and the next date of a visit about no deal.
Only the person's own, within what they may see; at most MAX_EVENTS of each, soonest first.
"""

import zoneinfo
from datetime import date, datetime, time, timedelta

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from funnel.models import Opportunity, StageKind
from reps.models import User

from ..models import Activity, CalendarFeed
from .ics import Event, document

PAST_DAYS = 30
AHEAD_DAYS = 365
MAX_EVENTS = 500


def _summary(step: str, names: list[str], include_names: bool) -> str:
    return " · ".join([step, *names] if include_names else [step])


def _start(day: date, at: time | None, zone: zoneinfo.ZoneInfo) -> datetime | None:
    """The moment a step at `at` on `day` begins in the person's zone (a time the clocks skip reads as after the
    jump, as zoneinfo reads it); None without a time."""
    return datetime.combine(day, at, tzinfo=zone) if at is not None else None


def events(user: User, *, today: date, include_names: bool, link) -> list[Event]:
    """Two queries; `link(path)` makes a path an absolute address."""
    zone = zoneinfo.ZoneInfo(user.time_zone)
    window = (today - timedelta(days=PAST_DAYS), today + timedelta(days=AHEAD_DAYS))
    deals = (
        Opportunity.objects.visible_to(user)
        .filter(owner=user, status=StageKind.OPEN, next_step_date__range=window)
        .select_related("account")
        .order_by("next_step_date", "pk")[:MAX_EVENTS]
    )
    found = [
        Event(
            uid=f"opportunity-{deal.pk}@loudou",
            day=deal.next_step_date,
            summary=_summary(deal.next_step or _("Next step"), [deal.name, deal.account.name], include_names),
            url=link(reverse("opportunities:detail", args=[deal.pk])),
            start=_start(deal.next_step_date, deal.next_step_time, zone),
        )
        for deal in deals
    ]
    follow_ups = (
        Activity.objects.visible_to(user)
        .filter(daily_log__rep=user, opportunity__isnull=True, next_date__range=window)
        .select_related("account")
        .order_by("next_date", "pk")[:MAX_EVENTS]
    )
    found += [
        Event(
            uid=f"activity-{activity.pk}@loudou",
            day=activity.next_date,
            summary=_summary(activity.next_step or _("Follow-up"), [activity.account.name], include_names),
            url=link(reverse("customers:detail", args=[activity.account_id])),
            start=_start(activity.next_date, activity.next_time, zone),
        )
        for activity in follow_ups
    ]
    return sorted(found, key=lambda event: (event.day, event.uid))


def render_feed(feed: CalendarFeed, *, now: datetime, link) -> str:
    """The whole document, in the person's language, their days in their time zone."""
    user = feed.user
    with translation.override(user.language):
        today = now.astimezone(user.local_now().tzinfo).date()
        found = events(user, today=today, include_names=feed.include_names, link=link)
        return document(found, name=_("Loudou: my scheduled activities"), now=now)
