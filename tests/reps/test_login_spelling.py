"""The sign-in throttle counts an account however its name is spelled (issue 11.5, QUALITY S34): the form,
the throttle and the backend read a typed username the one same way."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from reps.backends import ModelBackendWithTeam, find_login_user, normalise_username
from reps.models import AuditAction, AuditEvent
from reps.services import login_key
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LOGIN = reverse("reps:login")
SPELLINGS = [" r3", "r3 ", "\tr3", "r3\n", "\u3000r3", "ｒ３", "R3", "Ｒ3 "]


def sign_in(username: str, password: str, ip: str = "10.0.0.1"):
    client = Client()
    return client, client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_each_spelling_signs_in_to_the_same_account(spelling, other_rep, password):
    client, response = sign_in(spelling, password)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(other_rep.pk)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_locked_account_stays_locked_under_another_spelling(spelling, other_rep, password, settings):
    for attempt in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        sign_in("r3", "wrong password!", ip=f"10.0.1.{attempt}")
    client, response = sign_in(spelling, password, ip="10.0.2.1")
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_failures_under_every_spelling_add_up_to_one_counter(other_rep, password, settings):
    attempts = (SPELLINGS * 2)[: settings.LOGIN_FAILURES_PER_ACCOUNT]
    for attempt, spelling in enumerate(attempts):
        assert sign_in(spelling, "wrong password!", ip=f"10.0.3.{attempt}")[1].status_code == 200
    assert set(AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).values_list("username", flat=True)) == {"r3"}
    assert sign_in("r3", password, ip="10.0.4.1")[1].status_code == 429


def test_an_unknown_name_is_counted_under_its_folded_spelling(rep):
    assert login_key(username=" ＮＯＢＯＤＹ\t") == login_key(username="nobody") == "nobody"


def test_a_name_equal_but_for_case_to_two_accounts_signs_in_only_exactly(password):
    upper, lower = UserFactory(username="Lee"), UserFactory(username="lee")
    assert find_login_user(" Lee") == upper
    assert find_login_user("ｌｅｅ") == lower
    assert find_login_user("LEE") is None
    assert ModelBackendWithTeam().authenticate(None, username="LEE", password=password) is None


def test_an_overlong_or_empty_name_finds_nobody(rep):
    assert find_login_user("r1" + " " * 5 + "x" * 200) is None
    assert find_login_user("   ") is None
    assert normalise_username(None) == ""


@pytest.mark.parametrize("username", ["r3\x00", "\x00"])
def test_a_nul_in_a_multipart_sign_in_is_a_refusal_not_an_error(username, other_rep, password):
    """The NUL middleware reads urlencoded forms only; the sign-in reads the name before its form does."""
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": password})  # multipart
    assert response.status_code == 200
    assert SESSION_KEY not in client.session
