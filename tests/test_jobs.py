"""config.jobs: a job starts after its transaction commits, and is not lost when the queue is down."""

import threading

import pytest
from celery import shared_task
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerDown

from config import jobs

ran: list = []


@shared_task
def record_task(value):
    ran.append((value, threading.current_thread().name))


@pytest.fixture(autouse=True)
def _clear():
    ran.clear()


def wait_for_job_threads() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("job "):
            thread.join(timeout=5)


@pytest.fixture
def background(settings):
    """Jobs as the embedded default runs them: on a thread, after the transaction commits."""
    settings.JOBS_INLINE = False
    settings.CELERY_TASK_ALWAYS_EAGER = True


def test_a_job_waits_for_the_transaction_that_started_it(db, background, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        jobs.enqueue(record_task, "a")
        assert ran == []
    wait_for_job_threads()
    assert [value for value, _thread in ran] == ["a"]


def test_in_the_test_suite_a_job_runs_at_once_in_the_callers_thread(db):
    with transaction.atomic():
        jobs.enqueue(record_task, "inline")
        assert ran == [("inline", threading.current_thread().name)]


def test_a_job_started_in_a_rolled_back_transaction_never_runs(db, background, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        jobs.enqueue(record_task, "b")
        raise RuntimeError
    assert callbacks == []
    assert ran == []


def test_without_redis_a_job_runs_on_a_thread_of_this_process(background):
    jobs._start(record_task, ("c",))
    wait_for_job_threads()
    assert ran == [("c", "job " + record_task.name)]


def test_a_job_the_queue_refuses_runs_here_instead(settings, monkeypatch):
    settings.JOBS_INLINE = False
    settings.CELERY_TASK_ALWAYS_EAGER = False

    def refuse(*args, **kwargs):
        raise BrokerDown("connection refused")

    monkeypatch.setattr(record_task, "apply_async", refuse)
    jobs._start(record_task, ("d",))
    wait_for_job_threads()
    assert [value for value, _thread in ran] == ["d"]
