"""Project-wide endpoints: liveness, readiness, and the error page for a database that does not answer."""

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.defaults import server_error as django_server_error

log = logging.getLogger(__name__)
# How long a client (or a proxy) is asked to wait before trying again while the database is away.
RETRY_AFTER_SECONDS = 30


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness, for load balancers and docker-compose: this process answers. It reads nothing, so an outage
    of the database does not make an orchestrator restart healthy web processes (that is /readyz)."""
    return HttpResponse("ok", content_type="text/plain")


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database answers, 503 when it does not. The job queue is reported but does
    not decide: without Redis, background work runs in this process (config.jobs)."""
    checks = {"database": _database_answers(), "queue": _queue_answers() if settings.REDIS_URL else "not used"}
    ready = checks["database"] == "ok"
    return JsonResponse({"ready": ready, **checks}, status=200 if ready else 503)


def _database_answers() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except (OperationalError, InterfaceError):
        log.warning("readiness: the database is unreachable", exc_info=True)
        return "unreachable"
    return "ok"


def _queue_answers() -> str:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
    except (RedisError, OSError):
        return "unreachable"
    return "ok"


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 page, except while the database is away: 503 with "try again in a moment" and
    Retry-After (QUALITY R7, S27). Rendered without the database: no user, no context processors."""
    error = sys.exc_info()[1]
    if not isinstance(error, (OperationalError, InterfaceError)):
        return django_server_error(request)
    body = render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
