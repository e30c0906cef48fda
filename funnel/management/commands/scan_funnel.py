"""Runs the funnel-health scan, synchronously, and prints what it found: the same code as beat's job.

Once by default; with `--every SECONDS` it scans on a schedule in this process, for a demo without
Redis (`make run` starts it beside the web server): scan, print a summary line, sleep, until Ctrl-C.
"""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from funnel.health.services import scan_funnel

from ._every import run_every

Summary = dict[str, tuple[int, int, int]]


class Command(BaseCommand):
    help = "Runs the funnel-health scan once (or every --every seconds) and prints new, re-seen and resolved alerts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, metavar="SECONDS", help="Scan again every SECONDS until stopped.")
        parser.add_argument("--times", type=int, metavar="N", help="With --every: stop after N scans.")

    def handle(self, *args, every: int | None = None, times: int | None = None, **options) -> None:
        if every is None:
            self.print_table(scan_funnel())
            return
        run_every(every, times, lambda: self.line(timezone.now(), scan_funnel()), out=self.stdout, err=self.stderr,
                  name="scan", stopped="Funnel-health scans stopped.")  # fmt: skip

    def line(self, at: datetime, summary: Summary) -> str:
        """One line per scan: each kind's new/seen/resolved counts."""
        counts = " · ".join(f"{kind} {new}/{seen}/{resolved}" for kind, (new, seen, resolved) in summary.items())
        return f"{at:%Y-%m-%d %H:%M:%S} scan (new/seen/resolved): {counts}"

    def print_table(self, summary: Summary) -> None:
        width = max(len(kind) for kind in summary)
        self.stdout.write(f"{'kind':<{width}}  {'new':>6}  {'seen':>6}  {'resolved':>8}")
        for kind, (new, seen, resolved) in summary.items():
            self.stdout.write(f"{kind:<{width}}  {new:>6}  {seen:>6}  {resolved:>8}")
