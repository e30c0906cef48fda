"""Per-request state of the funnel-health pages' navigation."""

from collections.abc import Callable
from functools import partial

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from .badge import badge_count


class AlertBadgeMiddleware:
    """Attaches `request.alert_badge`, the alert badge's count (funnel.health.badge): read, and kept in the
    session, only when a page shows it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.alert_badge = SimpleLazyObject(partial(badge_count, request))
        return self.get_response(request)
