from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from . import second_factor, services
from .access import require_role
from .forms import LoginForm, PreferencesForm
from .middleware import SESSION_AUTH_AT
from .models import AuditAction, Role, User
from .second_factor_views import CodeForm


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


def _remember_language(response: HttpResponse, language: str) -> HttpResponse:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


def _adopt_page_language(request: HttpRequest, user: User) -> None:
    """What the person read the sign-in page in, kept on their profile from the first sign-in on: the language
    chosen on that page (its cookie) always; the browser's Accept-Language only while the profile still has
    the site's default language (a language someone set up for them stays)."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    from_browser = request.headers.get("Accept-Language") and user.language == settings.LANGUAGE_CODE
    if not (chosen or from_browser):
        return
    language = translation.get_language_from_request(request)
    if language in dict(settings.LANGUAGES) and language != user.language:
        services.user_set_preferences(user=user, language=language, time_zone=user.time_zone)


ADMIN_SETUP_NOTICE = gettext_lazy(
    "The settings and administration pages will first ask you to set up two-step sign-in with an authenticator "
    "app on your phone: a minute, once."
)


@sensitive_post_parameters("password")
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    """Sign in. Unknown user, wrong password and inactive account all get the same answer."""
    form = LoginForm(request, data=request.POST or None)
    if request.method != "POST":
        return render(request, "reps/login.html", {"form": form, "next": _safe_next(request)})
    username = request.POST.get("username", "")
    key = services.login_key(username=username)  # counted as the form and the backend will read it
    if services.login_is_throttled(key=key, ip=services.client_ip(request)):
        services.audit_record(action=AuditAction.LOGIN_THROTTLED, request=request, username=key)
        context = {
            "form": LoginForm(request, initial={"username": username}),
            "next": _safe_next(request),
            "error": _("Too many failed sign-in attempts. Please wait 15 minutes and try again."),
        }
        return render(request, "reps/login.html", context, status=429)
    if not form.is_valid():
        services.login_record_failure(request=request, key=key)
        return render(request, "reps/login.html", {"form": form, "next": _safe_next(request)})
    user = form.get_user()
    if user.last_login is None:  # first sign-in: the language the sign-in page was in becomes theirs
        _adopt_page_language(request, user)
    auth_login(request, user)
    request.session[SESSION_AUTH_AT] = timezone.now().timestamp()
    services.audit_record(action=AuditAction.LOGIN, request=request, actor=user)
    if second_factor.begin(request, user):  # the app is set up: its code before any page
        return _remember_language(redirect(second_factor.code_url(_safe_next(request))), user.language)
    if user.is_admin:
        with translation.override(user.language):  # the next page is in the user's language: so is this
            messages.info(request, str(ADMIN_SETUP_NOTICE))
    return _remember_language(redirect(_safe_next(request)), user.language)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.audit_record(action=AuditAction.LOGOUT, request=request)
    auth_logout(request)
    messages.success(request, _("You have signed out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


@sensitive_post_parameters()
@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.user_change_password(request=request, user=request.user, password=form.cleaned_data["new_password1"])
        messages.success(request, _("Your password has been changed. Your other sessions have been signed out."))
        return redirect("reps:preferences")
    return render(request, "reps/password_change.html", {"form": form})


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = services.user_set_preferences(user=request.user, **form.cleaned_data)
        messages.success(request, _("Your preferences have been saved."))
        return _remember_language(redirect("reps:preferences"), user.language)
    context = {"form": form, "second_factor": second_factor.has_device(request.user), "code_form": CodeForm()}
    return render(request, "reps/preferences.html", context)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The language switcher: Django's cookie-setting view, remembered on the user's profile too."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.user_set_preferences(user=request.user, language=language, time_zone=request.user.time_zone)
    return response


@login_required
def team(request: HttpRequest) -> HttpResponse:
    """The people a manager (or admin) is responsible for."""
    require_role(request, Role.MANAGER, Role.ADMIN)
    people = (
        User.objects.visible_to(request.user)
        .active()
        .select_related("team__manager", "territory")
        .order_by("team__name", "role", "username")
    )
    return render(request, "reps/team.html", {"people": people})
