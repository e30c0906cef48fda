"""Stage probabilities against history: of the deals that entered a stage in a window and are closed now, the
share that was won, beside the probability an admin configured for the stage.

A deal counts once per stage it entered in the window, however often it entered (a reopened deal that came
back), with its outcome as it stands now; a deal that skipped a stage never entered it and does not count for
it; a deal still open (never closed, or reopened) does not count yet. Entries into an archived stage count for
that stage, which is listed while it has history in the window. Deals are grouped by their current owner, so a
rep's, a team's and the whole scope's figures come from one grouped query (each deal has one owner: the
groups add up).

The range is the Wilson score interval at 95 %; below MIN_DEALS closed deals a stage has "not enough history".
"""

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ..models import Pipeline, Stage, StageChange, StageKind

DEFAULT_MONTHS = 12
LONGEST_MONTHS = 120
MIN_DEALS = 20  # closed deals a stage needs before its history is shown as a figure
Z = 1.96  # 95 % confidence
CLOSED = (StageKind.WON, StageKind.LOST)
HISTORY_KEPT = 6 * 3600  # seconds a scope's history stays in the cache (it is also keyed by the day)


def months_before(moment: datetime, months: int) -> datetime:
    """The same time `months` calendar months earlier (the 31st becomes the month's last day)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_first = datetime(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_first - datetime(year, month, 1)).days
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def wilson(won: int, deals: int, z: float = Z) -> tuple[Decimal, Decimal]:
    """The Wilson score interval of won ÷ deals, in percent with one decimal."""
    p = won / deals
    denominator = 1 + z * z / deals
    centre = (p + z * z / (2 * deals)) / denominator
    margin = z * math.sqrt(p * (1 - p) / deals + z * z / (4 * deals * deals)) / denominator
    return _percent(max(0.0, centre - margin)), _percent(min(1.0, centre + margin))


def _percent(share: float) -> Decimal:
    return Decimal(str(round(share * 100, 1)))


@dataclass(frozen=True)
class Share:
    """Closed deals behind a stage and how many of them were won."""

    deals: int = 0
    won: int = 0
    minimum: int = MIN_DEALS

    def __add__(self, other: "Share") -> "Share":
        return Share(self.deals + other.deals, self.won + other.won, self.minimum)

    @property
    def enough(self) -> bool:
        return self.deals >= self.minimum and self.deals > 0

    @property
    def percent(self) -> Decimal | None:
        """The historical share in percent, one decimal; None without enough history."""
        return (Decimal(100) * self.won / self.deals).quantize(Decimal("0.1")) if self.enough else None

    @property
    def rounded(self) -> int | None:
        """The share as a stage probability (a whole percent), what an admin may accept."""
        return None if self.percent is None else int(self.percent.quantize(Decimal("1")))

    @property
    def range(self) -> tuple[Decimal, Decimal] | None:
        return wilson(self.won, self.deals) if self.enough else None

    @property
    def margin(self) -> Decimal | None:
        """Half the range's width: the "± 6 %" of a sentence."""
        low_high = self.range
        return None if low_high is None else ((low_high[1] - low_high[0]) / 2).quantize(Decimal("1"))

    def disagrees_with(self, probability: int) -> bool:
        """The configured probability lies outside the range history gives."""
        low_high = self.range
        return low_high is not None and not low_high[0] <= probability <= low_high[1]


@dataclass
class StageRow:
    """One stage of the table: its configured probability and the history of the scope, per team and per rep."""

    stage: Stage
    total: Share
    by_owner: dict[int, Share] = field(default_factory=dict)

    @property
    def configured(self) -> int:
        return self.stage.probability

    @property
    def disagrees(self) -> bool:
        return self.total.disagrees_with(self.configured)

    @property
    def acceptable(self) -> bool:
        """An admin may set the stage's probability to the historical figure: it exists and differs."""
        return not self.stage.is_archived and self.total.rounded is not None and self.total.rounded != self.configured

    def share_of(self, owner_ids: Iterable[int], *, minimum: int | None = None) -> Share:
        """The share of these owners' deals (a rep, a team), judged against `minimum` (default: the table's)."""
        minimum = self.total.minimum if minimum is None else minimum
        deals = won = 0
        for pk in owner_ids:
            share = self.by_owner.get(pk)
            if share is not None:
                deals, won = deals + share.deals, won + share.won
        return Share(deals, won, minimum)


def stages_of(pipeline: Pipeline) -> list[Stage]:
    """The pipeline's open stages in order, archived ones included (the table drops those without history)."""
    return list(pipeline.stages.filter(kind=StageKind.OPEN).order_by("order", "pk"))


def closed_entries(
    changes: QuerySet[StageChange], stages: list[Stage], since: datetime, until: datetime | None = None
) -> QuerySet:
    """Per current owner and stage: the closed deals that entered the stage in [since, until), and the won ones.
    `changes` is already scoped (StageChange.objects.visible_to(user), or all for the command)."""
    entries = changes.filter(to_stage_id__in=[stage.pk for stage in stages], at__gte=since)
    if until is not None:
        entries = entries.filter(at__lt=until)
    return (
        entries.filter(opportunity__status__in=CLOSED)
        .values("opportunity__owner_id", "to_stage_id")
        .annotate(
            deals=Count("opportunity_id", distinct=True),
            won=Count("opportunity_id", distinct=True, filter=Q(opportunity__status=StageKind.WON)),
        )
        .order_by()
    )


def calibrate(
    changes: QuerySet[StageChange],
    pipeline: Pipeline,
    *,
    now: datetime,
    months: int = DEFAULT_MONTHS,
    minimum: int = MIN_DEALS,
    stages: list[Stage] | None = None,
) -> list[StageRow]:
    """One row per open stage of the pipeline (archived ones only with history), from one grouped query over
    the entries in the `months` before `now`."""
    stages = stages_of(pipeline) if stages is None else stages
    return _rows(_entries(changes, stages, months_before(now, months), now), stages, minimum)


def history(
    changes: QuerySet[StageChange],
    pipeline: Pipeline,
    *,
    scope_key: object,
    months: int = DEFAULT_MONTHS,
    minimum: int = MIN_DEALS,
    stages: list[Stage] | None = None,
    compute: bool = True,
) -> list[StageRow] | None:
    """`calibrate` for pages: the window ends today and starts `months` before today's first moment (site time),
    and the grouped rows are kept for the day (HISTORY_KEPT at most) under `scope_key`, which names the deals
    `changes` covers (their owners): history moves slowly, and a million deals' year is not re-read per page.
    With compute=False, None when they are not kept yet (the dashboard asks a job to read them)."""
    stages = stages_of(pipeline) if stages is None else stages
    # The site's day, not the reader's: a job and every reader must name the same window.
    today = timezone.localtime(timezone=timezone.get_default_timezone()).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    key = history_key(scope_key, pipeline.pk, months, stages, today)
    entries = cache.get(key)
    if entries is None:
        if not compute:
            return None
        entries = _entries(changes, stages, months_before(today, months), None)
        cache.set(key, entries, HISTORY_KEPT)
    return _rows(entries, stages, minimum)


def history_key(scope_key: object, pipeline_id: int, months: int, stages: list[Stage], today: datetime) -> str:
    parts = (scope_key, pipeline_id, months, today.isoformat(), sorted(stage.pk for stage in stages))
    return "funnel:calibration:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _entries(changes: QuerySet[StageChange], stages: list[Stage], since: datetime, until: datetime | None) -> list:
    return [(row["opportunity__owner_id"], row["to_stage_id"], row["deals"], row["won"])
            for row in closed_entries(changes, stages, since, until)]  # fmt: skip


def _rows(entries: list[tuple[int, int, int, int]], stages: list[Stage], minimum: int) -> list[StageRow]:
    rows = {stage.pk: StageRow(stage, Share(minimum=minimum)) for stage in stages}
    for owner_id, stage_id, deals, won in entries:
        row = rows[stage_id]
        share = Share(deals, won, minimum)
        row.by_owner[owner_id] = share
        row.total = row.total + share
    return [row for row in rows.values() if not row.stage.is_archived or row.total.deals]


def historical_probabilities(rows: list[StageRow], owner_ids: Iterable[int] | None = None) -> dict[int, int]:
    """{stage id: historical probability} of the owners' deals (None: every deal in the rows), for the stages
    with enough history; the forecast falls back to the configured probability for the others."""
    owners = None if owner_ids is None else list(owner_ids)
    shares = {row.stage.pk: row.total if owners is None else row.share_of(owners) for row in rows}
    return {pk: share.rounded for pk, share in shares.items() if share.rounded is not None}


def forecast(amounts: dict[int, Decimal], stages: list[Stage], probabilities: dict[int, int]) -> dict:
    """The forecast's open deals ({stage id: amount}) weighted with each stage's historical probability, or its
    configured one where history is too thin; how many of the stages holding deals had history."""
    configured = {stage.pk: stage.probability for stage in stages}
    weighted = sum(
        (amount * probabilities.get(pk, configured.get(pk, 0)) / Decimal(100) for pk, amount in amounts.items()),
        Decimal(0),
    )
    held = [pk for pk, amount in amounts.items() if amount]
    return {"weighted": weighted, "stages": len(held), "with_history": sum(pk in probabilities for pk in held)}
