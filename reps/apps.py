from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class RepsConfig(AppConfig):
    default = True
    name = "reps"
    verbose_name = _("People")

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the deploy checks)
        from config.wording import use_readable_empty_choices

        use_readable_empty_choices()


class LoudouAdminConfig(admin_apps.AdminConfig):
    """Django admin, opened to the admin role only."""

    default = False
    default_site = "reps.admin_site.LoudouAdminSite"
