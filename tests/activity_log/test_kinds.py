"""Activity kinds, edited by admins only: add, rename, reorder, (de)activate, each change audited."""

import pytest
from django.urls import reverse

from activity_log.kinds import services as kind_services
from activity_log.models import ActivityKind
from activity_log.services import LogError
from reps.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def config_changes() -> list[dict]:
    return list(
        AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED)
        .order_by("at", "id")
        .values_list("detail", flat=True)
    )


@pytest.fixture
def visit():
    return ActivityKind.objects.get(name="Visit")


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_rep_and_manager_get_403_on_every_kinds_route_and_method(cast, visit, client_for, role):
    client = client_for(cast[role])
    assert client.get(reverse("log:kinds")).status_code == 403
    assert client.post(reverse("log:kinds"), {"name": "Dinner", "order": 9}).status_code == 403
    assert client.get(reverse("log:kind_edit", args=[visit.pk])).status_code == 403
    edit = {"name": "Hacked", "order": 1, "is_active": "on"}
    assert client.post(reverse("log:kind_edit", args=[visit.pk]), edit).status_code == 403
    assert not ActivityKind.objects.filter(name__in=["Dinner", "Hacked"]).exists()
    assert config_changes() == []
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor=cast[role]).count() == 4


def test_anonymous_is_sent_to_sign_in(client, visit):
    assert client.get(reverse("log:kinds")).status_code == 302
    assert client.post(reverse("log:kind_edit", args=[visit.pk]), {"name": "X", "order": 1}).status_code == 302


def test_admin_sees_the_kinds_in_order_with_their_use(admin_user, client_for):
    response = client_for(admin_user).get(reverse("log:kinds"))
    assert response.status_code == 200
    names = [kind.name for kind in response.context["kinds"]]
    assert names == ["Visit", "Call", "Meeting", "Demo", "E-mail", "Other"]
    assert response.context["form"]["order"].initial == ActivityKind.objects.order_by("-order")[0].order + 1


def test_admin_adds_a_kind_and_it_is_audited(admin_user, client_for):
    response = client_for(admin_user).post(reverse("log:kinds"), {"name": "Site survey", "order": 3, "is_active": "on"})
    assert response.status_code == 302
    kind = ActivityKind.objects.get(name="Site survey")
    assert (kind.order, kind.is_active) == (3, True)
    event = AuditEvent.objects.get(action=AuditAction.CONFIG_CHANGED)
    assert (event.actor, event.object_type, event.object_id) == (admin_user, "activity_log.activitykind", str(kind.pk))
    assert event.detail == {"name": [None, "Site survey"], "order": [None, 3], "is_active": [None, True]}


def test_a_duplicate_name_is_refused_whatever_its_case(admin_user, client_for):
    response = client_for(admin_user).post(reverse("log:kinds"), {"name": "visit", "order": 1})
    assert response.status_code == 422
    assert b"This name is already in the list." in response.content
    assert ActivityKind.objects.filter(name__iexact="visit").count() == 1
    with pytest.raises(LogError):
        kind_services.kind_create(name="VISIT", order=1, by=admin_user)


def test_admin_renames_reorders_and_deactivates_with_old_and_new_values_audited(admin_user, visit, client_for):
    response = client_for(admin_user).post(
        reverse("log:kind_edit", args=[visit.pk]), {"name": "Customer visit", "order": 42}
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.name, visit.order, visit.is_active) == ("Customer visit", 42, False)
    assert config_changes() == [{"name": ["Visit", "Customer visit"], "order": [0, 42], "is_active": [True, False]}]


def test_reactivating_is_audited_alone(admin_user, visit):
    kind_services.kind_update(kind=visit, by=admin_user, name="Visit", order=visit.order, is_active=False)
    kind_services.kind_update(kind=visit, by=admin_user, name="Visit", order=visit.order, is_active=True)
    assert config_changes() == [{"is_active": [True, False]}, {"is_active": [False, True]}]


def test_saving_without_a_change_writes_no_audit_row(admin_user, visit):
    kind_services.kind_update(kind=visit, by=admin_user, name="Visit", order=visit.order, is_active=True)
    assert config_changes() == []


def test_the_last_active_kind_cannot_be_deactivated(admin_user, visit, client_for):
    ActivityKind.objects.exclude(pk=visit.pk).update(is_active=False)
    data = {"name": "Visit", "order": visit.order}
    response = client_for(admin_user).post(reverse("log:kind_edit", args=[visit.pk]), data)
    assert response.status_code == 422
    assert b"Keep at least one kind active" in response.content
    visit.refresh_from_db()
    assert visit.is_active


def test_edit_page_shows_the_current_values(admin_user, visit, client_for):
    response = client_for(admin_user).get(reverse("log:kind_edit", args=[visit.pk]))
    assert response.status_code == 200
    assert response.context["form"].initial == {"name": "Visit", "order": visit.order, "is_active": True}


def test_a_missing_kind_is_404_for_an_admin(admin_user, client_for):
    assert client_for(admin_user).get(reverse("log:kind_edit", args=[99999])).status_code == 404
