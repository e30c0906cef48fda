"""Celery tasks of the funnel: adapters that call the plain functions and set the retry policy."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .health import digest
from .health import services as alert_services
from .insights import figures, rollup
from .opportunities.services import Busy
from .transfer import exports as export_services
from .transfer import imports


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
def refresh_rollup_task() -> dict:
    """Folds the owners whose deals changed into the dashboard's rollup; safe to run twice or at once (a
    second run finding the first one busy returns)."""
    return rollup.refresh()


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_kwargs={"max_retries": 3},
)
def calibration_history_task(
    pipeline_id: int, owner_ids: list[int] | None, stage_ids: list[int], months: int = 12
) -> int:
    """Reads one scope's stage history (None: every deal's) for the dashboard's forecast or the calibration page
    and keeps it for the day (funnel.insights.calibration); a page that asked shows it on its next read."""
    return figures.read_history(pipeline_id, owner_ids, stage_ids, months)


@shared_task(
    autoretry_for=(OperationalError, InterfaceError, Busy),
    retry_backoff=True,
    retry_backoff_max=60,
    retry_kwargs={"max_retries": 3},
)
def import_batch_run_task(batch_id: int) -> None:
    """Imports a confirmed CSV batch; safe to run twice (it carries on after the last chunk committed)."""
    try:
        imports.import_batch_run(batch_id)
    except (OperationalError, InterfaceError, Busy):
        raise  # retried; a run that gives up leaves the batch for its creator to resume
    except Exception:
        imports.import_batch_fail(batch_id)
        raise


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    retry_kwargs={"max_retries": 3},
)
def export_job_run_task(job_id: int, ip: str | None = None) -> None:
    """Writes an export's file; safe to run twice (a new run replaces a run that stopped part-way)."""
    try:
        export_services.export_job_run(job_id, ip)
    except (OperationalError, InterfaceError):
        raise  # retried
    except Exception:
        export_services.export_job_fail(job_id)
        raise
