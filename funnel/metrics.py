"""Funnel figures for pages: each function takes a queryset the user may see and aggregates in the database."""

from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from reps.models import User

from .models import Opportunity, Pipeline, StageKind

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


def funnel_totals(opportunities: QuerySet[Opportunity]) -> dict:
    """Count, amount and weighted amount of the open opportunities in the queryset."""
    return opportunities.open().aggregate(**TOTALS)


def funnel_by_stage(opportunities: QuerySet[Opportunity], pipeline: Pipeline) -> list[dict]:
    """One row per open stage of the pipeline, in order, empty stages included (a gap shows as zeros)."""
    grouped = {
        row["stage"]: row
        for row in opportunities.open().filter(pipeline=pipeline).values("stage").annotate(**TOTALS).order_by()
    }
    empty = {"count": 0, "total": Decimal(0), "weighted": Decimal(0)}
    return [
        {"stage": stage, **{key: grouped.get(stage.pk, empty)[key] for key in empty}}
        for stage in pipeline.stages.filter(kind=StageKind.OPEN, is_archived=False).order_by("order")
    ]


def funnel_by_owner(opportunities: QuerySet[Opportunity]) -> list[dict]:
    """Open count, amount and weighted amount per owner, largest weighted pipeline first."""
    rows = list(opportunities.open().values("owner").annotate(**TOTALS).order_by("-weighted", "owner"))
    owners = User.objects.in_bulk([row["owner"] for row in rows])
    return [{**row, "owner": owners[row["owner"]]} for row in rows]
