"""Prints what the pages with pickers cost, per role: server time, queries, page size and the memory a request
takes; and the picker endpoint's search times.

Run on PostgreSQL after `seed_demo --opportunities N` (issue: no unbounded choice list):
    DATABASE_URL=postgres://... python manage.py bench_forms --requests 10
"""

import statistics
import time
import tracemalloc
from urllib.parse import urlencode

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, reverse

from funnel.management.commands.bench_funnel import clocked, percentile
from funnel.models import Account, Opportunity
from reps.models import User

# Picker searches: a text in every name, one name, a text inside 1% of the names, one that matches nothing, two
# Chinese characters and two letters (too short for a trigram: the start of names).
SEARCHES = {
    "customer": ["Bench", "Bench customer 12345", "stomer 99", "zzzz", "滨江", "Be"],
    "opportunity": ["Bench", "Bench deal 12345", "eal 99", "zzzz", "滨江", "Be"],
}


class Command(BaseCommand):
    help = "Benchmark the daily log, the visit form, the forms with people pickers and the picker endpoint."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=10, help="Timed requests per case.")
        parser.add_argument("--users", default="bench_rep001,bench_manager01,admin", help="Comma-separated usernames.")
        parser.add_argument("--skip-search", action="store_true", help="Only the pages, not the picker endpoint.")
        parser.add_argument("--only", default="", help="Only the cases whose name holds this text (e.g. pick).")

    def handle(self, *args, **options):
        users = list(User.objects.filter(username__in=options["users"].split(",")).order_by("username"))
        if not users:
            raise CommandError("No such users: run seed_demo --opportunities N first.")
        self.stdout.write(
            f"database: {connection.vendor}, opportunities: {Opportunity.objects.count():,}, "
            f"customers: {Account.objects.count():,}, people: {User.objects.count():,}"
        )
        self.stdout.write(
            f"{'case':<34}{'user':<16}{'status':>7}{'queries':>8}{'p50 ms':>9}{'p95 ms':>9}{'KB':>8}{'peak MB':>9}"
        )
        for user in users:
            for case, url in self.cases(user, options["skip_search"]):
                if options["only"] not in case:
                    continue
                self.stdout.write(self.measure(case, user, url, options["requests"]))

    def cases(self, user: User, skip_search: bool) -> list[tuple[str, str]]:
        cases = [("daily log /log/", "/log/"), ("visit form", "/log/activity/new/")]
        deal = Opportunity.objects.visible_to(user).open().order_by("pk").first()
        if deal is not None:
            cases.append(("visit form, deal chosen", f"/log/activity/new/?account={deal.account_id}"))
            cases.append(("opportunity page", f"/opportunities/{deal.pk}/"))
        cases += [("new opportunity", "/opportunities/new/"), ("opportunity list", "/opportunities/")]
        cases += [("dashboard", "/dashboard/"), ("alerts", "/alerts/")]
        try:
            pick = reverse("search:pick", args=["customer"])
        except NoReverseMatch:  # before the pickers existed
            return cases
        if not skip_search:
            cases.append(("pick customer, suggestions", pick))
            for source, queries in SEARCHES.items():
                url = reverse("search:pick", args=[source])
                cases += [(f"pick {source[:8]} “{query}”", f"{url}?{urlencode({'q': query})}") for query in queries]
            cases.append(("pick person “bench_rep1”", f"{reverse('search:pick', args=['person'])}?q=bench_rep1"))
        return cases

    def measure(self, case: str, user: User, url: str, requests: int) -> str:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        client.get(url)  # warm caches and the session
        durations, queries, size, status = [], 0, 0, 0
        for _ in range(requests):
            with clocked() as clock:
                started = time.perf_counter()
                response = client.get(url)
                durations.append(time.perf_counter() - started)
            queries, size, status = clock.count, len(response.content), response.status_code
        tracemalloc.start()
        client.get(url)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return (
            f"{case[:33]:<34}{user.username:<16}{status:>7}{queries:>8}{statistics.median(durations) * 1000:>9.1f}"
            f"{percentile(durations, 0.95) * 1000:>9.1f}{size / 1024:>8.0f}{peak / 2**20:>9.1f}"
        )
