"""Times the global search (funnel.search.finder) through its pages as an admin, a benchmark manager and a
benchmark rep, and prints per search: p50 and p95 server time, queries and SQL time of the results page and
of the top bar's suggestions.

    DATABASE_URL=postgres://... python manage.py seed_demo --opportunities 1000000
    DATABASE_URL=postgres://... python manage.py bench_search --customers 200000

`--customers N` first tops the customers up to N (PostgreSQL: made by the server, one INSERT … SELECT), each
new one with a Chinese name ("宁波海通机电集团 12345"), a phone written with spaces and one contact with a
phone and an e-mail, so that Chinese two-character searches and phone searches meet realistic volumes.
Requests go through Django's test client (server time, no network), signed in with force_login.
"""

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from funnel.management.commands import _pg_load
from funnel.management.commands.bench_funnel import clocked, percentile
from funnel.models import Account, Contact
from reps.models import User

LIMIT_MS = 100
SEARCHES = [
    ("2 Chinese characters", "宁波"),
    ("3 Chinese characters", "海通机电"),
    ("a common 2-character piece", "集团"),
    ("1 character", "宁"),
    ("deal name start", "Bench deal 4242"),
    ("deal name inside", "deal 42424"),
    ("2 Latin letters (every deal)", "al"),
    ("customer of a deal", "customer 4242"),
    ("phone, digits", "13912345"),
    ("phone, spaced", "139 1234 5"),
    ("e-mail", "li.wei12345"),
    ("no match", "没有这个客户"),
]
CITIES = ["宁波", "杭州", "上海", "苏州", "南京", "深圳", "广州", "成都", "武汉", "青岛", "厦门", "天津"]
WORDS = ["海通", "华信", "东方", "长江", "天成", "恒达", "金桥", "新世纪", "远洋", "宏图", "中联", "瑞丰"]
TRADES = ["机电", "钢铁", "化工", "物流", "港务", "电子", "建材", "纺织", "医药", "能源"]
SUFFIXES = ["集团", "有限公司", "股份有限公司", "实业", "科技"]
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "军"]
PINYIN = ["wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu"]

_NEW_ACCOUNTS = """
SELECT (%(cities)s::text[])[1 + n %% 12] || (%(words)s::text[])[1 + (n / 12) %% 12]
       || (%(trades)s::text[])[1 + (n / 144) %% 10] || (%(suffixes)s::text[])[1 + (n / 1440) %% 5] || ' ' || n,
       (%(owners)s::bigint[])[1 + n %% cardinality(%(owners)s::bigint[])],
       '+86 139 ' || lpad((n %% 10000)::text, 4, '0') || ' ' || lpad((n / 10000)::text, 4, '0'),
       (%(cities)s::text[])[1 + n %% 12]
FROM generate_series(%(first)s, %(last)s) AS n
"""
_NEW_CONTACTS = """
SELECT a.id, (%(surnames)s::text[])[1 + a.id %% 10] || (%(given)s::text[])[1 + (a.id / 10) %% 10],
       '139-' || lpad((a.id %% 10000)::text, 4, '0') || '-' || lpad((a.id / 10000)::text, 4, '0'),
       (%(pinyin)s::text[])[1 + (a.id / 10) %% 10] || '.' || (%(pinyin)s::text[])[1 + a.id %% 10] || a.id
       || '@example.cn'
FROM funnel_account a
WHERE a.id > %(after)s
"""


class Command(BaseCommand):
    help = "Benchmark the global search per role: p50/p95 server time, queries and SQL time per search."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=20, help="Timed requests per search and page.")
        parser.add_argument("--customers", type=int, default=0, help="Top the customers up to this many first.")
        parser.add_argument("--users", default="admin,bench_manager01,bench_rep001", help="Comma-separated usernames.")

    def handle(self, *args, **options):
        if options["customers"]:
            self.top_up(options["customers"])
        users = {user.username: user for user in User.objects.filter(username__in=options["users"].split(","))}
        if not users:
            raise CommandError("No such users: run seed_demo --opportunities N first.")
        self.stdout.write(
            f"{Account.objects.count():,} customers, {Contact.objects.count():,} contacts; "
            f"{connection.vendor}; {options['requests']} requests per line"
        )
        self.stdout.write(f"{'user':<16} {'search':<30} {'page':<8} {'p50 ms':>7} {'p95 ms':>7} {'q':>3} {'sql ms':>7}")
        every = []
        for username in options["users"].split(","):
            if username not in users:
                continue
            client = Client(HTTP_HOST="localhost")
            client.force_login(users[username])
            for label, query in SEARCHES:
                for page, url in [("results", reverse("search:results")), ("suggest", reverse("search:suggest"))]:
                    durations = self.measure(client, url, query, options["requests"])
                    every.extend(durations[0])
                    self.report(username, label, page, *durations)
        p95 = percentile(every, 0.95)
        flag = "" if p95 <= LIMIT_MS else f"  (over {LIMIT_MS} ms)"
        self.stdout.write(f"All searches: p50 {statistics.median(every):.1f} ms, p95 {p95:.1f} ms{flag}")

    def measure(self, client: Client, url: str, query: str, requests: int):
        client.get(url, {"q": query})  # warm: the first request reads the session and the user
        durations, sql, queries = [], [], 0
        for _ in range(requests):
            with clocked() as clock:
                started = time.perf_counter()
                response = client.get(url, {"q": query})
                durations.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise CommandError(f"{url}?q={query}: HTTP {response.status_code}")
            sql.append(clock.seconds * 1000)
            queries = clock.count
        return durations, sql, queries

    def report(self, username, label, page, durations, sql, queries):
        p95 = percentile(durations, 0.95)
        flag = " !" if p95 > LIMIT_MS else ""
        self.stdout.write(
            f"{username:<16} {label:<30} {page:<8} {statistics.median(durations):>7.1f} {p95:>7.1f} "
            f"{queries:>3} {statistics.median(sql):>7.1f}{flag}"
        )

    def top_up(self, wanted: int) -> None:
        missing = wanted - Account.objects.count()
        if missing <= 0:
            self.stdout.write(f"Customers already {Account.objects.count():,}.")
            return
        if connection.vendor != "postgresql":
            raise CommandError("--customers loads with PostgreSQL's INSERT … SELECT only.")
        owners = list(User.objects.filter(username__startswith="bench_rep").values_list("pk", flat=True))
        if not owners:
            raise CommandError("No benchmark reps: run seed_demo --opportunities N first.")
        started = time.monotonic()
        after = Account.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        params = {
            "cities": CITIES, "words": WORDS, "trades": TRADES, "suffixes": SUFFIXES, "owners": owners,
            "surnames": SURNAMES, "given": GIVEN, "pinyin": PINYIN, "after": after,
            "first": after + 1, "last": after + missing,
        }  # fmt: skip
        with transaction.atomic():
            _pg_load.insert_select(Account, ("name", "owner_id", "phone", "city"), _NEW_ACCOUNTS, params)
            _pg_load.insert_select(Contact, ("account_id", "name", "phone", "email"), _NEW_CONTACTS, params)
        _pg_load.refresh_statistics(Account, Contact)
        self.stdout.write(f"Added {missing:,} customers with a contact each in {time.monotonic() - started:.0f} s.")
