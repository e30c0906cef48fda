"""Admins give a second factor (an authenticator app's code, or a recovery code) before admin pages; anyone may
set one up, and then gives it after the password (issue 11.8, ASVS 4.3.1, QUALITY S30)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from reps import second_factor
from reps.models import AuditAction, AuditEvent
from reps.views import ADMIN_SETUP_NOTICE

pytestmark = pytest.mark.django_db
LOGIN, CODE = reverse("reps:login"), reverse("reps:second_factor")
SETUP, OFF = reverse("reps:second_factor_setup"), reverse("reps:second_factor_disable")
# Every kind of admin-only page: Django admin, funnel settings, activity kinds, targets.
ADMIN_PAGES = [
    reverse("admin:index"),
    reverse("configuration:index"),
    reverse("log:kinds"),
    reverse("insights:target_list"),
]


def app_code(device: TOTPDevice, moment=None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if moment is not None:
        totp.time = moment.timestamp()
    return f"{totp.token():06d}"


def signed_in(user) -> Client:
    """Signed in with the password only (client_for's admin has given the second factor already)."""
    client = Client()
    client.force_login(user)
    return client


def password_sign_in(user, password) -> tuple[Client, object]:
    client = Client()
    return client, client.post(LOGIN, {"username": user.username, "password": password})


def enrolled(user) -> TOTPDevice:
    device = TOTPDevice.objects.create(user=user, name="App", confirmed=True)
    return device


def audited(action) -> int:
    return AuditEvent.objects.filter(action=action).count()


# --- admins without a verified device are sent to set up or verify ------------------------------------------
@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_an_admin_without_an_app_is_sent_to_set_one_up_first(page, admin_user, pipeline):
    response = signed_in(admin_user).get(page, follow=True)
    assert f"{CODE}?{'next=' + page.replace('/', '%2F')}" in [url for url, _status in response.redirect_chain]
    assert response.request["PATH_INFO"] == SETUP
    assert response.context["next"] == page
    assert "Admins give a code" in response.content.decode()
    assert response.context["qr"].startswith("data:image/svg+xml")


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_an_admin_with_an_app_gives_its_code_before_admin_pages(page, admin_user, pipeline):
    device = enrolled(admin_user)
    client = signed_in(admin_user)
    response = client.get(page, follow=True)  # Django admin goes by its sign-in page, which sends on
    assert response.request["PATH_INFO"] == CODE
    assert response.context["next"] == page
    response = client.post(CODE, {"code": app_code(device), "next": page})
    assert response.status_code == 302
    assert response.url == page
    assert client.get(page).status_code == 200


def test_a_verified_admin_passes(client_for, admin_user, pipeline):
    client = client_for(admin_user)
    assert [client.get(page).status_code for page in ADMIN_PAGES] == [200, 200, 200, 200]


def test_a_post_to_an_admin_page_without_the_code_changes_nothing(admin_user, pipeline):
    enrolled(admin_user)
    stage = pipeline.stages.first()
    response = signed_in(admin_user).post(reverse("configuration:stage_archive", args=[stage.pk]))
    assert response.status_code == 302
    assert response.url == CODE
    stage.refresh_from_db()
    assert not stage.is_archived


def test_an_htmx_request_is_sent_to_the_code_page_whole(admin_user, pipeline):
    response = signed_in(admin_user).get(reverse("configuration:index"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(CODE)


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_reps_and_managers_never_need_it(who, cast, client_for, password, pipeline):
    user = cast[who]
    client, response = password_sign_in(user, password)
    assert response.url == "/"
    assert client.get("/").status_code == 200
    assert client.get(CODE).url == reverse("funnel:home")
    assert client.get(reverse("configuration:index")).status_code == 403


# --- enrolment -----------------------------------------------------------------------------------------------
def test_enrolment_confirms_the_app_shows_ten_recovery_codes_once_and_stores_them_hashed(admin_user, pipeline):
    client = signed_in(admin_user)
    page = client.get(SETUP, {"next": reverse("configuration:index")})
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    assert client.get(SETUP).context["secret"] == page.context["secret"]  # a reload keeps the key

    response = client.post(SETUP, {"code": app_code(device), "next": reverse("configuration:index")})
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code) for code in codes)
    stored = set(StaticToken.objects.values_list("token", flat=True))
    assert len(stored) == 10
    assert not stored & {code.replace("-", "") for code in codes} and not stored & set(codes)
    device.refresh_from_db()
    assert device.confirmed
    assert audited(AuditAction.SECOND_FACTOR_ENROLLED) == 1
    assert client.get(reverse("configuration:index")).status_code == 200  # this session is verified
    assert "codes" not in (client.get(SETUP, follow=True).context or {})  # shown once: now "already set up"


def test_a_wrong_enrolment_code_is_refused_and_audited(admin_user):
    client = signed_in(admin_user)
    client.get(SETUP)
    response = client.post(SETUP, {"code": "000000"})
    assert response.status_code == 422
    assert response.context["form"].errors["code"]
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    assert audited(AuditAction.SECOND_FACTOR_FAILED) == 1
    assert client.get(reverse("configuration:index")).status_code == 302


def test_a_rep_may_enrol_and_then_gives_the_code_after_the_password(rep, password):
    client = signed_in(rep)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=rep)
    assert client.post(SETUP, {"code": app_code(device)}).status_code == 200

    later = timezone.now() + timedelta(minutes=2)  # a code is accepted once: the next one
    with time_machine.travel(later, tick=False):
        client, response = password_sign_in(rep, password)
        assert response.url == f"{CODE}?next=%2F"
        assert client.get(reverse("opportunities:list")).url.startswith(CODE)  # every page waits
        assert client.post(CODE, {"code": app_code(device, later), "next": "/"}).url == "/"
        assert client.get(reverse("opportunities:list")).status_code == 200


# --- verification per session, throttling, recovery codes -----------------------------------------------------
def test_signing_out_ends_the_verification(admin_user, password, pipeline):
    device = enrolled(admin_user)
    client, response = password_sign_in(admin_user, password)
    assert response.url.startswith(CODE)
    client.post(CODE, {"code": app_code(device)})
    assert client.get(reverse("configuration:index")).status_code == 200
    client.post(reverse("reps:logout"))

    client, response = password_sign_in(admin_user, password)
    assert client.get(reverse("configuration:index")).url.startswith(CODE)


def test_wrong_codes_are_throttled_and_audited(admin_user, settings, pipeline):
    device = enrolled(admin_user)
    client = signed_in(admin_user)
    start = timezone.now()
    for attempt in range(settings.SECOND_FACTOR_FAILURES):
        with time_machine.travel(start + timedelta(seconds=40 * attempt), tick=False):
            assert client.post(CODE, {"code": "123456"}).status_code == 401
    later = start + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        response = client.post(CODE, {"code": app_code(device, later)})
        assert response.status_code == 429
        assert client.get(reverse("configuration:index")).url.startswith(CODE)
    assert audited(AuditAction.SECOND_FACTOR_FAILED) == settings.SECOND_FACTOR_FAILURES
    cooled = start + settings.LOGIN_FAILURE_WINDOW + timedelta(minutes=5)
    with time_machine.travel(cooled, tick=False):
        assert client.post(CODE, {"code": app_code(device, cooled)}).status_code == 302


def test_a_recovery_code_works_once(admin_user, pipeline):
    client = signed_in(admin_user)
    client.get(SETUP)
    codes = client.post(SETUP, {"code": app_code(TOTPDevice.objects.get(user=admin_user))}).context["codes"]

    first = signed_in(admin_user)
    response = first.post(CODE, {"code": f"  {codes[3].upper()} "})
    assert response.status_code == 302
    assert first.get(reverse("configuration:index")).status_code == 200
    assert audited(AuditAction.RECOVERY_CODE_USED) == 1
    assert StaticToken.objects.count() == 9

    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):  # past django-otp's backoff
        again = signed_in(admin_user)
        assert again.post(CODE, {"code": codes[3]}).status_code == 401
        assert again.get(reverse("configuration:index")).url.startswith(CODE)


def test_switching_off_needs_a_current_code(admin_user, client_for, pipeline):
    device = enrolled(admin_user)
    client = signed_in(admin_user)
    client.post(CODE, {"code": app_code(device)})
    client.post(OFF, {"code": "999999"})
    assert TOTPDevice.objects.filter(user=admin_user).exists()

    later = timezone.now() + timedelta(minutes=2)
    with time_machine.travel(later, tick=False):
        assert client.post(OFF, {"code": app_code(device, later)}).url == reverse("reps:preferences")
        assert not TOTPDevice.objects.filter(user=admin_user).exists()
        assert audited(AuditAction.SECOND_FACTOR_DISABLED) == 1
        assert client.get(reverse("configuration:index")).url.startswith(CODE)  # an admin must set it up again


def test_the_preferences_page_offers_it(rep, client_for):
    page = client_for(rep).get(reverse("reps:preferences")).content.decode()
    assert f'href="{SETUP}' in page
    assert 'data-testid="second-factor-section"' in page


def test_django_admin_sign_in_page_leads_to_the_code_page(admin_user):
    enrolled(admin_user)
    response = signed_in(admin_user).get(reverse("admin:login"), {"next": "/admin/reps/user/"})
    assert response.url == f"{CODE}?next=%2Fadmin%2Freps%2Fuser%2F"


def test_the_keys_are_not_in_django_admin(admin_user, client_for):
    client = client_for(admin_user)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert client.get("/admin/otp_static/staticdevice/").status_code == 404


def test_an_operator_resets_a_lost_app(admin_user, capsys):
    enrolled(admin_user)
    StaticDevice.objects.create(user=admin_user, name="codes")
    call_command("reset_second_factor", admin_user.username)
    assert not second_factor.has_device(admin_user)
    assert not StaticDevice.objects.exists()
    assert AuditEvent.objects.get(action=AuditAction.SECOND_FACTOR_DISABLED).detail == {"reset": True}


def test_an_admin_without_an_app_is_told_at_sign_in(admin_user, rep, password):
    client, response = password_sign_in(admin_user, password)
    assert response.url == "/"
    notices = [str(message) for message in client.get("/").context["messages"]]
    assert notices == [str(ADMIN_SETUP_NOTICE)]
    client, _response = password_sign_in(rep, password)
    assert not list(client.get("/").context["messages"])
