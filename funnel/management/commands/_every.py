"""The in-process schedule of the embedded demo without Redis (`make run`): run a job, print its line, sleep,
until Ctrl-C or SIGTERM (make run's trap). Beat runs the same jobs when Redis is there."""

import signal
import threading
import time
from collections.abc import Callable

from django.core.management.base import CommandError, OutputWrapper
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the loop like Ctrl-C


def run_every(
    every: int,
    times: int | None,
    job: Callable[[], str],
    *,
    out: OutputWrapper,
    err: OutputWrapper,
    name: str,
    stopped: str,
) -> None:
    """Runs `job` every `every` seconds (`times` times, or until stopped), printing the line it returns; a
    run that fails on the database (the database away) is reported and the next one runs."""
    if every < 1 or (times is not None and times < 1):
        raise CommandError("--every and --times take a whole number of 1 or more.")
    previous = signal.signal(signal.SIGTERM, _stop) if threading.current_thread() is threading.main_thread() else None
    try:
        done = 0
        while times is None or done < times:
            if not connection.in_atomic_block:  # never drop a connection holding a transaction (tests)
                close_old_connections()  # a long-lived process: drop connections the database has closed
            try:
                out.write(job())
            except DatabaseError as error:
                err.write(f"{timezone.now():%Y-%m-%d %H:%M:%S} {name} failed: {error}")
            out.flush()  # seen at once even when stdout is a pipe
            done += 1
            if times is None or done < times:
                time.sleep(every)
    except KeyboardInterrupt:
        out.write(stopped)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
