"""While the database is away: 503 "try again in a moment" in the reader's language, and a readiness check
that says so (QUALITY R7, S27). /healthz stays a liveness check that needs no database."""

from unittest import mock

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client

DOWN = OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

pytestmark = pytest.mark.django_db


def client_of(user, **headers) -> Client:
    client = Client(raise_request_exception=False, **headers)
    client.force_login(user)
    return client


def test_a_signed_in_page_answers_503_with_retry_after_while_the_database_is_down(rep):
    client = client_of(rep)
    with mock.patch.object(SessionStore, "_get_session_from_db", side_effect=DOWN):
        response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "Back in a moment" in body and "try again in about 30 seconds" in body
    assert "5432" not in body and "Traceback" not in body


def test_the_503_page_is_in_the_readers_language(rep):
    client = client_of(rep, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    with mock.patch.object(SessionStore, "_get_session_from_db", side_effect=DOWN):
        response = client.get("/")
    assert response.status_code == 503
    assert '<html lang="zh-hans">' in response.content.decode()


def test_a_database_error_inside_a_view_is_a_503_too(rep):
    with mock.patch("funnel.views.metrics.funnel_totals", side_effect=DOWN):
        response = client_of(rep).get("/")
    assert response.status_code == 503


def test_any_other_error_is_still_the_plain_500(rep):
    with mock.patch("funnel.views.metrics.funnel_totals", side_effect=RuntimeError("boom")):
        response = client_of(rep).get("/")
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_readiness_says_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["ready"] is True and response.json()["database"] == "ok"


def test_readiness_says_the_database_is_unreachable(client, settings):
    settings.REDIS_URL = ""
    with mock.patch("config.views.connection.cursor", side_effect=DOWN):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "database": "unreachable", "queue": "not used"}


def test_liveness_needs_no_database(client):
    with mock.patch("django.db.backends.base.base.BaseDatabaseWrapper.cursor", side_effect=DOWN):
        response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")


def test_readiness_reports_an_unreachable_queue_without_failing(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "database": "ok", "queue": "unreachable"}
