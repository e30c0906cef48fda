"""One role gate (reps.access): every page a role may not open answers 403 with an audit row, whichever app
the page is in; only admin-only pages ask an admin for the second factor."""

import pytest
from django.test import Client
from django.urls import reverse

from reps.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db

# (route, roles refused): one page of each gate the apps used to write for themselves.
GATED_PAGES = [
    ("configuration:index", ["rep", "manager"]),  # funnel settings
    ("insights:target_list", ["rep", "manager"]),  # targets
    ("log:kinds", ["rep", "manager"]),  # activity kinds
    ("log:review", ["rep"]),  # the manager's review
    ("reps:team", ["rep"]),  # the team page
]
REFUSALS = [(route, role) for route, roles in GATED_PAGES for role in roles]


@pytest.mark.parametrize(("route", "role"), REFUSALS)
def test_a_refused_page_is_403_with_an_audit_row(route, role, cast, client_for):
    url = reverse(route)
    response = client_for(cast[role]).get(url)
    assert response.status_code == 403
    denial = AuditEvent.objects.get(action=AuditAction.ACCESS_DENIED)
    assert denial.actor == cast[role]
    assert denial.object_type == route
    assert denial.detail == {"path": url, "method": "GET"}


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_a_refused_post_only_page_is_403_before_its_method_check_and_audited(role, cast, client_for):
    response = client_for(cast[role]).get(reverse("configuration:pipeline_create"))
    assert response.status_code == 403
    assert AuditEvent.objects.get(action=AuditAction.ACCESS_DENIED).detail["method"] == "GET"


@pytest.mark.parametrize(("route", "roles"), GATED_PAGES)
def test_the_roles_a_page_is_for_open_it_without_an_audit_row(route, roles, cast, client_for):
    for role in {"rep", "manager", "admin"} - set(roles):
        assert client_for(cast[role]).get(reverse(route)).status_code == 200
    assert not AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).exists()


def test_only_admin_only_pages_ask_an_admin_for_the_second_factor(admin_user):
    client = Client()
    client.force_login(admin_user)  # signed in without giving the second factor
    for route in ("configuration:index", "insights:target_list", "log:kinds"):
        response = client.get(reverse(route))
        assert response.status_code == 302 and response["Location"].startswith(reverse("reps:second_factor"))
    for route in ("log:review", "reps:team"):
        assert client.get(reverse(route)).status_code == 200
