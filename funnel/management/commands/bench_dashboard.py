"""Prints server time, queries, SQL time and T_floor of /dashboard/ for a rep, a manager and an admin.

Run on PostgreSQL after `seed_demo --opportunities 100000` (QUALITY.md, performance goals):
    DATABASE_URL=postgres://... python manage.py bench_dashboard --requests 30
T_floor is `SELECT count(*)` over the dashboard's scope (what the user may see, in its pipeline), same run.
Every page adds its figures up from the rollup at read time (funnel.insights.figures): "any period" is the
p50 of requests each for a different custom 90-day period (a first read of that period), "2 years" of the
longest period allowed. With --moves N it then moves N deals through the services and times the refresh
that folds them in (the job's work every minute), and with --rebuild the rebuild of the whole rollup.
"""

import statistics
import time
from contextlib import contextmanager
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from funnel.insights import rollup
from funnel.insights.forms import DashboardFilterForm
from funnel.models import Opportunity, StageKind
from funnel.opportunities import services
from reps.models import User

from .bench_funnel import QueryClock, percentile


class StatementClock(QueryClock):
    """QueryClock that also keeps each statement's time, to find the query an index should serve."""

    def __init__(self):
        super().__init__()
        self.timings: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            self.count += 1
            self.timings.append((elapsed, sql))


@contextmanager
def clocked():
    clock = StatementClock()
    with connection.execute_wrapper(clock):
        yield clock


class Command(BaseCommand):
    help = "Benchmark the dashboard per role (p50/p95, queries, SQL time, T_floor, R_sql, R_app); prints a table."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=30, help="Timed requests per user.")
        parser.add_argument("--users", default="bench_rep001,bench_manager01,admin", help="Comma-separated usernames.")
        parser.add_argument("--slowest", type=int, default=0, help="Also print the N slowest queries per user.")
        parser.add_argument("--moves", type=int, default=0, help="Then time the refresh after N stage moves.")
        parser.add_argument("--rebuild", action="store_true", help="Then time a rebuild of the whole rollup.")

    def handle(self, *args, **options):
        users = list(User.objects.filter(username__in=options["users"].split(",")))
        if not users:
            raise CommandError("No such users: run seed_demo --opportunities N first.")
        self.stdout.write(f"database: {connection.vendor}, opportunities: {Opportunity.objects.count():,}")
        header = f"{'case':<12}{'user':<16}{'rows':>9}{'queries':>8}{'p50 ms':>9}{'p95 ms':>9}"
        header += f"{'SQL ms':>9}{'T_floor':>9}{'R_sql':>7}{'R_app':>7}{'any period':>12}{'2 years':>9}"
        rollup.refresh()  # the job keeps it current; the benchmark reads, it does not wait for a fold-in
        self.stdout.write(header)
        for user in sorted(users, key=lambda u: u.username):
            self.stdout.write(self.measure(user, options["requests"], options["slowest"]))
        if options["moves"]:
            self.stdout.write(self.refresh_after_moves(options["moves"]))
        if options["rebuild"]:
            started = time.perf_counter()
            result = rollup.refresh(rebuild=True)
            self.stdout.write(f"rebuild: {result['owners']} owners in {time.perf_counter() - started:.1f} s")

    def measure(self, user: User, requests: int, slowest: int) -> str:
        url = reverse("insights:dashboard")
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        client.get(url)  # warm caches and the session
        durations, sql, queries, timings = [], [], 0, []
        for _ in range(max(requests, 1)):
            with clocked() as clock:
                started = time.perf_counter()
                response = client.get(url)
                durations.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise CommandError(f"dashboard for {user}: HTTP {response.status_code}")
            sql.append(clock.seconds)
            queries, timings = clock.count, clock.timings
        floor, rows = self.floor(user)
        sql_median, p50 = statistics.median(sql), statistics.median(durations)
        periods, longest = self.periods(client, url, requests)
        line = (
            f"{'dashboard':<12}{user.username:<16}{rows:>9,}{queries:>8}{p50 * 1000:>9.1f}"
            f"{percentile(durations, 0.95) * 1000:>9.1f}{sql_median * 1000:>9.1f}{floor * 1000:>9.1f}"
            f"{sql_median / floor:>7.2f}{p50 / sql_median:>7.2f}{periods * 1000:>12.1f}{longest * 1000:>9.1f}"
        )
        for seconds, statement in sorted(timings, reverse=True)[:slowest]:
            line += f"\n    {seconds * 1000:8.1f} ms  {statement[:160]}"
        return line

    def periods(self, client: Client, url: str, requests: int) -> tuple[float, float]:
        """p50 seconds of requests for custom 90-day periods never read before, and of the longest period."""
        today, times = timezone.localdate(), []
        for offset in range(max(requests, 1)):
            end = today - timedelta(days=7 * offset + 1)
            started = time.perf_counter()
            client.get(url, {"period": "custom", "start": end - timedelta(days=89), "end": end})
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.get(url, {"period": "custom", "start": today - timedelta(days=730), "end": today})
        return statistics.median(times), time.perf_counter() - started

    def refresh_after_moves(self, moves: int) -> str:
        """Moves `moves` open deals one stage on through the services, then times the refresh folding them in."""
        deals = list(Opportunity.objects.open().select_related("stage", "owner").order_by("?")[:moves])
        moved = 0
        for deal in deals:
            later = deal.pipeline.stages.filter(kind=StageKind.OPEN, order__gt=deal.stage.order).order_by("order")
            target = later.first()
            if target is not None and not target.checklist_items() and not target.required_fields:
                services.opportunity_move(opportunity=deal, stage=target, by=deal.owner, version=deal.version)
                moved += 1
        started = time.perf_counter()
        result = rollup.refresh()
        return f"refresh after {moved} moves: {result['owners']} owners in {time.perf_counter() - started:.2f} s"

    def floor(self, user: User) -> tuple[float, int]:
        """The fastest of five `SELECT count(*)` over the rows the user's dashboard covers, and that count."""
        form = DashboardFilterForm({}, user=user)
        scope = form.apply(Opportunity.objects.visible_to(user), form.chosen_pipeline())
        floors = []
        for _ in range(5):
            started = time.perf_counter()
            rows = scope.count()
            floors.append(time.perf_counter() - started)
        return max(min(floors), 1e-6), rows
