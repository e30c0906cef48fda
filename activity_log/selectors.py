"""Heavy reads of the daily log: a customer's transaction card and a rep's unread comments (the manager's
review and compliance are in activity_log.review.selectors). Each takes the viewer, applies the visibility
rule through `visible_to`, and costs a fixed number of queries however many rows there are.
"""

import heapq
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from funnel.models import Account, StageChange
from reps.models import User

from .models import Activity, Comment

WORKING_DAYS = frozenset({0, 1, 2, 3, 4})  # date.weekday(): Monday to Friday, until an admin sets others
TIMELINE_CAP = 500  # events on a transaction card, newest first


# --- The rep's unread comments ---------------------------------------------------------------------


def unread_comments_for(user: User, limit: int = 5) -> list[Comment]:
    """The latest comments others left on the user's own logs that the user has not opened yet."""
    unread = Comment.objects.filter(daily_log__rep=user, read_at__isnull=True).exclude(author=user)
    return list(unread.select_related("daily_log", "author").order_by("-at", "-id")[:limit])


# --- The customer's transaction card (客户交易卡) ---------------------------------------------------------


@dataclass(frozen=True)
class TimelineEvent:
    """One line of the card: an activity or a stage change."""

    at: datetime
    activity: Activity | None = None
    change: StageChange | None = None


@dataclass(frozen=True)
class Timeline:
    events: list[TimelineEvent]
    total: int

    @property
    def is_capped(self) -> bool:
        return self.total > len(self.events)


def card_timeline(viewer: User, account: Account, cap: int = TIMELINE_CAP) -> Timeline:
    """The viewer's visible activities with the customer and stage changes of its visible deals, newest first."""
    activities = (
        Activity.objects.visible_to(viewer)
        .filter(account=account)
        .select_related("kind", "opportunity", "contact", "daily_log__rep")
        .order_by("-when", "-id")
    )
    changes = (
        StageChange.objects.visible_to(viewer)
        .filter(opportunity__account=account)
        .select_related("opportunity", "from_stage", "to_stage", "by")
        .order_by("-at", "-id")
    )
    newest_activities, newest_changes = list(activities[:cap]), list(changes[:cap])
    merged = heapq.merge(
        (TimelineEvent(at=activity.when, activity=activity) for activity in newest_activities),
        (TimelineEvent(at=change.at, change=change) for change in newest_changes),
        key=lambda event: event.at,
        reverse=True,
    )
    total = len(newest_activities) + len(newest_changes)
    if len(newest_activities) == cap or len(newest_changes) == cap:
        total = activities.count() + changes.count()  # only counted when a list was cut
    return Timeline(events=list(islice(merged, cap)), total=total)
