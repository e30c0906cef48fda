import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

SESSION_AUTH_AT = "loudou_auth_at"
SESSION_RENEWED_AT = "loudou_renewed_at"


class SessionLifetimeMiddleware:
    """Ends a session SESSION_ABSOLUTE_LIFETIME after sign-in, however active it was (ASVS 3.3.2).

    The idle timeout is the session cookie's age (SESSION_COOKIE_AGE), renewed by activity: at most once
    every SESSION_RENEW_SECONDS, so a page view does not write the session row each time.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now().timestamp()
            started = request.session.setdefault(SESSION_AUTH_AT, now)
            if now - started > settings.SESSION_ABSOLUTE_LIFETIME.total_seconds():
                logout(request)
                messages.info(request, _("Your session has expired. Please sign in again."))
                return redirect_to_login(request.get_full_path())
            if now - request.session.get(SESSION_RENEWED_AT, 0) >= settings.SESSION_RENEW_SECONDS:
                request.session[SESSION_RENEWED_AT] = now  # modified: saved with a new expiry and cookie
        return self.get_response(request)


class UserPreferencesMiddleware:
    """Shows pages in the signed-in user's language and time zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
            timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
