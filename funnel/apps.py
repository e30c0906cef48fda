from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FunnelConfig(AppConfig):
    """Pipelines, stages, customers, opportunities and their history."""

    name = "funnel"
    verbose_name = _("Funnel")

    def ready(self) -> None:
        from reps.hooks import register_book_counter

        from .customers.book import book_counts

        register_book_counter(book_counts)
