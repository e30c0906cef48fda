"""The Celery app. Tasks live in each app's tasks.py; the beat schedule is set here, in one place."""

import os

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("loudou")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs are added here as the apps that own them land.
SCAN_MINUTES = 15
app.conf.beat_schedule = {
    # Derives its work from the database, so a run missed while Redis was down is caught up by the
    # next one; a run left in the queue past the next one is dropped rather than doubled.
    "scan-funnel": {
        "task": "funnel.tasks.scan_funnel_task",
        "schedule": crontab(minute=f"*/{SCAN_MINUTES}"),
        "options": {"expires": (SCAN_MINUTES - 1) * 60},
    },
    # Team and organisation dashboards read summaries; a request recomputes one older than the max age.
    "refresh-dashboards": {
        "task": "funnel.tasks.refresh_dashboard_summaries_task",
        "schedule": crontab(minute=f"*/{settings.DASHBOARD_SUMMARY_MINUTES}"),
        "options": {"expires": (settings.DASHBOARD_SUMMARY_MINUTES - 1) * 60},
    },
    # 00:30 UTC: the start of the working day in East Asia, the evening before in the Americas.
    "alert-digest": {
        "task": "funnel.tasks.send_alert_digests_task",
        "schedule": crontab(hour=0, minute=30),
        "options": {"expires": 6 * 60 * 60},
    },
}
