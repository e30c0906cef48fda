"""Crawls the app as an admin, a benchmark manager and a benchmark rep, and prints per route: how many URLs
were sampled, the status, p50 and p95 server time, queries, SQL time, the peak memory one request
allocates, the growth of the process's peak memory, and a flag for a page over 300 ms or not answering 200.

    DATABASE_URL=postgres://... python manage.py bench_pages --requests 5 --per-route 3

From the home page it follows every same-origin GET link it finds (href, hx-get, the action of a GET
form, a redirect's Location) breadth-first, and groups URLs by their resolved route name, keeping at most
--per-route URLs of each: a list's first and later pages, a few deals, a few customers. Requests go
through Django's test client (server time, no network). Sign-in is force_login; an admin's session is
marked as having given its second factor the way the tests do it (an authenticator device named
"bench_pages" is created for the admin if they have none). Signing out, the language switch and file
downloads (CSV) are not followed.
"""

import resource
import statistics
import time
import tracemalloc
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.urls import Resolver404, resolve
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from funnel.management.commands.bench_funnel import clocked, percentile
from funnel.models import Opportunity
from reps.models import Role, User

LIMIT_MS = 300
# Signing out ends the crawl's session, the language switch changes every later page; the rest are files.
SKIPPED = {
    "reps:logout",
    "admin:logout",
    "reps:set_language",
    "insights:dashboard_export",
    "transfer:import_template",
    "transfer:export_download",
}


class _Links(HTMLParser):
    """The GET targets of a page: links, htmx GETs and GET forms' actions (hx_get marks the htmx ones)."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.found.append((values["href"], False))
        if values.get("hx-get"):
            self.found.append((values["hx-get"], True))
        if tag == "form" and (values.get("method") or "get").lower() == "get" and values.get("action"):
            self.found.append((values["action"], False))


@dataclass
class Route:
    """What was measured for one route name, over its sampled URLs."""

    name: str
    urls: list[str] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    durations: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    queries: int = 0
    peak_mb: float = 0.0
    rss_growth_mb: float = 0.0

    @property
    def flag(self) -> str:
        flags = [f"HTTP {status}" for status in sorted(self.statuses) if status != 200]
        if self.durations and percentile(self.durations, 0.95) * 1000 > LIMIT_MS:
            flags.append(f"> {LIMIT_MS} ms")
        return ", ".join(flags)


class Command(BaseCommand):
    help = "Crawl every page reachable from the home page per role and print a table of server time per route."

    def add_arguments(self, parser):
        parser.add_argument("--users", default="admin,bench_manager01,bench_rep001", help="Comma-separated usernames.")
        parser.add_argument("--requests", type=int, default=5, help="Timed requests per sampled URL.")
        parser.add_argument("--per-route", type=int, default=3, help="URLs sampled per route.")
        parser.add_argument("--max-pages", type=int, default=400, help="Pages fetched per user at most.")

    def handle(self, *args, **options):
        names = options["users"].split(",")
        users = {user.username: user for user in User.objects.filter(username__in=names)}
        if missing := [name for name in names if name not in users]:
            raise CommandError(f"No such users: {', '.join(missing)} (run seed_demo --opportunities N first).")
        self.stdout.write(
            f"database: {connection.vendor}; opportunities: {Opportunity.objects.count():,}; "
            f"{options['requests']} timed requests per URL, up to {options['per_route']} URLs per route"
        )
        slowest = []
        for name in names:
            routes = self.crawl(users[name], options)
            self.print_table(users[name], routes)
            slowest += [(name, route) for route in routes.values() if route.durations]
        self.stdout.write("\nslowest routes (p95):")
        slowest.sort(key=lambda pair: percentile(pair[1].durations, 0.95), reverse=True)
        for name, route in slowest[:10]:
            self.stdout.write(f"  {name:<16}{self.row(route)}")

    def client_for(self, user: User) -> Client:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        if user.role == Role.ADMIN:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            device = device or TOTPDevice.objects.create(user=user, name="bench_pages", confirmed=True)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        return client

    def crawl(self, user: User, options: dict) -> dict[str, Route]:
        """Breadth-first from the home page; each URL is fetched once to find its links, and the sampled ones
        are then timed."""
        client, routes = self.client_for(user), {}
        queue, seen, fetched = deque([("/", False)]), {"/"}, 0
        while queue and fetched < options["max_pages"]:
            url, hx = queue.popleft()
            route = self.route_of(url)
            if route is None or route in SKIPPED:
                continue
            measured = routes.setdefault(route, Route(route))
            if len(measured.urls) >= options["per_route"]:
                continue
            measured.urls.append(url)
            fetched += 1
            for link in self.measure(client, url, hx, measured, options["requests"]):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
        return routes

    def route_of(self, url: str) -> str | None:
        try:
            match = resolve(urlsplit(url).path)
        except Resolver404:
            return None
        return match.view_name

    def measure(self, client: Client, url: str, hx: bool, route: Route, requests: int) -> list[tuple[str, bool]]:
        """Times `requests` GETs of the URL after a first one, which also gives its links."""
        headers = {"HX-Request": "true"} if hx else {}
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        response = client.get(url, headers=headers)
        route.statuses.add(response.status_code)
        for _ in range(requests):
            with clocked() as clock:
                started = time.perf_counter()
                client.get(url, headers=headers)
                route.durations.append(time.perf_counter() - started)
            route.sql.append(clock.seconds)
            route.queries = max(route.queries, clock.count)
        tracemalloc.start()
        client.get(url, headers=headers)
        route.peak_mb = max(route.peak_mb, tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
        route.rss_growth_mb += (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
        return self.links(url, response)

    def links(self, url: str, response) -> list[tuple[str, bool]]:
        """Same-origin GET targets of the response, as paths with their query strings."""
        targets = []
        if response.status_code in (301, 302, 303) and response.get("Location"):
            targets.append((response["Location"], False))
        kind = response.get("Content-Type", "")
        if response.status_code == 200 and kind.startswith("text/html"):
            parser = _Links()
            parser.feed(response.content.decode(errors="replace"))
            targets += parser.found
        found = []
        for target, hx in targets:
            absolute = urlsplit(urljoin("http://localhost" + url, target))
            if absolute.netloc == "localhost" and not absolute.path.startswith("/static/"):
                found.append((absolute.path + (f"?{absolute.query}" if absolute.query else ""), hx))
        return found

    def print_table(self, user: User, routes: dict[str, Route]) -> None:
        self.stdout.write(f"\n{user.username} ({user.get_role_display()}): {len(routes)} routes")
        self.stdout.write(
            f"{'route':<40}{'urls':>5}{'status':>8}{'p50 ms':>9}{'p95 ms':>9}{'queries':>8}{'SQL ms':>8}"
            f"{'peak MB':>9}{'RSS+ MB':>9}  flag"
        )
        for route in sorted(routes.values(), key=lambda route: route.name):
            if route.urls:
                self.stdout.write(self.row(route))

    def row(self, route: Route) -> str:
        status = ",".join(str(status) for status in sorted(route.statuses))
        if not route.durations:
            return f"{route.name:<40}{len(route.urls):>5}{status:>8}"
        return (
            f"{route.name:<40}{len(route.urls):>5}{status:>8}{statistics.median(route.durations) * 1000:>9.1f}"
            f"{percentile(route.durations, 0.95) * 1000:>9.1f}{route.queries:>8}"
            f"{statistics.median(route.sql) * 1000:>8.1f}{route.peak_mb:>9.1f}{route.rss_growth_mb:>9.1f}  {route.flag}"
        )
