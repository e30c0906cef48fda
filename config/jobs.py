"""Starting background work (an import, an export, a dashboard refresh) without holding up the request.

With Redis, the task goes to the Celery worker. Without it (the embedded default, `make run`), it runs on
a thread of this process, so the page that started it answers at once and can show progress. If the
broker refuses the task (Redis down or hung past its socket timeout), it runs on a thread here too
rather than being lost (QUALITY R1). Either way it starts only after the current transaction commits, so
it sees what started it. With JOBS_INLINE (the test suite, whose tests each run inside one transaction) it
runs at once, in the caller's thread and transaction.

A task started this way must be safe to run twice: a worker killed mid-task runs it again.
"""

import logging
import threading

from celery import Task
from django.conf import settings
from django.db import connections, transaction
from kombu.exceptions import KombuError

log = logging.getLogger(__name__)


def enqueue(task: Task, *args) -> None:
    """Runs `task(*args)` in the background once the current transaction commits (at once outside one)."""
    if settings.JOBS_INLINE:
        task.apply(args=args)
    else:
        transaction.on_commit(lambda: _start(task, args))


def _start(task: Task, args: tuple) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:  # no Redis: this process is the worker
        _on_thread(task, args)
    else:
        try:
            task.apply_async(args=args, retry=False)
        except (KombuError, OSError):
            log.warning("the job queue is unavailable; running %s in this process", task.name, exc_info=True)
            _on_thread(task, args)


def _on_thread(task: Task, args: tuple) -> None:
    threading.Thread(target=_run, args=(task, args), name=f"job {task.name}", daemon=True).start()


def _run(task: Task, args: tuple) -> None:
    try:
        task.apply(args=args)
    finally:
        connections.close_all()  # a thread's connections are its own; leave none open
