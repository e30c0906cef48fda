"""Times the funnel-health scan on the current database: wall time, queries and alerts per kind, twice.

    DATABASE_URL=postgres://... python manage.py bench_scan
The second run is over unchanged data and should write nothing new.
"""

import time

from django.core.management.base import BaseCommand
from django.db import connection

from funnel.alert_services import scan_funnel
from funnel.management.commands.bench_funnel import clocked
from funnel.models import Opportunity
from reps.models import User


class Command(BaseCommand):
    help = "Benchmark the funnel-health scan (two runs: first and unchanged)."

    def handle(self, *args, **options):
        self.stdout.write(
            f"database: {connection.vendor}; opportunities: {Opportunity.objects.count():,}; "
            f"active users: {User.objects.active().count():,}"
        )
        for label in ("first run", "second run"):
            with clocked() as clock:
                started = time.perf_counter()
                summary = scan_funnel()
                seconds = time.perf_counter() - started
            self.stdout.write(f"{label}: {seconds:.2f} s, {clock.count} queries, SQL {clock.seconds:.2f} s")
            self.stdout.write(f"  {'kind':<14}{'new':>8}{'seen':>8}{'resolved':>10}")
            for kind, (new, seen, resolved) in summary.items():
                self.stdout.write(f"  {kind:<14}{new:>8,}{seen:>8,}{resolved:>10,}")
