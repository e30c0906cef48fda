"""Brings the data-quality scores up to date now (beat does it every 15 minutes): this week's score of every
active rep, and the trend's past weeks that have none yet, filled in from history. With `--every SECONDS` it
refreshes on a schedule in this process, for the demo without Redis (`make run` starts it beside the server)."""

import time

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from activity_log.quality import refresh_quality_scores
from funnel.management.commands._every import run_every


class Command(BaseCommand):
    help = "Refresh every active rep's data-quality score for this week (and fill in missing past weeks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, metavar="SECONDS", help="Refresh again every SECONDS until stopped.")
        parser.add_argument("--times", type=int, metavar="N", help="With --every: stop after N refreshes.")

    def handle(self, *args, every=None, times=None, **options) -> None:
        if every is None:
            self.stdout.write(self.refresh())
            return
        run_every(every, times, self.refresh, out=self.stdout, err=self.stderr,
                  name="quality refresh", stopped="Quality score refreshes stopped.")  # fmt: skip

    def refresh(self) -> str:
        started = time.perf_counter()
        result = refresh_quality_scores(timezone.now())
        took = time.perf_counter() - started
        return (
            f"{timezone.now():%Y-%m-%d %H:%M:%S} data-quality scores of the week of {result['week']} for "
            f"{result['reps']} reps, {result['filled']} past weeks of reps filled in from history, in {took:.1f} s"
        )
