"""The scan task through a real Celery worker and Redis, once (CI has both; skipped elsewhere)."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from funnel.models import Alert, Stage
from funnel.tasks import scan_funnel_task
from tests.factories import OpportunityFactory

ROOT = Path(__file__).resolve().parents[2]
needs_worker = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or connection.vendor != "postgresql",
    reason="needs Redis and a database a second process can open (PostgreSQL)",
)


def database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@needs_worker
@pytest.mark.django_db(transaction=True)
def test_scan_task_runs_in_a_real_worker_and_writes_alerts(rep, pipeline, settings):
    qualified = Stage.objects.get(name="Qualified")
    qualified.stall_days = 14
    qualified.save()
    deal = OpportunityFactory(owner=rep, stage=qualified, stage_entered_at=timezone.now() - timedelta(days=30))
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "config.settings"}
    worker = subprocess.Popen(  # noqa: S603  (our own Celery app, fixed arguments)
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        scan_funnel_task.apply_async(queue=queue)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not Alert.objects.filter(opportunity=deal).exists():
            time.sleep(0.5)
        assert Alert.objects.filter(opportunity=deal, kind="stalled", resolved_at__isnull=True).count() == 1
    finally:
        worker.terminate()
        try:
            output = worker.communicate(timeout=10)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            worker.kill()
            output = ""
    assert "Traceback" not in output, output


@pytest.mark.django_db
def test_saving_works_with_redis_unreachable(client_for, rep, pipeline, settings):
    """QUALITY R1/G-B4: no request path waits on the broker or the cache."""
    from django.urls import reverse

    from tests.factories import AccountFactory

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    account = AccountFactory(owner=rep)
    started = time.monotonic()
    response = client_for(rep).post(
        reverse("funnel:opportunity_create"),
        {"name": "Saved anyway", "account": account.pk, "amount": "100", "owner": rep.pk,
         "stage": Stage.objects.get(name="Qualified").pk},
    )  # fmt: skip
    assert response.status_code == 302
    assert time.monotonic() - started < 2
