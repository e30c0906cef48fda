"""Celery tasks of the daily log: adapters that call the plain functions and set the retry policy."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import notifications, quality, reminders


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_kwargs={"max_retries": 3},
)
def send_morning_reminders_task() -> int:
    """Each person's morning e-mail once their hour has come; a rerun sends nothing twice (claimed per day)."""
    return reminders.send_morning_reminders()


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_kwargs={"max_retries": 3},
)
def send_notifications_task() -> dict[str, int]:
    """The bell's scheduled notifications: next steps due today, new alerts on one's deals; a rerun notifies
    nothing twice (one key per event)."""
    return notifications.send_notifications()


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_kwargs={"max_retries": 3},
)
def refresh_quality_scores_task() -> dict:
    """Every active rep's data-quality score for this week (and the trend's missing past weeks, once); safe to
    run twice or at once (one row per rep and week, written over)."""
    result = quality.refresh_quality_scores()
    return {**result, "week": result["week"].isoformat()}
