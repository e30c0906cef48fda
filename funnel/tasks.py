"""Celery tasks of the funnel: adapters that call the plain functions and set the retry policy."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import alert_services, dashboard_figures, digest


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_kwargs={"max_retries": 5},
)
def scan_funnel_task() -> dict[str, list[int]]:
    """The periodic funnel-health scan; safe to run twice or concurrently (alerts are deduplicated)."""
    return {kind: list(counts) for kind, counts in alert_services.scan_funnel().items()}


@shared_task(
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_kwargs={"max_retries": 5},
)
def send_alert_digests_task() -> int:
    """The daily e-mail digest of new alerts to each manager."""
    return digest.send_alert_digests()


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_kwargs={"max_retries": 3},
)
def refresh_dashboard_summaries_task() -> dict[str, int]:
    """Recomputes the team and organisation dashboards' summaries; safe to run twice (each row is replaced)."""
    return dashboard_figures.refresh_summaries()
