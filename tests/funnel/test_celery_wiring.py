"""The scan task through a real Celery worker and Redis, once (CI has both; skipped elsewhere)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg2
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


def start_worker(queue: str, *pool: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.Popen(  # noqa: S603  (our own Celery app, fixed arguments)
        [sys.executable, "-m", "celery", "-A", "config", "worker", *pool, "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop_worker(worker: subprocess.Popen) -> str:
    worker.terminate()
    try:
        return worker.communicate(timeout=10)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        worker.kill()
        return ""


def wait_for(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def waiting_on_a_lock() -> bool:
    """Whether a session of the test database waits for a lock (asked outside the blocker's transaction,
    which would see one snapshot of pg_stat_activity)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@needs_worker
@pytest.mark.django_db(transaction=True)
def test_scan_task_runs_in_a_real_worker_and_writes_alerts(rep, pipeline, settings):
    qualified = Stage.objects.get(name="Qualified")
    qualified.stall_days = 14
    qualified.save()
    deal = OpportunityFactory(owner=rep, stage=qualified, stage_entered_at=timezone.now() - timedelta(days=30))
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue, "--pool=solo")
    try:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        scan_funnel_task.apply_async(queue=queue)
        wait_for(lambda: Alert.objects.filter(opportunity=deal).exists())
        assert Alert.objects.filter(opportunity=deal, kind="stalled", resolved_at__isnull=True).count() == 1
    finally:
        output = stop_worker(worker)
    assert "Traceback" not in output, output


@needs_worker
@pytest.mark.django_db(transaction=True)
def test_a_scan_whose_worker_process_is_killed_runs_again_and_writes_each_alert_once(rep, pipeline, settings):
    """QUALITY R4: kill -9 the pool process mid-scan; late acknowledgement and reject-on-worker-lost put the
    task back, a new process runs it, and the alert exists exactly once."""
    qualified = Stage.objects.get(name="Qualified")
    qualified.stall_days = 14
    qualified.save()
    deal = OpportunityFactory(owner=rep, stage=qualified, stage_entered_at=timezone.now() - timedelta(days=30))
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue, "--pool=prefork", "--concurrency=1")
    blocker = psycopg2.connect(database_url())  # holds the alert table, so the scan stops at its first write
    try:
        with blocker.cursor() as cursor:
            cursor.execute("LOCK TABLE funnel_alert IN EXCLUSIVE MODE")
        settings.CELERY_TASK_ALWAYS_EAGER = False
        scan_funnel_task.apply_async(queue=queue)
        assert wait_for(waiting_on_a_lock), "the scan never reached the alert table"
        children = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()  # noqa: S603, S607
        assert len(children) == 1, children
        os.kill(int(children[0]), signal.SIGKILL)  # the process running the scan, mid-transaction
        time.sleep(1)
        blocker.rollback()
        assert wait_for(lambda: Alert.objects.filter(opportunity=deal).exists()), "the scan was not run again"
        assert Alert.objects.filter(opportunity=deal, kind="stalled", resolved_at__isnull=True).count() == 1
    finally:
        blocker.close()
        output = stop_worker(worker)
    assert "WorkerLostError" in output, output  # the loss was seen, and the task rejected back to the queue


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
        reverse("opportunities:create"),
        {"name": "Saved anyway", "account": account.pk, "amount": "100", "owner": rep.pk,
         "stage": Stage.objects.get(name="Qualified").pk},
    )  # fmt: skip
    assert response.status_code == 302
    assert time.monotonic() - started < 2
