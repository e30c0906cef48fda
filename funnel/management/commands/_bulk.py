"""Large volumes for benchmarks: teams of reps with many opportunities and their stage history.

On PostgreSQL the server makes the rows from the same random draws (INSERT … SELECT, no row crosses the
wire) with the tables' indexes rebuilt after the load; elsewhere (SQLite, tests) bulk_create in batches.
"""

import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from funnel.management.commands import _pg_load
from funnel.models import Account, Opportunity, Pipeline, Source, StageChange, StageKind
from reps.models import Role, Team, User

BATCH = 5_000


def _batched(items: Iterator, size: int = BATCH) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def bulk_people(*, teams: int, reps: int, password: str) -> list[User]:
    """`teams` teams named "Bench NN", each with a manager, and `reps` reps spread over them."""
    hashed = make_password(password)  # one hash for all: hashing 200 passwords would take a minute
    created = []
    for number in range(1, teams + 1):
        team, _ = Team.objects.get_or_create(name=f"Bench {number:02d}")
        manager, _ = User.objects.get_or_create(
            username=f"bench_manager{number:02d}", defaults={"role": Role.MANAGER, "password": hashed, "team": team}
        )
        team.manager = manager
        team.save(update_fields=["manager"])
    all_teams = list(Team.objects.filter(name__startswith="Bench ").order_by("name"))
    for number in range(1, reps + 1):
        user, _ = User.objects.get_or_create(
            username=f"bench_rep{number:03d}",
            defaults={"role": Role.REP, "password": hashed, "team": all_teams[(number - 1) % len(all_teams)]},
        )
        created.append(user)
    return created


DEAL_COLUMNS = (
    "name",
    "account_id",
    "owner_id",
    "pipeline_id",
    "stage_id",
    "status",
    "source_id",
    "amount",
    "expected_close_date",
    "stage_entered_at",
    "last_activity_at",
    "closed_at",
    "created_at",
    "updated_at",
)
CHANGE_COLUMNS = ("opportunity_id", "from_stage_id", "to_stage_id", "by_id", "at")
# A load at least this large (and at least as large as the table) drops the tables' indexes and rebuilds them.
SET_ASIDE_FROM = 50_000


def bulk_deals(
    *, owners: list[User], pipeline: Pipeline, count: int, progress: Callable[[int], None], seed: int = 7
) -> int:
    """`count` opportunities over `owners`, with on average about three stage changes each.

    On PostgreSQL the server makes the rows (INSERT … SELECT, one transaction); elsewhere bulk_create batches.
    """
    stages = list(pipeline.stages.filter(is_archived=False).order_by("order"))
    sources = list(Source.objects.all()) or [None]
    first = Opportunity.objects.filter(name__startswith="Bench deal").count()  # names stay unique on top-ups
    if connection.vendor != "postgresql":
        deals = _DealMaker(stages=stages, sources=sources, seed=seed)
        return _orm_deals(deals, owners, pipeline, first, count, progress)
    tables = (Account, Opportunity, StageChange)
    with transaction.atomic():
        if count >= max(SET_ASIDE_FROM, Opportunity.objects.count()):
            with _pg_load.indexes_set_aside(*tables):
                _sql_deals(_sql_params(owners, pipeline, stages, sources, first, count, seed), progress)
        else:
            _sql_deals(_sql_params(owners, pipeline, stages, sources, first, count, seed), progress)
    _pg_load.refresh_statistics(*tables, User)
    return count


def _sql_params(owners, pipeline, stages, sources, first: int, count: int, seed: int) -> dict:
    """What the SQL below draws from, as arrays: the same distribution as _DealMaker."""
    open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
    choices = open_stages * 4 + [stage for stage in stages if stage.kind != StageKind.OPEN]
    return {
        "seed": (seed % 1000) / 1000,
        "now": timezone.now(),
        "pipeline": pipeline.pk,
        "owners": [owner.pk for owner in owners],
        "sources": [source.pk if source else None for source in sources],
        "open_ids": [stage.pk for stage in open_stages],
        "choice_ids": [stage.pk for stage in choices],
        "choice_kinds": [stage.kind for stage in choices],
        # Where an open target sits among the open stages (its path is the stages up to it); 0 if closed.
        "choice_steps": [open_stages.index(stage) + 1 if stage in open_stages else 0 for stage in choices],
        "first": first,
        "count": count,
        "accounts": max(1, count // 10),
    }


# The k move times of a deal are k uniform draws over its span, sorted. Without sorting: the largest of k
# uniforms is u1^(1/k), the next the largest times u2^(1/(k-1)), and so on (fractions of the span, largest
# first, in `tops`): plain expressions, no subquery per deal.
def _tops(longest: int) -> str:
    factors = [f"power(u[{n}], 1.0 / greatest(path_len - {n - 1}, 1))" for n in range(1, longest + 1)]
    return ", ".join(" * ".join(factors[:j]) for j in range(1, longest + 1))


# One row per deal: its target stage, how many open stages it walked, its span and sorted move fractions.
_DEALS = """
CREATE TEMP TABLE bench_deal AS
SELECT %(first_id)s + p.n - %(low)s AS id, p.n, a.id AS account_id, a.owner_id,
       p.stage_id, p.kind, p.open_len, p.path_len, p.start,
       floor(extract(epoch FROM %(now)s::timestamptz - p.start) / 86400) * interval '1 day' AS span,
       ARRAY[{tops}] AS tops, p.amount, p.close_in, p.source_id, p.quiet_days
FROM (
    SELECT l.*, %(now)s::timestamptz - (l.path_len + l.r_start * (365 - l.path_len)) * interval '1 day' AS start
    FROM (
        SELECT o.*, o.open_len + (o.kind <> 'open')::int AS path_len
        FROM (
            SELECT c.*, CASE WHEN c.kind = 'open' THEN c.step
                             ELSE 1 + floor(c.r_len * cardinality(%(open_ids)s::bigint[]))::int END AS open_len
            FROM (
                SELECT r.*, (%(choice_ids)s::bigint[])[pick] AS stage_id, (%(choice_kinds)s::text[])[pick] AS kind,
                       (%(choice_steps)s::int[])[pick] AS step
                FROM (
                    SELECT n, 1 + floor(random() * cardinality(%(choice_ids)s::bigint[]))::int AS pick,
                           random() AS r_len, random() AS r_start,
                           (10 + floor(random() * 4990)) * 1000 AS amount, floor(random() * 211)::int - 30 AS close_in,
                           (%(sources)s::bigint[])[1 + floor(random() * cardinality(%(sources)s::bigint[]))::int]
                               AS source_id,
                           random() * 20 AS quiet_days,
                           ARRAY[{draws}] AS u
                    FROM generate_series(%(low)s, %(high)s) AS n
                OFFSET 0) AS r
            OFFSET 0) AS c
        OFFSET 0) AS o
    OFFSET 0) AS l
OFFSET 0) AS p
JOIN bench_account AS a ON a.n = mod(p.n - %(first)s, %(accounts)s)
"""

_OPPORTUNITIES = """
SELECT id, 'Bench deal ' || n, account_id, owner_id, %(pipeline)s, stage_id, kind, source_id, amount,
       (%(now)s::timestamptz AT TIME ZONE 'UTC')::date + close_in, start + tops[1] * span,
       start + tops[1] * span + quiet_days * interval '1 day', CASE WHEN kind <> 'open' THEN start + tops[1] * span END,
       start + tops[path_len] * span, %(now)s::timestamptz
FROM bench_deal
"""

_CHANGES = """
SELECT d.id, CASE WHEN i > 1 THEN (%(open_ids)s::bigint[])[i - 1] END,
       CASE WHEN i <= d.open_len THEN (%(open_ids)s::bigint[])[i] ELSE d.stage_id END, d.owner_id,
       d.start + d.tops[d.path_len + 1 - i] * d.span
FROM bench_deal AS d CROSS JOIN LATERAL generate_series(1, d.path_len) AS i
"""


def _sql_deals(params: dict, progress: Callable[[int], None]) -> None:
    params = {**params, "first_account": _pg_load.reserve_ids(Account, params["accounts"])}
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%(seed)s)", params)
        cursor.execute(
            "CREATE TEMP TABLE bench_account AS SELECT n, %(first_account)s + n AS id, "
            "(%(owners)s::bigint[])[1 + mod(n, cardinality(%(owners)s::bigint[]))] AS owner_id "
            "FROM generate_series(0, %(accounts)s - 1) AS n",
            params,
        )
        cursor.execute("ANALYZE bench_account")  # for a hash join below, not a sort of every deal
    _pg_load.insert_select(
        Account, ("id", "name", "owner_id"), "SELECT id, 'Bench customer ' || n, owner_id FROM bench_account", {}
    )
    longest = len(params["open_ids"]) + 1  # every open stage, then won or lost
    for low in range(params["first"], params["first"] + params["count"], 100_000):
        high = min(low + 100_000, params["first"] + params["count"]) - 1
        batch = {**params, "low": low, "high": high, "first_id": _pg_load.reserve_ids(Opportunity, high - low + 1)}
        with connection.cursor() as cursor:
            cursor.execute(_DEALS.format(tops=_tops(longest), draws=", ".join(["random()"] * longest)), batch)
        _pg_load.insert_select(Opportunity, ("id", *DEAL_COLUMNS), _OPPORTUNITIES, batch)
        _pg_load.insert_select(StageChange, CHANGE_COLUMNS, _CHANGES, batch)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_deal")
        progress(high - params["first"] + 1)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_account")  # a test's transaction never commits


def _orm_deals(deals, owners, pipeline, first: int, count: int, progress) -> int:
    accounts = _bulk_accounts(owners, max(1, count // 10))
    made = 0
    for batch in _batched(iter(range(first, first + count))):
        with transaction.atomic():
            rows = [deals.make(index, *accounts[(index - first) % len(accounts)], pipeline.pk) for index in batch]
            created = Opportunity.objects.bulk_create(
                Opportunity(**dict(zip(DEAL_COLUMNS, row, strict=True))) for row, _path in rows
            )
            StageChange.objects.bulk_create(
                StageChange(**dict(zip(CHANGE_COLUMNS, change, strict=True)))
                for deal, (row, path) in zip(created, rows, strict=True)
                for change in _changes(deal.pk, row[2], path)
            )
        made += len(batch)
        progress(made)
    return made


def _changes(opportunity_id: int, owner_id: int, path: list[tuple[int, object]]) -> Iterator[tuple]:
    previous = None
    for stage_id, moment in path:
        yield (opportunity_id, previous, stage_id, owner_id, moment)
        previous = stage_id


class _DealMaker:
    """One benchmark deal at a time, with the stages it walked: a consistent history, as the services
    would have written it (its last move is its current stage, at its stage_entered_at)."""

    def __init__(self, *, stages: list, sources: list, seed: int):
        self.rng = random.Random(seed)
        self.open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
        self.choices = self.open_stages * 4 + [stage for stage in stages if stage.kind != StageKind.OPEN]
        self.source_ids = [source.pk if source else None for source in sources]
        self.now = timezone.now()

    def make(self, index: int, account_id: int, owner_id: int, pipeline_id: int) -> tuple[tuple, list]:
        rng, now = self.rng, self.now
        target = rng.choice(self.choices)
        path = [s for s in self.open_stages if s.order <= target.order][: rng.randint(1, len(self.open_stages))]
        if target.kind == StageKind.OPEN:
            path = [s for s in self.open_stages if s.order <= target.order]
        else:
            path.append(target)
        start = now - timedelta(days=rng.uniform(len(path), 365))
        moments = sorted(start + timedelta(days=rng.uniform(0, (now - start).days)) for _ in path)
        row = (
            f"Bench deal {index}",
            account_id,
            owner_id,
            pipeline_id,
            target.pk,
            target.kind,
            rng.choice(self.source_ids),
            Decimal(rng.randrange(10, 5000) * 1000),
            (now + timedelta(days=rng.randint(-30, 180))).date(),
            moments[-1],
            moments[-1] + timedelta(days=rng.uniform(0, 20)),
            moments[-1] if target.kind != StageKind.OPEN else None,
            moments[0],
            now,
        )
        return row, [(stage.pk, moment) for stage, moment in zip(path, moments, strict=True)]


def _bulk_accounts(owners: list[User], count: int) -> list[tuple[int, int]]:
    """(id, owner id) of `count` new customers spread over `owners`."""
    accounts = [Account(name=f"Bench customer {n}", owner=owners[n % len(owners)]) for n in range(count)]
    for batch in _batched(iter(accounts)):
        Account.objects.bulk_create(batch)
    return [(account.pk, account.owner_id) for account in accounts]
