"""Sign-in, sign-out and sessions (QUALITY S6, S14–S20)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reps.models import AuditAction, AuditEvent
from reps.services import user_deactivate, user_set_role

pytestmark = pytest.mark.django_db
LOGIN = reverse("reps:login")
HOME = reverse("funnel:home")


def sign_in(client: Client, username: str, password: str, ip: str = "10.0.0.1", **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra}, REMOTE_ADDR=ip)


def test_rep_signs_in_and_lands_home(client, rep, password):
    response = sign_in(client, "r1", password)
    assert response.status_code == 302
    assert response.url == "/"
    assert client.get(HOME).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, actor=rep).count() == 1


def test_sign_in_follows_a_local_next_but_not_a_foreign_one(client, rep, password):
    assert sign_in(client, "r1", password, next="/opportunities/").url == "/opportunities/"
    client.logout()
    assert sign_in(Client(), "r1", password, next="https://evil.example/").url == "/"


def test_wrong_password_is_refused_and_audited(client, rep):
    response = sign_in(client, "r1", "not the password at all")
    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, username="r1", ip="10.0.0.1").count() == 1


def test_unknown_user_and_wrong_password_get_the_same_answer(client, rep):
    """QUALITY S15: no username enumeration (pages equal but for the typed name and the CSRF tokens)."""

    def normalised(response) -> str:
        page = response.content.decode().replace("nobody", "r1")
        return re.sub(r"[A-Za-z0-9]{64}", "TOKEN", page)

    unknown = sign_in(Client(), "nobody", "whatever password")
    wrong = sign_in(Client(), "r1", "whatever password")
    assert unknown.status_code == wrong.status_code == 200
    assert normalised(unknown) == normalised(wrong)


def test_deactivated_user_cannot_sign_in_and_gets_the_generic_answer(client, rep, password):
    user_deactivate(user=rep)
    response = sign_in(client, "r1", password)
    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_account_is_throttled_after_ten_failures_even_with_the_right_password(rep, password):
    """QUALITY S14: ≤ 10 failures per account per 15 minutes, from any address."""
    for attempt in range(10):
        assert sign_in(Client(), "r1", "wrong password!", ip=f"10.0.1.{attempt}").status_code == 200
    response = sign_in(Client(), "r1", password, ip="10.0.2.1")
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content


def test_throttle_on_one_account_does_not_block_another(rep, teammate, password):
    for _ in range(10):
        sign_in(Client(), "r1", "wrong password!", ip="10.0.0.9")
    assert sign_in(Client(), "r2", password, ip="10.0.0.8").status_code == 302


def test_throttle_counts_usernames_case_insensitively(rep):
    for _ in range(10):
        sign_in(Client(), "R1", "wrong password!")
    assert sign_in(Client(), "r1", "wrong password!").status_code == 429


def test_address_is_throttled_after_fifty_failures(rep, teammate, password, settings):
    for n in range(50):
        sign_in(Client(), f"user{n}", "wrong password!", ip="10.9.9.9")
    assert sign_in(Client(), "r2", password, ip="10.9.9.9").status_code == 429
    assert sign_in(Client(), "r2", password, ip="10.9.9.10").status_code == 302


def test_throttle_cools_off_after_fifteen_minutes(rep, password):
    """No permanent lockout (G-A3)."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(10):
            sign_in(Client(), "r1", "wrong password!")
        assert sign_in(Client(), "r1", password).status_code == 429
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert sign_in(Client(), "r1", password).status_code == 302


def test_unknown_and_known_usernames_are_throttled_alike(rep):
    for _ in range(10):
        sign_in(Client(), "r1", "wrong password!")
        sign_in(Client(), "ghost", "wrong password!")
    assert sign_in(Client(), "r1", "x" * 12).status_code == sign_in(Client(), "ghost", "x" * 12).status_code == 429


def test_session_key_changes_at_sign_in(client, rep, password):
    """QUALITY S17: no session fixation."""
    client.get(LOGIN)
    client.session.save()
    before = client.session.session_key
    sign_in(client, "r1", password)
    assert client.session.session_key != before


def test_sign_out_is_post_only_and_the_old_cookie_is_dead(client, rep, password):
    """QUALITY S18."""
    sign_in(client, "r1", password)
    old_cookie = client.cookies["sessionid"].value
    assert client.get(reverse("reps:logout")).status_code == 405
    assert client.post(reverse("reps:logout")).status_code == 302
    replay = Client()
    replay.cookies["sessionid"] = old_cookie
    response = replay.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT, actor=rep).count() == 1


def test_idle_session_expires_after_thirty_minutes(client, rep, password):
    """QUALITY S19, idle part."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "r1", password)
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get(HOME).status_code == 200
    with time_machine.travel(start + timedelta(minutes=29 + 31), tick=False):
        assert client.get(HOME).status_code == 302


def test_activity_renews_the_idle_limit_at_most_once_a_minute(client, rep, password):
    """A page view does not write the session row each time; the idle limit still follows activity."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "r1", password)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        client.get(HOME)  # renews: idle until start + 40 minutes
    with (
        time_machine.travel(start + timedelta(minutes=10, seconds=30), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        assert client.get(HOME).status_code == 200
    assert not [query for query in queries if query["sql"].startswith("UPDATE") and "django_session" in query["sql"]]
    with time_machine.travel(start + timedelta(minutes=39), tick=False):
        assert client.get(HOME).status_code == 200  # 29 minutes after the renewal at minute 10
    with time_machine.travel(start + timedelta(minutes=39 + 31), tick=False):
        assert client.get(HOME).status_code == 302


def test_active_session_ends_after_twelve_hours(client, rep, password):
    """QUALITY S19, absolute part: activity does not keep a session alive forever."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "r1", password)
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get(HOME).status_code == 200
    with time_machine.travel(start + timedelta(hours=12, minutes=1), tick=False):
        response = client.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


def test_deactivation_ends_an_open_session_at_the_next_request(client_for, rep):
    """QUALITY S6."""
    client = client_for(rep)
    assert client.get(HOME).status_code == 200
    user_deactivate(user=rep)
    assert client.get(HOME).status_code == 302


def test_demotion_narrows_scope_without_signing_in_again(client_for, manager):
    """QUALITY S6: the next request reflects the new role."""
    client = client_for(manager)
    assert client.get(reverse("reps:team")).status_code == 200
    user_set_role(user=manager, role="rep")
    assert client.get(reverse("reps:team")).status_code == 403


def test_session_cookie_is_http_only_and_lax(client, rep, password):
    sign_in(client, "r1", password)
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_newlines_in_a_username_cannot_forge_log_lines(client, caplog):
    """QUALITY S26."""
    with caplog.at_level("INFO"):
        sign_in(client, "bob\n2026-01-01 INFO admin logged in", "wrong password!")
    handler_output = [rec for rec in caplog.records if rec.name == "reps.services"]
    assert handler_output
    from config.logging import EscapeNewlinesFilter

    for record in handler_output:
        EscapeNewlinesFilter().filter(record)
        assert "\n" not in record.getMessage()
