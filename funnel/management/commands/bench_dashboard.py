"""Prints server time, queries, SQL time and T_floor of /dashboard/ for a rep, a manager and an admin.

Run on PostgreSQL after `seed_demo --opportunities 100000` (QUALITY.md, performance goals):
    DATABASE_URL=postgres://... python manage.py bench_dashboard --requests 30
T_floor is `SELECT count(*)` over the dashboard's scope (what the user may see, in its pipeline), same run.
A team's or the organisation's page reads a summary (funnel.dashboard_figures); "live ms" is what computing
the same figures takes (a summary's refresh, or a request that finds none).
"""

import statistics
import time
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from funnel import dashboard_figures, metrics
from funnel.dashboard_forms import DashboardFilterForm
from funnel.models import Opportunity
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

    def handle(self, *args, **options):
        users = list(User.objects.filter(username__in=options["users"].split(",")))
        if not users:
            raise CommandError("No such users: run seed_demo --opportunities N first.")
        self.stdout.write(f"database: {connection.vendor}, opportunities: {Opportunity.objects.count():,}")
        header = f"{'case':<12}{'user':<16}{'rows':>9}{'queries':>8}{'p50 ms':>9}{'p95 ms':>9}"
        header += f"{'SQL ms':>9}{'T_floor':>9}{'R_sql':>7}{'R_app':>7}  {'served from':<12}{'live ms':>9}"
        self.stdout.write(header)
        for user in sorted(users, key=lambda u: u.username):
            self.stdout.write(self.measure(user, options["requests"], options["slowest"]))

    def measure(self, user: User, requests: int, slowest: int) -> str:
        url = reverse("funnel:dashboard")
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
        live, served = self.live(user), "summary" if b'data-testid="as-of"' in response.content else "live"
        line = (
            f"{'dashboard':<12}{user.username:<16}{rows:>9,}{queries:>8}{p50 * 1000:>9.1f}"
            f"{percentile(durations, 0.95) * 1000:>9.1f}{sql_median * 1000:>9.1f}{floor * 1000:>9.1f}"
            f"{sql_median / floor:>7.2f}{p50 / sql_median:>7.2f}  {served:<12}{live * 1000:>9.1f}"
        )
        for seconds, statement in sorted(timings, reverse=True)[:slowest]:
            line += f"\n    {seconds * 1000:8.1f} ms  {statement[:160]}"
        return line

    def live(self, user: User) -> float:
        """Seconds to compute the user's default figures live: what a summary saves (and the job spends)."""
        form = DashboardFilterForm({}, user=user)
        pipeline = form.chosen_pipeline()
        start, end = form.dates(timezone.localdate())
        scope = dashboard_figures.figure_scope(form.owners(user), pipeline, None, start, end)
        stages = metrics.open_stages(pipeline)
        started = time.perf_counter()
        dashboard_figures.compute(scope, stages)
        return time.perf_counter() - started

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
