from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import second_factor


class LoudouAdminSite(admin.AdminSite):
    site_header = _("Loudou administration")
    site_title = _("Loudou")
    index_title = _("Configuration")

    def has_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request) and second_factor.is_verified(request)

    @staticmethod
    def _is_admin(request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_active and user.is_admin and user.is_staff)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        # One sign-in page for everyone, with its throttling; never a second, unthrottled form. An admin
        # whose session has not given its second factor gives it first (reps.second_factor).
        target = request.GET.get("next") or reverse("admin:index")
        if self.has_permission(request):
            return redirect("admin:index")
        if self._is_admin(request):
            raise second_factor.SecondFactorRequired(target)
        if request.user.is_authenticated:
            raise PermissionDenied
        return redirect_to_login(target)
