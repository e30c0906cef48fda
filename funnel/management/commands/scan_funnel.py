"""Runs the funnel-health scan, synchronously, and prints what it found: the same code as beat's job.

Once by default; with `--every SECONDS` it scans on a schedule in this process, for a demo without
Redis (`make run` starts it beside the web server): scan, print a summary line, sleep, until Ctrl-C.
"""

import signal
import threading
import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from funnel.alert_services import scan_funnel

Summary = dict[str, tuple[int, int, int]]


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM (make run's trap) stops the loop like Ctrl-C


class Command(BaseCommand):
    help = "Runs the funnel-health scan once (or every --every seconds) and prints new, re-seen and resolved alerts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, metavar="SECONDS", help="Scan again every SECONDS until stopped.")
        parser.add_argument("--times", type=int, metavar="N", help="With --every: stop after N scans.")

    def handle(self, *args, every: int | None = None, times: int | None = None, **options) -> None:
        if every is None:
            self.print_table(scan_funnel())
            return
        if every < 1 or (times is not None and times < 1):
            raise CommandError("--every and --times take a whole number of 1 or more.")
        previous = self.catch_sigterm()
        try:
            self.loop(every, times)
        except KeyboardInterrupt:
            self.stdout.write("Funnel-health scans stopped.")
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def catch_sigterm(self):
        """SIGTERM (make run's trap) ends the loop like Ctrl-C; returns the handler to put back, if replaced."""
        if threading.current_thread() is not threading.main_thread():
            return None
        return signal.signal(signal.SIGTERM, _stop)

    def loop(self, every: int, times: int | None) -> None:
        """Scan, print one line, sleep; a failed scan (the database away) is reported and retried next time."""
        done = 0
        while times is None or done < times:
            if not connection.in_atomic_block:  # never drop a connection holding a transaction (tests)
                close_old_connections()  # a long-lived process: drop connections the database has closed
            try:
                self.stdout.write(self.line(timezone.now(), scan_funnel()))
            except DatabaseError as error:
                self.stderr.write(f"{timezone.now():%Y-%m-%d %H:%M:%S} scan failed: {error}")
            self.stdout.flush()  # seen at once even when stdout is a pipe
            done += 1
            if times is None or done < times:
                time.sleep(every)

    def line(self, at: datetime, summary: Summary) -> str:
        """One line per scan: each kind's new/seen/resolved counts."""
        counts = " · ".join(f"{kind} {new}/{seen}/{resolved}" for kind, (new, seen, resolved) in summary.items())
        return f"{at:%Y-%m-%d %H:%M:%S} scan (new/seen/resolved): {counts}"

    def print_table(self, summary: Summary) -> None:
        width = max(len(kind) for kind in summary)
        self.stdout.write(f"{'kind':<{width}}  {'new':>6}  {'seen':>6}  {'resolved':>8}")
        for kind, (new, seen, resolved) in summary.items():
            self.stdout.write(f"{kind:<{width}}  {new:>6}  {seen:>6}  {resolved:>8}")
