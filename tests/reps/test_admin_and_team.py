"""Django admin only for admins (QUALITY S30); the team page only for managers and admins."""

import pytest
from django.urls import reverse

from reps.models import AuditEvent
from tests.factories import give_second_factor

pytestmark = pytest.mark.django_db
ADMIN = reverse("admin:index")


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_rep_and_manager_are_refused_by_django_admin(client_for, cast, who):
    client = client_for(cast[who])
    assert client.get(ADMIN, follow=True).status_code == 403
    assert client.get(reverse("admin:reps_user_changelist"), follow=True).status_code == 403


def test_manager_with_a_stray_staff_flag_is_still_refused(client_for, manager):
    manager.is_staff = manager.is_superuser = True
    manager.save()
    assert client_for(manager).get(ADMIN, follow=True).status_code == 403


def test_anonymous_admin_visit_goes_to_the_one_sign_in_page(client):
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("reps:login"))


def test_admin_opens_django_admin(client_for, admin_user):
    assert client_for(admin_user).get(ADMIN).status_code == 200
    assert client_for(admin_user).get(reverse("admin:reps_user_changelist")).status_code == 200


def test_audit_trail_is_read_only_in_admin(client_for, admin_user, rep):
    from reps.services import audit_record

    event = audit_record(action="login", actor=rep)
    client = client_for(admin_user)
    assert client.get(reverse("admin:reps_auditevent_change", args=[event.pk])).status_code == 200
    client.post(reverse("admin:reps_auditevent_delete", args=[event.pk]), {"post": "yes"})
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_role_service_grants_and_takes_django_admin_rights(client_for, admin_user, rep):
    """The service itself; the same change posted through /admin/ is in test_django_admin_writes.py."""
    from reps.services import user_set_role

    user_set_role(user=rep, role="admin", by=admin_user)
    rep.refresh_from_db()
    assert (rep.is_staff, rep.is_superuser) == (True, True)
    assert client_for(rep).get(ADMIN).status_code == 200
    user_set_role(user=rep, role="rep", by=admin_user)
    assert client_for(rep).get(ADMIN, follow=True).status_code == 403


def test_manager_team_page_lists_own_team_only(client_for, cast):
    response = client_for(cast["manager"]).get(reverse("reps:team"))
    shown = {person.username for person in response.context["people"]}
    assert shown == {"m1", "r1", "r2"}


def test_rep_cannot_open_the_team_page(client_for, rep):
    assert client_for(rep).get(reverse("reps:team")).status_code == 403


def test_admin_team_page_lists_everyone(client_for, cast):
    response = client_for(cast["admin"]).get(reverse("reps:team"))
    assert {person.username for person in response.context["people"]} == {"a", "m1", "m2", "r1", "r2", "r3"}


def test_createsuperuser_makes_an_admin_who_can_open_django_admin(client):
    from reps.models import Role, User

    user = User.objects.create_superuser("boss", "boss@example.com", "a long enough password")
    assert user.role == Role.ADMIN
    client.force_login(user)
    assert client.get(ADMIN, follow=True).redirect_chain[-1][0].startswith(reverse("reps:second_factor_setup"))
    give_second_factor(client, user)
    assert client.get(ADMIN).status_code == 200
