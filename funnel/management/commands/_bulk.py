"""Large volumes for benchmarks: teams of reps with many opportunities and their stage history.

Rows are written with bulk_create in batches; every opportunity's history is consistent (its last
StageChange is its current stage, at its stage_entered_at), as the services would have written it.
"""

import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

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


def bulk_deals(
    *, owners: list[User], pipeline: Pipeline, count: int, progress: Callable[[int], None], seed: int = 7
) -> int:
    """`count` opportunities over `owners`, with on average about three stage changes each."""
    rng = random.Random(seed)
    stages = list(pipeline.stages.filter(is_archived=False).order_by("order"))
    open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
    closing = [stage for stage in stages if stage.kind != StageKind.OPEN]
    sources = list(Source.objects.all()) or [None]
    now = timezone.now()
    accounts = _bulk_accounts(owners, max(1, count // 10))
    made = 0
    for batch in _batched(range(count)):
        with transaction.atomic():
            deals, paths = [], []
            for index in batch:
                account = accounts[index % len(accounts)]
                target = rng.choice(open_stages * 4 + closing)
                path = [s for s in open_stages if s.order <= target.order][: rng.randint(1, len(open_stages))]
                if target.kind == StageKind.OPEN:
                    path = [s for s in open_stages if s.order <= target.order]
                else:
                    path.append(target)
                start = now - timedelta(days=rng.uniform(len(path), 365))
                moments = sorted(start + timedelta(days=rng.uniform(0, (now - start).days)) for _ in path)
                deals.append(
                    Opportunity(
                        name=f"Bench deal {index}",
                        account=account,
                        owner_id=account.owner_id,
                        pipeline=pipeline,
                        stage=target,
                        status=target.kind,
                        source=rng.choice(sources),
                        amount=Decimal(rng.randrange(10, 5000) * 1000),
                        expected_close_date=(now + timedelta(days=rng.randint(-30, 180))).date(),
                        stage_entered_at=moments[-1],
                        last_activity_at=moments[-1] + timedelta(days=rng.uniform(0, 20)),
                        closed_at=moments[-1] if target.kind != StageKind.OPEN else None,
                        created_at=moments[0],
                    )
                )
                paths.append(list(zip(path, moments, strict=True)))
            Opportunity.objects.bulk_create(deals)
            changes = []
            for deal, path in zip(deals, paths, strict=True):
                previous = None
                for stage, moment in path:
                    changes.append(
                        StageChange(
                            opportunity=deal, from_stage=previous, to_stage=stage, by_id=deal.owner_id, at=moment
                        )
                    )
                    previous = stage
            StageChange.objects.bulk_create(changes)
        made += len(batch)
        progress(made)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics, or the planner guesses from an empty table
            cursor.execute("ANALYZE funnel_opportunity, funnel_stagechange, funnel_account, reps_user")
    return made


def _bulk_accounts(owners: list[User], count: int) -> list[Account]:
    accounts = [Account(name=f"Bench customer {n}", owner=owners[n % len(owners)]) for n in range(count)]
    for batch in _batched(iter(accounts)):
        Account.objects.bulk_create(batch)
    return accounts
