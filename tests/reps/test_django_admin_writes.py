"""Django admin is no back door (QUALITY S6, S11, S31, S33; issue 10 item 2): every change posted through
/admin/ goes through the same services as the app and writes its audit row; what the app's own pages
change (pipelines, stages, sources, customers) is read-only here, with a link to that page."""

import pytest
from django.urls import reverse

from funnel.models import Account, Pipeline, Source, Stage
from reps.models import AuditAction, AuditEvent, Role, Territory, User
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db
HOME = "/"


def admin_edit(client, url: str, **changes):
    """Opens an admin change form and saves it back with `changes` (a checkbox left out is unticked)."""
    page = client.get(url)
    assert page.status_code == 200
    data = {**form_data(page), **changes}
    return client.post(url, {name: value for name, value in data.items() if value is not None})


def user_change(client, user: User, **changes):
    return admin_edit(client, reverse("admin:reps_user_change", args=[user.pk]), **changes)


def audit_rows(action: str, obj) -> list[AuditEvent]:
    rows = AuditEvent.objects.filter(action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return list(rows.order_by("pk"))


# --- people ---------------------------------------------------------------------------------------------


def test_a_role_changed_in_admin_is_audited_old_to_new_and_grants_admin_rights(client_for, admin_user, rep):
    response = user_change(client_for(admin_user), rep, role=Role.ADMIN)
    assert response.status_code == 302
    rep.refresh_from_db()
    assert (rep.role, rep.is_staff, rep.is_superuser) == (Role.ADMIN, True, True)
    [row] = audit_rows(AuditAction.ROLE_CHANGED, rep)
    assert (row.actor, row.detail) == (admin_user, {"old": "rep", "new": "admin"})
    assert client_for(rep).get(reverse("admin:index")).status_code == 200
    user_change(client_for(admin_user), rep, role=Role.REP)
    assert client_for(rep).get(reverse("admin:index"), follow=True).status_code == 403


def test_other_changes_to_a_person_are_audited_old_to_new(client_for, admin_user, rep, team1, team2):
    old_name = rep.last_name
    response = user_change(client_for(admin_user), rep, last_name="Zhang", team=team2.pk)
    assert response.status_code == 302
    rep.refresh_from_db()
    assert (rep.last_name, rep.team) == ("Zhang", team2)
    [row] = audit_rows(AuditAction.FIELD_CHANGED, rep)
    assert (row.actor, row.detail) == (admin_user, {"last_name": [old_name, "Zhang"], "team": [team1.pk, team2.pk]})
    assert not audit_rows(AuditAction.ROLE_CHANGED, rep)


def test_saving_a_person_unchanged_writes_no_audit_row(client_for, admin_user, rep):
    assert user_change(client_for(admin_user), rep).status_code == 302
    assert not AuditEvent.objects.filter(object_type="reps.user", object_id=str(rep.pk)).exists()


def test_deactivating_in_admin_is_audited_and_ends_the_persons_sessions_at_once(client_for, admin_user, rep):
    reps_browser = client_for(rep)
    assert reps_browser.get(HOME).status_code == 200
    response = user_change(client_for(admin_user), rep, is_active=None)
    assert response.status_code == 302
    assert not User.objects.get(pk=rep.pk).is_active
    [row] = audit_rows(AuditAction.DEACTIVATED, rep)
    assert row.actor == admin_user
    assert reps_browser.get(HOME).status_code == 302  # the very next request: signed out


def test_a_reactivated_persons_old_session_stays_ended(client_for, admin_user, rep):
    reps_browser, admin = client_for(rep), client_for(admin_user)
    user_change(admin, rep, is_active=None)
    user_change(admin, rep, is_active="on")
    assert User.objects.get(pk=rep.pk).is_active
    assert [row.actor for row in audit_rows(AuditAction.REACTIVATED, rep)] == [admin_user]
    response = reps_browser.get(HOME)
    assert response.status_code == 302 and response.url.startswith(reverse("reps:login"))
    assert client_for(User.objects.get(pk=rep.pk)).get(HOME).status_code == 200  # a new sign-in works


def test_adding_a_person_in_admin_is_audited_and_their_rights_follow_the_role(client_for, admin_user):
    client = client_for(admin_user)
    response = client.post(
        reverse("admin:reps_user_add"),
        {"username": "newrep", "password1": "a long new password", "password2": "a long new password",
         "usable_password": "true"},
    )  # fmt: skip
    assert response.status_code == 302
    user = User.objects.get(username="newrep")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.REP, False, False)
    [row] = audit_rows(AuditAction.USER_ADDED, user)
    assert row.actor == admin_user


def test_a_password_set_in_admin_is_audited_and_ends_the_persons_sessions(client_for, admin_user, rep):
    reps_browser = client_for(rep)
    url = reverse("admin:auth_user_password_change", args=[rep.pk])  # Django's UserAdmin names it so
    password = "another long password"
    response = client_for(admin_user).post(url, {"password1": password, "password2": password})
    assert response.status_code == 302
    [row] = audit_rows(AuditAction.PASSWORD_CHANGED, rep)
    assert row.actor == admin_user
    assert reps_browser.get(HOME).status_code == 302


def test_people_are_deactivated_not_deleted_in_admin(client_for, admin_user, rep):
    response = client_for(admin_user).post(reverse("admin:reps_user_delete", args=[rep.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=rep.pk).exists()


# --- teams and territories: audited --------------------------------------------------------------------------


def test_a_team_change_in_admin_is_audited_old_to_new(client_for, admin_user, team1, manager, other_manager):
    response = admin_edit(client_for(admin_user), reverse("admin:reps_team_change", args=[team1.pk]),
                          name="East", manager=other_manager.pk)  # fmt: skip
    assert response.status_code == 302
    team1.refresh_from_db()
    assert (team1.name, team1.manager) == ("East", other_manager)
    [row] = audit_rows(AuditAction.CONFIG_CHANGED, team1)
    assert row.detail == {"name": ["T1", "East"], "manager": [manager.pk, other_manager.pk]}


def test_adding_and_deleting_a_territory_in_admin_is_audited(client_for, admin_user, team1):
    client = client_for(admin_user)
    response = client.post(
        reverse("admin:reps_territory_add"), {"name": "Zhejiang", "description": "", "team": team1.pk}
    )
    assert response.status_code == 302
    territory = Territory.objects.get(name="Zhejiang")
    client.post(reverse("admin:reps_territory_delete", args=[territory.pk]), {"post": "yes"})
    assert not Territory.objects.filter(pk=territory.pk).exists()
    details = [row.detail for row in audit_rows(AuditAction.CONFIG_CHANGED, territory)]
    assert details == [{"name": [None, "Zhejiang"], "description": [None, ""], "team": [None, team1.pk]},
                       {"deleted": "Zhejiang"}]  # fmt: skip


# --- the funnel's configuration and customers: read-only here, changed on the app's pages ----------------------


def test_a_stage_cannot_be_archived_or_changed_through_the_pipeline_in_admin(client_for, admin_user, rep, stages):
    proposal = stages["Proposal"]
    OpportunityFactory(owner=rep, stage=proposal)
    pipeline = proposal.pipeline
    client = client_for(admin_user)
    url = reverse("admin:funnel_pipeline_change", args=[pipeline.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert reverse("configuration:pipeline_detail", args=[pipeline.pk]) in page.content.decode()
    assert reverse("configuration:stage_edit", args=[proposal.pk]) in page.content.decode()
    forged = {"name": "Renamed", "is_active": "on", "stages-TOTAL_FORMS": "1", "stages-INITIAL_FORMS": "1",
              "stages-0-id": proposal.pk, "stages-0-pipeline": pipeline.pk, "stages-0-order": 2,
              "stages-0-name": "Proposal", "stages-0-probability": 5, "stages-0-stall_days": 14,
              "stages-0-kind": "won", "stages-0-is_archived": "on"}  # fmt: skip
    assert client.post(url, forged).status_code == 403
    stored = Stage.objects.get(pk=proposal.pk)
    assert (stored.probability, stored.kind, stored.is_archived) == (40, "open", False)
    assert Pipeline.objects.get(pk=pipeline.pk).name == "Project sales"
    assert not AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).exists()


@pytest.mark.parametrize(
    ("model", "make", "app_route"),
    [
        (Pipeline, lambda cast: Pipeline.objects.get(), "configuration:pipeline_detail"),
        (Source, lambda cast: Source.objects.create(name="Fair"), "configuration:source_edit"),
        (Account, lambda cast: AccountFactory(owner=cast["rep"]), "customers:edit"),
    ],
)
def test_funnel_settings_and_customers_are_read_only_in_admin_with_a_link(
    client_for, cast, pipeline, model, make, app_route
):
    obj = make(cast)
    client = client_for(cast["admin"])
    opts = model._meta
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert reverse(app_route, args=[obj.pk]) in page.content.decode()
    before = model.objects.filter(pk=obj.pk).values().get()
    assert client.post(change, {"name": "Changed"}).status_code == 403
    assert client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"), {"name": "New"}).status_code == 403
    delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).values().get() == before


def test_a_customers_contacts_are_listed_in_admin_with_links_to_edit_them(client_for, admin_user, rep):
    contact = ContactFactory(account=AccountFactory(owner=rep), name="Li Wei")
    page = client_for(admin_user).get(reverse("admin:funnel_account_change", args=[contact.account.pk]))
    assert reverse("customers:contact_edit", args=[contact.pk]) in page.content.decode()
