"""Prints server time, queries, SQL time and T_floor for the funnel's list, deep list pages and board.

Run on PostgreSQL after `seed_demo --opportunities 100000` (QUALITY.md, performance goals):
    DATABASE_URL=postgres://... python manage.py bench_funnel --requests 30
"""

import statistics
import time
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse

from funnel.models import Opportunity
from funnel.opportunities.filters import OpportunityFilterForm, cursor_for
from reps.models import User


class QueryClock:
    """Counts and times every query the connection runs while active."""

    def __init__(self):
        self.count, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


@contextmanager
def clocked():
    clock = QueryClock()
    with connection.execute_wrapper(clock):
        yield clock


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Command(BaseCommand):
    help = "Benchmark the opportunity list (first and deep pages) and the board; prints a table."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=30, help="Timed requests per case.")
        parser.add_argument("--deep", type=int, default=5000, help="Rows to skip for the deep-page case.")
        parser.add_argument("--users", default="bench_rep001,bench_manager01,admin", help="Comma-separated usernames.")

    def handle(self, *args, **options):
        users = list(User.objects.filter(username__in=options["users"].split(",")))
        if not users:
            raise CommandError("No such users: run seed_demo --opportunities N first.")
        self.stdout.write(f"database: {connection.vendor}, opportunities: {Opportunity.objects.count():,}")
        header = f"{'case':<22}{'user':<16}{'rows':>9}{'queries':>8}{'p50 ms':>9}{'p95 ms':>9}"
        header += f"{'SQL ms':>9}{'T_floor':>9}{'R_sql':>7}{'R_app':>7}"
        self.stdout.write(header)
        for user in sorted(users, key=lambda u: u.username):
            for case, url in self.cases(user, options["deep"]):
                self.stdout.write(self.measure(case, user, url, options["requests"]))

    def cases(self, user: User, deep: int) -> list[tuple[str, str]]:
        form = OpportunityFilterForm({}, user=user)
        ordered = form.apply(Opportunity.objects.visible_to(user))
        deep_row = ordered[deep : deep + 1].first()
        list_url = reverse("opportunities:list")
        cases = [("list, first page", list_url), ("board", reverse("opportunities:board"))]
        if deep_row is not None:
            cases.insert(1, (f"list, after {deep:,} rows", f"{list_url}?after={cursor_for(deep_row, form.ordering)}"))
        return cases

    def measure(self, case: str, user: User, url: str, requests: int) -> str:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        client.get(url)  # warm caches and the session
        durations, sql, queries = [], [], 0
        for _ in range(requests):
            with clocked() as clock:
                started = time.perf_counter()
                response = client.get(url)
                durations.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise CommandError(f"{case} for {user}: HTTP {response.status_code}")
            sql.append(clock.seconds)
            queries = clock.count
        scope = Opportunity.objects.visible_to(user)
        floors = []
        for _ in range(5):
            started = time.perf_counter()
            rows = scope.count()
            floors.append(time.perf_counter() - started)
        floor, sql_median, p50 = min(floors), statistics.median(sql), statistics.median(durations)
        return (
            f"{case:<22}{user.username:<16}{rows:>9,}{queries:>8}{p50 * 1000:>9.1f}"
            f"{percentile(durations, 0.95) * 1000:>9.1f}{sql_median * 1000:>9.1f}{floor * 1000:>9.1f}"
            f"{sql_median / floor:>7.2f}{p50 / sql_median:>7.2f}"
        )
