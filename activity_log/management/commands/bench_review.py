"""Prints the server time of the manager's review page for a team with a year of daily logs.

    DATABASE_URL=postgres://... python manage.py bench_review --reps 20 --days 365
The bench team is created once (bulk inserts) and reused by later runs.
"""

import statistics
import time
from datetime import UTC, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from activity_log.models import Activity, ActivityKind, DailyLog, PlanItem, PlanItemStatus
from funnel.management.commands._pg_load import insert_select, refresh_statistics
from funnel.management.commands.bench_funnel import clocked, percentile
from funnel.models import Account
from reps.models import Role, Team, User

TEAM = "Review bench"

# A year of working days for each rep, submitted at 18:00 UTC; three done items and three visits a day.
_LOGS = """
SELECT rep, day::date, 'Visited customers.', (day + interval '18 hours') AT TIME ZONE 'UTC'
FROM unnest(%(reps)s::bigint[]) AS rep,
     generate_series(%(first)s::date::timestamp, %(last)s::date::timestamp, interval '1 day') AS day
WHERE extract(isodow FROM day) < 6
"""
_ITEMS = """
SELECT log.id, %(kind)s, bench.account, %(done)s
FROM activity_log_dailylog AS log
JOIN unnest(%(reps)s::bigint[], %(accounts)s::bigint[]) AS bench(rep, account) ON log.rep_id = bench.rep,
     generate_series(1, 3)
"""
_ACTIVITIES = """
SELECT log.id, %(kind)s, bench.account, (log.date + hour * interval '1 hour') AT TIME ZONE 'UTC', 'ok'
FROM activity_log_dailylog AS log
JOIN unnest(%(reps)s::bigint[], %(accounts)s::bigint[]) AS bench(rep, account) ON log.rep_id = bench.rep,
     unnest(ARRAY[10, 14, 16]) AS hour
"""


class Command(BaseCommand):
    help = "Benchmark the daily-log review page and compliance for a team with a year of logs."

    def add_arguments(self, parser):
        parser.add_argument("--reps", type=int, default=20)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--requests", type=int, default=20)

    def handle(self, *args, **options):
        manager, team = self.bench_team(options["reps"], options["days"])
        day = (timezone.now() - timedelta(days=1)).date()
        url = f"{reverse('log:review')}?date={day.isoformat()}&team={team.pk}"
        client = Client(HTTP_HOST="localhost")
        client.force_login(manager)
        client.get(url)
        durations, sql, queries = [], [], 0
        for _ in range(options["requests"]):
            with clocked() as clock:
                started = time.perf_counter()
                response = client.get(url)
                durations.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
            sql.append(clock.seconds)
            queries = clock.count
        logs = DailyLog.objects.filter(rep__team=team).count()
        activities = Activity.objects.filter(daily_log__rep__team=team).count()
        self.stdout.write(
            f"database: {connection.vendor}; team of {options['reps']} reps, {logs:,} logs, {activities:,} activities"
        )
        self.stdout.write(f"{'page':<14}{'queries':>8}{'p50 ms':>9}{'p95 ms':>9}{'SQL ms':>9}")
        self.stdout.write(
            f"{'review':<14}{queries:>8}{statistics.median(durations) * 1000:>9.1f}"
            f"{percentile(durations, 0.95) * 1000:>9.1f}{statistics.median(sql) * 1000:>9.1f}"
        )

    def bench_team(self, reps: int, days: int) -> tuple[User, Team]:
        team, _ = Team.objects.get_or_create(name=TEAM)
        hashed = make_password(None)
        manager, _ = User.objects.get_or_create(
            username="bench_review_manager", defaults={"role": Role.MANAGER, "password": hashed, "team": team}
        )
        team.manager = manager
        team.save(update_fields=["manager"])
        kind = ActivityKind.objects.filter(is_active=True).first() or ActivityKind.objects.create(name="Visit")
        today = timezone.now().date()
        missing = []
        for number in range(1, reps + 1):
            rep, _ = User.objects.get_or_create(
                username=f"bench_review_rep{number:02d}",
                defaults={"role": Role.REP, "password": hashed, "team": team, "time_zone": "UTC"},
            )
            if DailyLog.objects.filter(rep=rep).exists():
                continue
            if connection.vendor == "postgresql":
                missing.append(rep)
                continue
            self.year_of_logs(rep, kind, today, days)
            self.stdout.write(f"  logs for {rep.username}")
        if missing:
            self.years_of_logs_sql(missing, kind, today, days)
            self.stdout.write(f"  logs for {len(missing)} reps")
        return manager, team

    @transaction.atomic
    def years_of_logs_sql(self, reps: list[User], kind: ActivityKind, today, days: int) -> None:
        """The same rows as year_of_logs, for many reps at once, made by the server (INSERT … SELECT)."""
        accounts = Account.objects.bulk_create(
            Account(name=f"Bench customer of {rep.username}", owner=rep) for rep in reps
        )
        params = {
            "reps": [rep.pk for rep in reps],
            "accounts": [account.pk for account in accounts],
            "kind": kind.pk,
            "first": today - timedelta(days=days),
            "last": today - timedelta(days=1),
            "done": PlanItemStatus.DONE.value,
        }
        insert_select(DailyLog, ("rep_id", "date", "summary", "submitted_at"), _LOGS, params)
        insert_select(PlanItem, ("daily_log_id", "kind_id", "account_id", "status"), _ITEMS, params)
        insert_select(Activity, ("daily_log_id", "kind_id", "account_id", "when", "outcome"), _ACTIVITIES, params)
        refresh_statistics(DailyLog, PlanItem, Activity)

    @transaction.atomic
    def year_of_logs(self, rep: User, kind: ActivityKind, today, days: int) -> None:
        account = Account.objects.create(name=f"Bench customer of {rep.username}", owner=rep)
        dates = [today - timedelta(days=n) for n in range(1, days + 1)]
        logs = DailyLog.objects.bulk_create(
            DailyLog(
                rep=rep,
                date=day,
                summary="Visited customers.",
                submitted_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=18),
            )
            for day in dates
            if day.weekday() < 5
        )
        items, activities = [], []
        for log in logs:
            moment = datetime.combine(log.date, datetime.min.time(), tzinfo=UTC)
            for hour in (10, 14, 16):
                items.append(PlanItem(daily_log=log, kind=kind, account=account, status=PlanItemStatus.DONE))
                activities.append(
                    Activity(
                        daily_log=log, kind=kind, account=account, when=moment + timedelta(hours=hour), outcome="ok"
                    )
                )
        PlanItem.objects.bulk_create(items, batch_size=5000)
        Activity.objects.bulk_create(activities, batch_size=5000)
