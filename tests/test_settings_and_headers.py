"""Configuration from the environment, the deploy check, security headers and CSRF (QUALITY S13, S21, S27–S29)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-" + "x9" * 20,
    "ALLOWED_HOSTS": "crm.example.com",
    "HTTPS": "true",
    "STATIC_MANIFEST": "true",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in PRODUCTION}
    return subprocess.run(  # noqa: S603  (our own manage.py, fixed arguments)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_passes_with_production_values():
    """QUALITY S28 / G-A1."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr


def test_deploy_check_refuses_the_development_secret_key():
    values = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **values)
    assert result.returncode != 0
    assert "loudou.E001" in result.stderr


def test_deploy_check_refuses_plain_http():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "HTTPS": "false"})
    assert result.returncode != 0
    assert "loudou.E002" in result.stderr


def test_a_malformed_boolean_is_a_configuration_error():
    result = manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_a_malformed_number_is_a_configuration_error():
    result = manage("check", SESSION_IDLE_SECONDS="half an hour")
    assert result.returncode != 0
    assert "SESSION_IDLE_SECONDS must be a whole number" in result.stderr


def test_production_cookies_are_secure_and_host_prefixed():
    """QUALITY S21."""
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE,"
        " s.CSRF_COOKIE_NAME, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS)"
    )
    result = manage("shell", "-c", code, **PRODUCTION)
    assert result.stdout.strip().splitlines()[-1].split() == [
        "__Host-sessionid",
        "True",
        "True",
        "Lax",
        "__Host-csrftoken",
        "True",
        "31536000",
        "True",
    ]


@pytest.mark.django_db
def test_html_pages_carry_the_security_headers(client):
    """QUALITY S29 (HSTS is checked with production values above; it is only sent over HTTPS)."""
    response = client.get("/accounts/login/")
    csp = response.headers["Content-Security-Policy"]
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "script-src 'self'"):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_post_without_csrf_token_is_refused_and_changes_nothing(rep, password):
    """QUALITY S13."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    response = client.post("/accounts/preferences/", {"language": "zh-hans", "time_zone": "UTC"})
    assert response.status_code == 403
    rep.refresh_from_db()
    assert (rep.language, rep.time_zone) == ("en", "Asia/Shanghai")


@pytest.mark.django_db
def test_post_with_another_sessions_token_is_refused(rep, teammate):
    attacker = Client(enforce_csrf_checks=True)
    attacker.force_login(teammate)
    attacker.get("/accounts/preferences/")
    foreign_token = attacker.cookies["csrftoken"].value
    victim = Client(enforce_csrf_checks=True)
    victim.force_login(rep)
    response = victim.post(
        "/accounts/preferences/",
        {"language": "zh-hans", "time_zone": "UTC", "csrfmiddlewaretoken": foreign_token},
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_server_error_page_is_generic(rep, settings):
    """QUALITY S27: no stack trace, SQL or settings in the body."""
    from unittest import mock

    client = Client(raise_request_exception=False)
    client.force_login(rep)
    with mock.patch("funnel.views.metrics.funnel_totals", side_effect=RuntimeError("SELECT secret FROM x")):
        response = client.get("/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert "SELECT" not in body and "Traceback" not in body and "SECRET_KEY" not in body


@pytest.mark.django_db
def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")


def test_celery_never_waits_forever_on_a_hung_broker(settings):
    """QUALITY R2: socket timeouts are set on the broker connection."""
    from config.celery import app

    options = app.conf.broker_transport_options
    assert 0 < options["socket_timeout"] <= 5
    assert 0 < options["socket_connect_timeout"] <= 5
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True


def test_a_killed_workers_task_is_redone_within_minutes_and_never_while_it_still_runs():
    """Issue 11.12: the visibility timeout fits the longest task, not an hour; every task ends before it."""
    from config.celery import app

    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility <= 600
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit < visibility
    app.loader.import_default_modules()
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    assert ours
    for task in ours:  # no task raises its own limit past the timeout
        assert (task.time_limit or app.conf.task_time_limit) < visibility, task.name
