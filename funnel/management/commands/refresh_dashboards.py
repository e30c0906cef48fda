"""Brings the dashboard's rollup up to date now (beat does it every minute): folds in the owners whose deals
changed, or with --rebuild recomputes it whole (after a bulk load). With `--every SECONDS` it refreshes on a
schedule in this process, for the demo without Redis (`make run` starts it beside the web server)."""

import time

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from funnel.insights import rollup

from ._every import run_every


class Command(BaseCommand):
    help = "Bring the dashboard rollup up to date (or rebuild it with --rebuild); prints what it did."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Recompute every owner's rows.")
        parser.add_argument("--every", type=int, metavar="SECONDS", help="Refresh again every SECONDS until stopped.")
        parser.add_argument("--times", type=int, metavar="N", help="With --every: stop after N refreshes.")

    def handle(self, *args, rebuild=False, every=None, times=None, **options) -> None:
        if every is None:
            self.stdout.write(self.refresh(rebuild))
            return
        run_every(every, times, lambda: self.refresh(rebuild), out=self.stdout, err=self.stderr,
                  name="dashboard refresh", stopped="Dashboard refreshes stopped.")  # fmt: skip

    def refresh(self, rebuild: bool) -> str:
        started = time.perf_counter()
        result = rollup.refresh(rebuild=rebuild)
        took = time.perf_counter() - started
        if result["skipped"]:
            return f"{timezone.now():%Y-%m-%d %H:%M:%S} another refresh is running; nothing done"
        what = "rebuilt for" if result["rebuilt"] else "refreshed"
        return f"{timezone.now():%Y-%m-%d %H:%M:%S} dashboard rollup {what} {result['owners']} owners in {took:.1f} s"
