from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FunnelConfig(AppConfig):
    """Pipelines, stages, customers, opportunities and their history."""

    name = "funnel"
    verbose_name = _("Funnel")
