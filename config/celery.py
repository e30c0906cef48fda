"""The Celery app. Tasks live in each app's tasks.py; the beat schedule is set here, in one place."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("loudou")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs are added here as the apps that own them land.
app.conf.beat_schedule = {}
