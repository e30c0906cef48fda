"""The second factor (ASVS 4.3.1): a TOTP authenticator app, with single-use recovery codes (django-otp devices).

Admins must verify one before Django admin and every admin-only page (`require_second_factor`); anyone else
may enrol from their preferences. Someone with a device verifies it once per session, right after the
password: until then every page sends them to the code page (SecondFactorMiddleware). Signing out ends the
verification with the session.
"""

import hashlib
import secrets
from base64 import b32encode
from collections.abc import Callable
from urllib.parse import urlencode

import django_otp
import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import AuditAction, AuditEvent, User
from .services import audit_record

PENDING = "loudou_second_factor_pending"  # in the session: signed in with a password, code not yet given
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32: no 0/1/8/9 to mistake for O/I/B/g
RECOVERY_LENGTH = 16  # 80 bits each
APP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


class SecondFactorRequired(Exception):  # noqa: N818 (a signal to the middleware, not an error)
    """Raised by a page that needs a verified second factor; the middleware turns it into a redirect."""

    def __init__(self, next_url: str = ""):
        super().__init__(next_url)
        self.next_url = next_url


# --- state -----------------------------------------------------------------------------------------
def is_verified(request: HttpRequest) -> bool:
    """Whether this session has given a code (django-otp keeps the device it came from in the session)."""
    return bool(request.session.get(django_otp.DEVICE_ID_SESSION_KEY))


def has_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def require_second_factor(request: HttpRequest) -> None:
    """For pages only admins reach: an admin whose session has not given a code is sent to give one (or to
    set the app up first). Call it after the role check."""
    if request.user.is_admin and not is_verified(request):
        raise SecondFactorRequired(request.get_full_path() if request.method in ("GET", "HEAD") else "")


def begin(request: HttpRequest, user: User) -> bool:
    """After the password: remembers that this session still owes a code when the user has an app set up."""
    if has_device(user):
        request.session[PENDING] = True
        return True
    return False


def code_url(next_url: str = "") -> str:
    page = reverse("reps:second_factor")
    return f"{page}?{urlencode({'next': next_url})}" if next_url else page


# --- codes -----------------------------------------------------------------------------------------
def clean_code(typed: str) -> str:
    """A typed code without spaces and dashes, lower case (recovery codes are printed in groups)."""
    return "".join(typed.split()).replace("-", "").lower()


def is_app_code(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


def _recovery_hash(code: str) -> str:
    """What is stored of a recovery code: a SHA-256 prefix. Codes carry 80 random bits, so the hash is safe
    to keep unsalted; the code itself is shown once and never stored."""
    return hashlib.sha256(f"loudou-recovery:{code}".encode()).hexdigest()[
        : StaticToken._meta.get_field("token").max_length
    ]


def new_recovery_code() -> str:
    code = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(code[index : index + 4] for index in range(0, RECOVERY_LENGTH, 4))


def qr_data_uri(device: TOTPDevice) -> str:
    """The enrolment QR code as an SVG data: URI (the CSP allows data: images, not inline script or style)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


def secret_text(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for apps that cannot scan."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[index : index + 4] for index in range(0, len(key), 4))


def failures_in_window(user: User) -> int:
    since = timezone.now() - settings.LOGIN_FAILURE_WINDOW
    return AuditEvent.objects.filter(action=AuditAction.SECOND_FACTOR_FAILED, actor=user, at__gte=since).count()


def is_throttled(user: User) -> bool:
    """Too many wrong codes in the sign-in window: refused until it cools off (django-otp also slows each
    device down after every failure)."""
    return failures_in_window(user) >= settings.SECOND_FACTOR_FAILURES


# --- writes ----------------------------------------------------------------------------------------
def pending_app(user: User) -> TOTPDevice:
    """The app being set up: its key stays the same across reloads of the set-up page until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=APP_NAME, confirmed=False)


@transaction.atomic
def enrol(*, request: HttpRequest, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirms the app with a code it shows; then issues fresh recovery codes (returned, to be shown once)
    and counts this session as verified. None when the code is wrong."""
    if not django_otp.verify_token(request.user, device.persistent_id, clean_code(code)):
        audit_record(action=AuditAction.SECOND_FACTOR_FAILED, request=request, detail={"during": "enrolment"})
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
    codes = _new_recovery_codes(request.user)
    _verified(request, device)
    audit_record(action=AuditAction.SECOND_FACTOR_ENROLLED, request=request, obj=request.user)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=_recovery_hash(clean_code(c))) for c in codes)
    return codes


def check_code(*, request: HttpRequest, code: str) -> tuple[bool, int | None]:
    """Verifies a code from the app or a recovery code (used up on use), and marks the session verified.
    Returns (accepted, recovery codes left when one was used). Every refusal is audited."""
    user, code = request.user, clean_code(code)
    if is_app_code(code):
        devices, token = TOTPDevice.objects.filter(user=user, confirmed=True), code
    else:  # a recovery code is compared by its hash, and only with the recovery codes
        devices, token = StaticDevice.objects.filter(user=user, confirmed=True), _recovery_hash(code)
    device = None
    for candidate in devices:
        if device := django_otp.verify_token(user, candidate.persistent_id, token):
            break
    if device is None:
        audit_record(action=AuditAction.SECOND_FACTOR_FAILED, request=request)
        return False, None
    _verified(request, device)
    if isinstance(device, StaticDevice):
        left = device.token_set.count()
        audit_record(action=AuditAction.RECOVERY_CODE_USED, request=request, obj=user, detail={"left": left})
        return True, left
    return True, None


def _verified(request: HttpRequest, device) -> None:
    """The session has given its code: a new session key for the raised privilege, the device kept in it."""
    request.session.cycle_key()
    django_otp.login(request, device)
    request.session.pop(PENDING, None)


@transaction.atomic
def disable(*, request: HttpRequest) -> None:
    """Removes the app and the recovery codes (the caller has checked a code first)."""
    TOTPDevice.objects.filter(user=request.user).delete()
    StaticDevice.objects.filter(user=request.user).delete()
    request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    request.session.pop(PENDING, None)
    audit_record(action=AuditAction.SECOND_FACTOR_DISABLED, request=request, obj=request.user)


def reset(*, user: User, by: User | None = None) -> int:
    """An operator's reset for someone who lost both the app and the codes (manage.py reset_second_factor)."""
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0] + StaticDevice.objects.filter(user=user).delete()[0]
        audit_record(action=AuditAction.SECOND_FACTOR_DISABLED, actor=by, obj=user, detail={"reset": True})
    return removed


# --- middleware ------------------------------------------------------------------------------------
class SecondFactorMiddleware:
    """Sends a session that still owes its code to the code page, and turns SecondFactorRequired (raised by
    an admin-only page) into a redirect there. Reads only the session: no query on ordinary pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._open: set[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.session.get(PENDING) and request.user.is_authenticated and request.path not in self.open_paths():
            return redirect(code_url(request.get_full_path() if request.method in ("GET", "HEAD") else ""))
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, SecondFactorRequired):
            return None
        response = redirect(code_url(exception.next_url))
        if getattr(request, "htmx", False):  # a swapped fragment cannot show the code page: go there whole
            response = HttpResponse(status=204, headers={"HX-Redirect": response.url})
        return response

    def open_paths(self) -> set[str]:
        """What a session owing its code may still reach: the code page, signing out, the language switch."""
        if self._open is None:
            self._open = {reverse(name) for name in ("reps:second_factor", "reps:logout", "reps:set_language")}
        return self._open
