"""Password rules and password change (QUALITY S16, S20)."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from reps.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db
CHANGE = reverse("reps:password_change")


@pytest.mark.parametrize("candidate", ["password123456", "elevenchars"])
def test_common_and_short_passwords_are_rejected(rep, candidate):
    with pytest.raises(ValidationError):
        validate_password(candidate, user=rep)


@pytest.mark.parametrize("length", [12, 64, 128])
def test_long_passwords_with_spaces_and_emoji_are_accepted_whole(client_for, rep, length):
    candidate = ("月 sales 🚀 funnel " * 20)[:length]
    validate_password(candidate, user=rep)
    rep.set_password(candidate)
    rep.save()
    assert rep.check_password(candidate)
    assert not rep.check_password(candidate[:-1])


def test_password_change_keeps_this_session_and_ends_the_others(client, rep, password):
    """QUALITY S20."""
    browser_a, browser_b = Client(), Client()
    for browser in (browser_a, browser_b):
        browser.post(reverse("reps:login"), {"username": "r1", "password": password})
    new = "a brand new passphrase 2026"
    response = browser_a.post(CHANGE, {"old_password": password, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert browser_a.get("/").status_code == 200
    assert browser_b.get("/").status_code == 302
    rep.refresh_from_db()
    assert rep.check_password(new)
    assert AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED, actor=rep).count() == 1


def test_password_change_with_a_weak_password_shows_the_rule_and_changes_nothing(client_for, rep, password):
    response = client_for(rep).post(
        CHANGE, {"old_password": password, "new_password1": "short", "new_password2": "short"}
    )
    assert response.status_code == 200
    assert b"at least 12 characters" in response.content
    rep.refresh_from_db()
    assert rep.check_password(password)
