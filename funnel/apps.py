from django.apps import AppConfig


class FunnelConfig(AppConfig):
    """Pipelines, stages, customers, opportunities and their history."""

    name = "funnel"
    verbose_name = "Funnel"
