"""Prints server time, queries and SQL time of the alerts inbox per role: the first page, a page from the
middle and the last page of the open alerts the user sees (keyset cursors), and the other two states.

Run on PostgreSQL after `seed_demo --opportunities 1000000` and a scan (`bench_scan` or `scan_funnel`):
    DATABASE_URL=postgres://... python manage.py bench_alerts --requests 20
"""

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from funnel.health.views import NEWEST_FIRST, AlertFilterForm
from funnel.management.commands.bench_funnel import clocked, percentile
from funnel.models import Alert
from funnel.opportunities.filters import cursor_for
from reps.models import User

LIMIT_MS = 200  # QUALITY G-C2: a list at any page number


class Command(BaseCommand):
    help = "Benchmark the alerts inbox (first, middle and last page; acknowledged; resolved) per role."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=20, help="Timed requests per case.")
        parser.add_argument("--users", default="bench_rep001,bench_manager01,admin", help="Comma-separated usernames.")

    def handle(self, *args, **options):
        users = list(User.objects.filter(username__in=options["users"].split(",")).order_by("username"))
        if not users:
            raise CommandError("No such users: run seed_demo --opportunities N first.")
        self.stdout.write(f"database: {connection.vendor}; open alerts: {Alert.objects.open().count():,}")
        self.stdout.write(f"{'case':<26}{'user':<16}{'queries':>8}{'p50 ms':>9}{'p95 ms':>9}{'SQL ms':>9}")
        for user in users:
            for case, url in self.cases(user):
                self.stdout.write(self.measure(case, user, url, options["requests"]))

    def cases(self, user: User) -> list[tuple[str, str]]:
        url = reverse("health:alert_list")
        form = AlertFilterForm({}, user=user)
        ordered = form.apply(Alert.objects.visible_to(user), timezone.now()).order_by("-first_seen", "-id")
        total = ordered.count()
        cases = [("inbox, first page", url)]
        for label, offset in (("middle", total // 2), ("last page", max(0, total - 10))):
            row = ordered[offset : offset + 1].first()
            if row is not None and offset > 0:
                cases.append((f"inbox, {label} ({offset:,})", f"{url}?after={cursor_for(row, NEWEST_FIRST)}"))
        cases += [("inbox, acknowledged", f"{url}?state=acknowledged"), ("inbox, resolved", f"{url}?state=resolved")]
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
        p95 = percentile(durations, 0.95) * 1000
        flag = "  > 200 ms" if p95 > LIMIT_MS else ""
        return (
            f"{case:<26}{user.username:<16}{queries:>8}{statistics.median(durations) * 1000:>9.1f}"
            f"{p95:>9.1f}{statistics.median(sql) * 1000:>9.1f}{flag}"
        )
