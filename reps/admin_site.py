from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class LoudouAdminSite(admin.AdminSite):
    site_header = _("Loudou administration")
    site_title = _("Loudou")
    index_title = _("Configuration")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_active and user.is_admin and user.is_staff)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        # One sign-in page for everyone, with its throttling; never a second, unthrottled form.
        if request.user.is_authenticated:
            raise PermissionDenied
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"))
