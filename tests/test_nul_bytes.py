"""A NUL byte in the path, the query string or a posted form field is a 400, before any view reads it: PostgreSQL
stores no NUL in text, so a search for "a\\x00b" was a 500 there (issue 11.3)."""

import pytest
from django.test import Client
from django.urls import reverse

from funnel.models import Account
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(rep) -> Client:
    client = Client()
    client.force_login(rep)
    return client


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("opportunities:list", {"q": "a\x00b"}),
        ("customers:list", {"q": "a\x00b"}),
        ("log:today", {"\x00": ""}),
        ("opportunities:list", {"after": "WyJhIiwgMV0=\x00"}),
        ("health:alert_list", {"kind\x00": "x"}),
    ],
)
def test_a_nul_in_the_query_string_is_a_bad_request(url, params, client):
    response = client.get(reverse(url), params)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert response["Content-Security-Policy"]


def test_a_nul_in_the_path_is_a_bad_request(client):
    assert client.get("/customers/%00/").status_code == 400


def test_a_nul_in_a_posted_field_is_a_bad_request_and_saves_nothing(rep, client):
    account = AccountFactory(owner=rep, name="Steel works")
    response = client.post(
        reverse("customers:edit", args=[account.pk]),
        "name=Steel%00works&city=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert Account.objects.get().name == "Steel works"


def test_a_multipart_text_field_with_a_nul_is_a_form_error(rep, client):
    """Multipart bodies are not read by the middleware (an upload is refused by size in its view first); the
    form's text fields refuse NUL themselves."""
    account = AccountFactory(owner=rep, name="Steel works")
    response = client.post(reverse("customers:edit", args=[account.pk]), {"name": "Steel\x00works"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert Account.objects.get().name == "Steel works"


def test_the_page_is_in_the_readers_language(rep, client):
    rep.language = "zh-hans"
    rep.save()
    response = client.get(reverse("opportunities:list"), {"q": "\x00"})
    assert response.status_code == 400
    assert 'lang="zh-hans"' in response.content.decode()


def test_text_without_nul_passes(client):
    assert client.get(reverse("opportunities:list"), {"q": "a b%00"}).status_code == 200
