"""The app's installable shell: manifest, service worker, and what the outbox and offline search read."""

import hashlib
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.wording import CHOOSE
from funnel.models import Account, Contact, Opportunity

from .keys import user_key

# The most records of each kind the offline book holds: a rep's book is hundreds; a manager's or an admin's
# may be far larger, and the phone then searches the first ones by last contact (online search is unbounded).
BOOK_LIMIT = 3000
THEME = "#0d6efd"


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest: installed, the app opens on the rep's day."""
    icons = [
        {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        {"src": static("img/favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
    ]
    data = {
        "name": "漏斗 Loudou",
        "short_name": "漏斗",
        "description": _("Log visits and move deals, with or without a network."),
        "start_url": reverse("log:today"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME,
        "icons": icons,
    }
    response = JsonResponse(data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=3600"
    return response


@lru_cache(maxsize=1)
def _worker_source() -> tuple[str, str]:
    """The worker's source (static/js/sw.js) and a version that changes with it or with the outbox script."""
    texts = [open(finders.find(name), encoding="utf-8").read() for name in ("js/sw.js", "js/outbox.js")]  # noqa: SIM115
    return texts[0], hashlib.sha256("".join(texts).encode()).hexdigest()[:12]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """static/js/sw.js from the site root, so its scope is the whole app, with what it must know prepended.

    no-cache: the browser asks again on every update check, so a new version reaches phones at once."""
    if settings.DEBUG:
        _worker_source.cache_clear()
    source, version = _worker_source()
    head = (
        f'const LOUDOU_VERSION = "{version}";\n'
        f'const LOUDOU_OUTBOX_SCRIPT = "{static("js/outbox.js")}";\n'
        f'const LOUDOU_STATIC = "{static("")}";\n'
    )
    response = HttpResponse(head + source, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


@never_cache
@require_GET
def state(request: HttpRequest) -> HttpResponse:
    """Asked by the outbox before it sends: who is signed in (their key: a queue is only sent by its writer) and
    a CSRF token fresh from this session, never one kept in a cached page. Signed out: 403, nothing to send."""
    if not request.user.is_authenticated:
        return JsonResponse({"user": "", "reason": _("You are signed out. Sign in to send.")}, status=403)
    return JsonResponse({"user": user_key(request.user), "csrf": get_token(request), "now": timezone.now().isoformat()})


@login_required
@require_GET
def book(request: HttpRequest) -> HttpResponse:
    """The rep's customers, open deals and contacts (id, name, customer): the visit form searches them offline.
    Read by the service worker into the user's cache when online; refreshed on every visit to the day."""
    user = request.user
    accounts = Account.objects.visible_to(user).order_by("-last_contact_at", "pk").values_list("pk", "name")
    deals = (
        Opportunity.objects.visible_to(user)
        .open()
        .order_by("-last_activity_at", "pk")
        .values_list("pk", "name", "account_id", "account__name")
    )
    contacts = Contact.objects.visible_to(user).order_by("pk").values_list("pk", "name", "account_id", "account__name")
    data = {
        "user": user_key(user),
        # The pickers' empty choice, as the server's own pickers word it in the user's language.
        "choose": str(CHOOSE),
        "customers": [list(row) for row in accounts[:BOOK_LIMIT]],
        "opportunities": [list(row) for row in deals[:BOOK_LIMIT]],
        "contacts": [list(row) for row in contacts[:BOOK_LIMIT]],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})
    response["Cache-Control"] = "private, no-cache"
    return response
