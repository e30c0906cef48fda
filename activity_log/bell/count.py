"""The bell's count of unread notifications: one query on the partial index notification_user_unread, counted up
to BELL_CAP and kept in the session for BELL_SECONDS (as the alert badge is), so a page does not pay a count
each time; reading notifications counts afresh at once."""

import time
from functools import cached_property

from django.http import HttpRequest

from funnel.insights.metrics import count_up_to

from ..models import Notification

BELL_CAP = 99  # the bell says "99+" beyond this
BELL_SECONDS = 60  # a new notification shows in the bell within this long
SESSION_KEY = "loudou_bell_count"


def unread_count(request: HttpRequest) -> int:
    """The count kept in the session if it is fresh; otherwise counted now (one query) and kept."""
    cached = request.session.get(SESSION_KEY)
    now = time.time()
    if cached and now - cached[1] < BELL_SECONDS:
        return cached[0]
    value = count_up_to(Notification.objects.filter(user=request.user).unread(), BELL_CAP)
    request.session[SESSION_KEY] = [value, now]
    return value


def forget_count(request: HttpRequest) -> None:
    """After the person reads notifications, the bell is counted afresh."""
    request.session.pop(SESSION_KEY, None)


class Bell:
    """What the top bar shows, counted only when a page reads it (an htmx fragment never does)."""

    cap = BELL_CAP

    def __init__(self, request: HttpRequest):
        self.request = request

    @cached_property
    def count(self) -> int:
        return unread_count(self.request)

    @property
    def capped(self) -> bool:
        return self.count > BELL_CAP


def bell(request: HttpRequest) -> dict:
    """Context processor: the bell, for signed-in people only (nothing is read here)."""
    user = getattr(request, "user", None)
    return {"bell": Bell(request)} if user is not None and user.is_authenticated else {}
