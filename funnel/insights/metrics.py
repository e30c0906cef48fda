"""Funnel figures for pages: each function takes a queryset the user may see and aggregates in the database."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import Opportunity, Pipeline, Stage, StageKind

ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=16, decimal_places=2))
# amount × probability, the probability being the opportunity's override or its stage's.
WEIGHTED_AMOUNT = ExpressionWrapper(
    F("amount") * Coalesce("probability_override", "stage__probability") / Value(Decimal(100)),
    output_field=DecimalField(max_digits=20, decimal_places=4),
)
TOTALS = {
    "count": Count("id"),
    "total": Coalesce(Sum("amount"), ZERO),
    "weighted": Coalesce(Sum(WEIGHTED_AMOUNT), ZERO),
}


def open_stages(pipeline: Pipeline) -> list[Stage]:
    """The open, unarchived stages of the pipeline in order."""
    return list(pipeline.stages.filter(kind=StageKind.OPEN, is_archived=False).order_by("order"))


def count_up_to(rows: QuerySet, cap: int) -> int:
    """How many rows there are, counted no further than cap + 1: enough to say "over cap" without counting a
    million open alerts or stalled deals on every page."""
    return rows.order_by()[: cap + 1].count()


def funnel_totals(opportunities: QuerySet[Opportunity]) -> dict:
    """Count, amount and weighted amount of the open opportunities in the queryset."""
    return opportunities.open().aggregate(**TOTALS)


def funnel_by_stage(
    opportunities: QuerySet[Opportunity], pipeline: Pipeline, stages: list[Stage] | None = None
) -> list[dict]:
    """One row per open stage of the pipeline, in order, empty stages included (a gap shows as zeros).

    `stages`: the pipeline's open stages if the caller already has them (saves a query).
    """
    grouped = {
        row["stage"]: row
        for row in opportunities.open().for_pipeline(pipeline).values("stage").annotate(**TOTALS).order_by()
    }
    empty = {"count": 0, "total": Decimal(0), "weighted": Decimal(0)}
    return [
        {"stage": stage, **{key: grouped.get(stage.pk, empty)[key] for key in empty}}
        for stage in (open_stages(pipeline) if stages is None else stages)
    ]


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the current time zone, so indexes on datetimes apply."""
    begin = timezone.make_aware(datetime.combine(start, time.min))
    return begin, timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))


def ratio(part: int, whole: int) -> Decimal | None:
    """part ÷ whole as a percentage with one decimal, or None when there is nothing to divide."""
    return (Decimal(100) * part / whole).quantize(Decimal("0.1")) if whole else None
