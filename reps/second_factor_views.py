"""Pages of the second factor: give a code, set the authenticator app up (QR code, then recovery codes shown
once), switch it off. The rules are in reps.second_factor."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from . import second_factor as factor


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=40,
        help_text=gettext_lazy("The 6 digits your authenticator app shows, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("funnel:home")


def _with_next(name: str, target: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': target})}"


@sensitive_post_parameters("code")
@never_cache
@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """The code page: after the password for anyone with the app set up, before admin pages for admins."""
    target = _next(request)
    if not factor.has_device(request.user):
        request.session.pop(factor.PENDING, None)
        if request.user.is_admin:  # first admin page: set the app up (that verifies this session too)
            return redirect(_with_next("reps:second_factor_setup", target))
        return redirect(target)
    form = CodeForm(request.POST or None)
    status, throttled = 200, factor.is_throttled(request.user)
    if request.method == "POST" and throttled:
        status = 429
    elif request.method == "POST" and form.is_valid():
        accepted, left = factor.check_code(request=request, code=form.cleaned_data["code"])
        if accepted:
            if left is not None:
                messages.warning(request, _recovery_left_message(left))
            return redirect(target)
        form.add_error("code", _("That code was not accepted. Check the time on your phone, or wait a moment."))
        status = 401
    context = {"form": form, "next": target, "throttled": throttled or status == 429}
    return render(request, "reps/second_factor.html", context, status=status)


def _recovery_left_message(left: int) -> str:
    return ngettext(
        "You signed in with a recovery code; %(left)d is left. For new ones, switch two-step sign-in off and on "
        "again in Preferences.",
        "You signed in with a recovery code; %(left)d are left. For new ones, switch two-step sign-in off and on "
        "again in Preferences.",
        left,
    ) % {"left": left}


@sensitive_post_parameters("code")
@never_cache
@login_required
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set the app up: scan the QR code (or type the key), confirm with a code, then keep the recovery codes,
    which this page shows once."""
    target = _next(request)
    if factor.has_device(request.user):
        messages.info(request, _("Two-step sign-in is already set up."))
        return redirect("reps:preferences")
    device = factor.pending_app(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if factor.is_throttled(request.user):
            form.add_error("code", _("Too many wrong codes. Please wait 15 minutes and try again."))
        elif (codes := factor.enrol(request=request, device=device, code=form.cleaned_data["code"])) is not None:
            return render(request, "reps/second_factor_codes.html", {"codes": codes, "next": target})
        else:
            form.add_error("code", _("That code was not accepted. Check the time on your phone and try again."))
    context = {"form": form, "next": target, "qr": factor.qr_data_uri(device), "secret": factor.secret_text(device)}
    return render(request, "reps/second_factor_setup.html", context, status=422 if form.errors else 200)


@sensitive_post_parameters("code")
@login_required
@require_POST
def second_factor_disable(request: HttpRequest) -> HttpResponse:
    """Switch two-step sign-in off, with a current code (a session left open cannot do it alone)."""
    form = CodeForm(request.POST)
    if factor.is_throttled(request.user):
        messages.error(request, _("Too many wrong codes. Please wait 15 minutes and try again."))
    elif form.is_valid() and factor.check_code(request=request, code=form.cleaned_data["code"])[0]:
        factor.disable(request=request)
        messages.success(request, _("Two-step sign-in is off."))
    else:
        messages.error(request, _("That code was not accepted, so two-step sign-in is still on."))
    return redirect("reps:preferences")
