"""Times the funnel-health scan on the current database: wall time, queries and alerts per kind, twice.

    DATABASE_URL=postgres://... python manage.py bench_scan
The first run starts from no alerts at all: every alert is deleted first (on PostgreSQL the table is
truncated and analysed, as on a clean start), so it writes every alert the data calls for. The second
run is over unchanged data and should write nothing new. `--keep` leaves the alerts and times two rescans.
"""

import time

from django.core.management.base import BaseCommand
from django.db import connection

from funnel.health.services import scan_funnel
from funnel.management.commands.bench_funnel import clocked
from funnel.models import Alert, Opportunity
from reps.models import User


class Command(BaseCommand):
    help = "Benchmark the funnel-health scan: a first run from no alerts, then a rerun over unchanged data."

    def add_arguments(self, parser):
        parser.add_argument("--keep", action="store_true", help="Keep the existing alerts: time two rescans.")

    def handle(self, *args, keep: bool = False, **options):
        self.stdout.write(
            f"database: {connection.vendor}; opportunities: {Opportunity.objects.count():,}; "
            f"active users: {User.objects.active().count():,}"
        )
        if keep:
            labels = ("rescan", "rescan again")
            self.stdout.write(f"keeping {Alert.objects.count():,} alerts")
        else:
            labels = ("first run, from no alerts", "rerun, unchanged data")
            self.stdout.write(f"deleted {clear_alerts():,} alerts: the first run starts from none")
        for label in labels:
            with clocked() as clock:
                started = time.perf_counter()
                summary = scan_funnel()
                seconds = time.perf_counter() - started
            self.stdout.write(f"{label}: {seconds:.2f} s, {clock.count} queries, SQL {clock.seconds:.2f} s")
            self.stdout.write(f"  {'kind':<14}{'new':>8}{'seen':>8}{'resolved':>10}")
            for kind, (new, seen, resolved) in summary.items():
                self.stdout.write(f"  {kind:<14}{new:>8,}{seen:>8,}{resolved:>10,}")


def clear_alerts() -> int:
    """Deletes every alert; on PostgreSQL by TRUNCATE (no dead rows left behind), then ANALYZE."""
    count = Alert.objects.count()
    if connection.vendor != "postgresql":
        Alert.objects.all().delete()
        return count
    table = connection.ops.quote_name(Alert._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # inside a caller's transaction: check its writes now
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(f"TRUNCATE {table}")
        cursor.execute(f"ANALYZE {table}")
    return count
