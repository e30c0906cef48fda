"""The Celery app. Tasks live in each app's tasks.py; the beat schedule is set here, in one place."""

import os

from celery import Celery
from celery.schedules import crontab

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
    # The dashboard adds up a rollup; this folds in the owners whose deals changed (a dashboard read that finds
    # changes waiting starts the same refresh, so this is the floor, not the only way).
    "refresh-dashboards": {
        "task": "funnel.tasks.refresh_rollup_task",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},
    },
    # 00:30 UTC: the start of the working day in East Asia, the evening before in the Americas.
    "alert-digest": {
        "task": "funnel.tasks.send_alert_digests_task",
        "schedule": crontab(hour=0, minute=30),
        "options": {"expires": 6 * 60 * 60},
    },
    # Every 10 minutes: each person's morning e-mail goes once their chosen hour has come in their time zone
    # (claimed per person and day, so overlapping or repeated runs send it once).
    "morning-reminders": {
        "task": "activity_log.tasks.send_morning_reminders_task",
        "schedule": crontab(minute="*/10"),
        "options": {"expires": 9 * 60},
    },
    # Every 15 minutes, 5 minutes after each scan: the bell's next steps due today (from each person's local
    # midnight, on working days) and new alerts on their deals (one per person and scan). Keyed per event, so
    # overlapping or repeated runs notify once.
    "notifications": {
        "task": "activity_log.tasks.send_notifications_task",
        "schedule": crontab(minute=f"5-59/{SCAN_MINUTES}"),
        "options": {"expires": (SCAN_MINUTES - 1) * 60},
    },
    # Every 15 minutes, 10 minutes after each scan: every active rep's data-quality score for this week (a full
    # recompute in a fixed number of grouped queries, so not every minute like the dashboard's incremental fold).
    "quality-scores": {
        "task": "activity_log.tasks.refresh_quality_scores_task",
        "schedule": crontab(minute=f"10-59/{SCAN_MINUTES}"),
        "options": {"expires": (SCAN_MINUTES - 1) * 60},
    },
}
