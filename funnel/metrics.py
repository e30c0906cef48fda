"""Funnel figures for pages: each function takes a queryset the user may see and aggregates in the database."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    RowRange,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Lead, TruncWeek
from django.utils import timezone

from reps.models import Role, User

from .models import Opportunity, Pipeline, Stage, StageChange, StageKind

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
        for row in opportunities.open().filter(pipeline=pipeline).values("stage").annotate(**TOTALS).order_by()
    }
    empty = {"count": 0, "total": Decimal(0), "weighted": Decimal(0)}
    return [
        {"stage": stage, **{key: grouped.get(stage.pk, empty)[key] for key in empty}}
        for stage in (open_stages(pipeline) if stages is None else stages)
    ]


# --- dashboard figures over a period ------------------------------------------------------------
# A period is two dates, both included, in the reader's time zone. Every function below is one
# GROUP BY (or one aggregate) over a queryset the caller has already scoped with visible_to().


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the current time zone, so indexes on datetimes apply."""
    begin = timezone.make_aware(datetime.combine(start, time.min))
    return begin, timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))


def _between(field: str, start: date, end: date) -> Q:
    begin, stop = period_bounds(start, end)
    return Q(**{f"{field}__gte": begin, f"{field}__lt": stop})


def _ratio(part: int, whole: int) -> Decimal | None:
    """part ÷ whole as a percentage with one decimal, or None when there is nothing to divide."""
    return (Decimal(100) * part / whole).quantize(Decimal("0.1")) if whole else None


def inflow_by_week(opportunities: QuerySet[Opportunity], start: date, end: date) -> list[dict]:
    """New opportunities per ISO week (Monday) by created_at; weeks without any show as zero."""
    counts = {
        row["week"]: row["count"]
        for row in opportunities.filter(_between("created_at", start, end))
        .values(week=TruncWeek("created_at", output_field=DateField()))
        .annotate(count=Count("id"))
        .order_by()
    }
    monday = start - timedelta(days=start.weekday())
    weeks = [monday + timedelta(weeks=n) for n in range((end - monday).days // 7 + 1)]
    return [{"week": week, "count": counts.get(week, 0)} for week in weeks]


def _days_between(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0"
    return f"(julianday({later}) - julianday({earlier}))"


def _moves(stage_changes: QuerySet[StageChange], pipeline: Pipeline, start: date, end: date) -> QuerySet:
    """Every change of the deals that moved in the period, each with when its stay ended (the deal's next
    change) and the highest order of a non-lost stage the deal entered after it: one pass of two window
    functions over each deal's changes in time order, instead of a lookup per change."""
    later = {"partition_by": [F("opportunity_id")], "order_by": [F("at").asc(), F("id").asc()]}
    not_lost = Case(When(~Q(to_stage__kind=StageKind.LOST), then=F("to_stage__order")))
    moved_in_period = stage_changes.filter(_between("at", start, end)).order_by().values("opportunity")
    return (
        stage_changes.filter(opportunity__pipeline=pipeline, opportunity__in=moved_in_period)
        .order_by()
        .values(
            deal=F("opportunity_id"),
            owner=F("opportunity__owner_id"),
            stage=F("to_stage_id"),
            stage_order=F("to_stage__order"),
            entered=F("at"),
            left_at=Window(Lead("at"), **later),
            later_order=Window(Max(not_lost), frame=RowRange(start=1, end=None), **later),
        )
    )


def flow(
    stage_changes: QuerySet[StageChange], pipeline: Pipeline, start: date, end: date, stages: list | None = None
) -> list[dict]:
    """Per open stage, from StageChange, in one query:

    - conversion: the opportunities that entered the stage in the period, and how many of those went on
      to a later stage (a higher order, not a lost stage) at any time after entering (a cohort, counted
      to date). Each opportunity counts once per stage, so a reopened deal entering a stage twice is one.
    - time in stage: average and median days over the stays that ended in the period. A stay runs from
      one change to the opportunity's next; open stays (the deal is still there) are not counted.
    """
    return flows(stage_changes, pipeline, start, end, stages)[0]


def flows(
    stage_changes: QuerySet[StageChange],
    pipeline: Pipeline,
    start: date,
    end: date,
    stages: list | None = None,
    keys: tuple[str, ...] = ("stage", "owner"),
) -> tuple[list[dict], dict[int, dict]]:
    """`flow` per stage and per owner from one pass over the moves (the window functions run once): the rows
    per stage, and {owner id: row} per owner (the deal's owner now; each empty unless its key is in `keys`).

    A rep's conversion counts each of their deals once per stage it entered in the period, as `flow` does,
    and adds up the stages; their average and median days are over all their stays that ended.
    """
    stages = open_stages(pipeline) if stages is None else stages
    grouped = _flow_grouped(stage_changes, pipeline, start, end, [stage.pk for stage in stages], keys)
    by_stage = grouped.get("stage", {})
    return [{"stage": stage, **by_stage.get(stage.pk, _flow_row({}))} for stage in stages], grouped.get("owner", {})


def _flow_row(values: dict) -> dict:
    row = {"entered": 0, "advanced": 0, "stays": 0, "average_days": None, "median_days": None, **values}
    return {**row, "rate": _ratio(row["advanced"], row["entered"])}


def _flow_grouped(
    stage_changes: QuerySet[StageChange], pipeline: Pipeline, start: date, end: date, stage_ids: list, keys: tuple
) -> dict[str, dict[int, dict]]:
    if not stage_ids:
        return {}
    try:
        moves_sql, params = _moves(stage_changes, pipeline, start, end).query.sql_with_params()
    except EmptyResultSet:  # a .none() scope
        return {}
    grouped: dict[str, dict[int, dict]] = {key: {} for key in keys}
    with connection.cursor() as cursor:
        cursor.execute(*_flow_sql(moves_sql, params, start, end, stage_ids, keys))
        for key, part, group, first, second, third in cursor.fetchall():
            row = grouped[key].setdefault(group, {})
            if part == "entered":
                row |= {"entered": int(first), "advanced": int(second)}
            else:
                row |= {"stays": first, "average_days": _days(second), "median_days": _days(third)}
    return {key: {group: _flow_row(values) for group, values in rows.items()} for key, rows in grouped.items()}


def _flow_sql(moves_sql: str, params: tuple, start: date, end: date, stage_ids: list, keys: tuple) -> tuple[str, list]:
    """Both halves of `flow` over one materialised CTE of the moves (of open stages only), grouped by each of
    `keys` ("stage", "owner"), as rows (key, part, group, a, b, c)."""
    assert set(keys) <= {"stage", "owner"}  # column names, never user input
    in_stages = f"stage IN ({', '.join(['%s'] * len(stage_ids))})"
    bounds = [connection.ops.adapt_datetimefield_value(moment) for moment in period_bounds(start, end)]
    # Each deal once per stage (its owner is the same on all its moves), then added up per key.
    per_stage = (
        "SELECT owner, stage, COUNT(DISTINCT deal) AS e, "  # noqa: S608
        "COUNT(DISTINCT CASE WHEN later_order > stage_order THEN deal END) AS a "
        f"FROM moves WHERE {in_stages} AND entered >= %s AND entered < %s GROUP BY owner, stage"
    )
    days = _days_between("left_at", "entered")
    parts, part_params = [], []
    for key in keys:
        stays = f"SELECT {key} AS k, {days} AS days FROM moves WHERE {in_stages} AND left_at >= %s AND left_at < %s"  # noqa: S608
        if connection.vendor == "postgresql":
            stays_sql = (
                f"SELECT '{key}', 'stays', k, COUNT(*), AVG(days), PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY days) "  # noqa: S608
                f"FROM ({stays}) stays GROUP BY k"
            )
        else:  # no PERCENTILE_CONT: the middle one or two of each group's sorted stays
            ranked = (
                "SELECT k, days, ROW_NUMBER() OVER (PARTITION BY k ORDER BY days) AS rn, "  # noqa: S608
                f"COUNT(*) OVER (PARTITION BY k) AS n FROM ({stays}) stays"
            )
            stays_sql = (
                f"SELECT '{key}', 'stays', k, COUNT(*), AVG(days), "  # noqa: S608
                f"AVG(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN days END) FROM ({ranked}) ranked GROUP BY k"
            )
        parts += [
            f"SELECT '{key}', 'entered', {key}, SUM(e), SUM(a), NULL FROM ({per_stage}) per_stage GROUP BY {key}",  # noqa: S608
            stays_sql,
        ]
        part_params += [*stage_ids, *bounds, *stage_ids, *bounds]
    # Only constants and Django's compiled SQL are joined here; every value is a parameter. Raw SQL gets no
    # field adaptation: SQLite compares datetimes as UTC text (bounds above).
    sql = f"WITH moves AS ({moves_sql}) " + " UNION ALL ".join(parts)  # noqa: S608
    return sql, [*params, *part_params]


def _days(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))


def _duration_days(value: timedelta | None) -> Decimal | None:
    return None if value is None else _days(value.total_seconds() / 86400)


CYCLE = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
CLOSED_WON = Q(status=StageKind.WON)
CLOSED_LOST = Q(status=StageKind.LOST)


def outcomes(opportunities: QuerySet[Opportunity], start: date, end: date) -> dict:
    """Deals closed in the period: won and lost counts, win rate (%), average cycle (days) and won deal size.

    Closed means status won/lost with closed_at in the period; a reopened deal is open again and not counted.
    """
    figures = opportunities.filter(_between("closed_at", start, end)).aggregate(
        won=Count("id", filter=CLOSED_WON),
        lost=Count("id", filter=CLOSED_LOST),
        won_amount=Coalesce(Sum("amount", filter=CLOSED_WON), ZERO),
        cycle=Avg(CYCLE, filter=CLOSED_WON),
        deal_size=Avg("amount", filter=CLOSED_WON),
    )
    cycle_days = figures.pop("cycle")
    return {
        **figures,
        "win_rate": _ratio(figures["won"], figures["won"] + figures["lost"]),
        "cycle_days": _duration_days(cycle_days),
        "deal_size": None if figures["deal_size"] is None else Decimal(figures["deal_size"]).quantize(Decimal("0.01")),
    }


def forecast(opportunities: QuerySet[Opportunity], start: date, end: date) -> dict:
    """Open deals expected to close in the period: count, amount and weighted amount."""
    return opportunities.open().filter(expected_close_date__gte=start, expected_close_date__lte=end).aggregate(**TOTALS)


def by_source(opportunities: QuerySet[Opportunity], start: date, end: date) -> list[dict]:
    """Per source (None: none): inflow in the period, how many of those are won so far, won amount in the period."""
    created, won_in_period = _between("created_at", start, end), CLOSED_WON & _between("closed_at", start, end)
    rows = (
        opportunities.filter(created | won_in_period)
        .values("source", "source__name")
        .annotate(
            inflow=Count("id", filter=created),
            inflow_won=Count("id", filter=created & CLOSED_WON),
            won=Count("id", filter=won_in_period),
            won_amount=Coalesce(Sum("amount", filter=won_in_period), ZERO),
        )
        .order_by("-inflow", "source__name")
    )
    return [{**row, "conversion": _ratio(row["inflow_won"], row["inflow"])} for row in rows]


def _person_name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def per_rep(
    opportunities: QuerySet[Opportunity], start: date, end: date, people: QuerySet[User] | None = None
) -> list[dict]:
    """Per owner, in one grouped query: open count, amount, weighted; the weighted amount expected to close in
    the period (forecast); new in the period; won/lost in the period, won amount, win rate, average won deal
    size and average cycle (days) of the wins.

    `people`: the users the table starts from (one more query); the reps among them without a row (an empty
    funnel, 空杯) are listed with zeros, so an empty cup is seen rather than missing.
    """
    is_open, closed, created = (
        Q(status=StageKind.OPEN),
        _between("closed_at", start, end),
        _between("created_at", start, end),
    )
    expected = is_open & Q(expected_close_date__gte=start, expected_close_date__lte=end)
    rows = list(
        opportunities.filter(is_open | closed | created)
        .values("owner", "owner__username", "owner__first_name", "owner__last_name")
        .annotate(
            open_count=Count("id", filter=is_open),
            open_amount=Coalesce(Sum("amount", filter=is_open), ZERO),
            weighted=Coalesce(Sum(WEIGHTED_AMOUNT, filter=is_open), ZERO),
            forecast_weighted=Coalesce(Sum(WEIGHTED_AMOUNT, filter=expected), ZERO),
            won=Count("id", filter=closed & CLOSED_WON),
            lost=Count("id", filter=closed & CLOSED_LOST),
            won_amount=Coalesce(Sum("amount", filter=closed & CLOSED_WON), ZERO),
            inflow=Count("id", filter=created),
            cycle=Avg(CYCLE, filter=closed & CLOSED_WON),
            size=Avg("amount", filter=closed & CLOSED_WON),
        )
        .order_by("-weighted", "owner")
    )
    if people is not None:
        present = {row["owner"] for row in rows}
        empty = {"open_count": 0, "open_amount": Decimal(0), "weighted": Decimal(0), "forecast_weighted": Decimal(0),
                 "won": 0, "lost": 0, "won_amount": Decimal(0), "inflow": 0, "cycle": None, "size": None}  # fmt: skip
        rows += [
            {"owner": pk, "owner__username": username, "owner__first_name": first, "owner__last_name": last, **empty}
            for pk, username, first, last in people.filter(role=Role.REP)
            .exclude(pk__in=present)
            .values_list("pk", "username", "first_name", "last_name")
        ]
    return [
        {
            **{key: value for key, value in row.items() if key not in ("cycle", "size")},
            "name": _person_name(row["owner__first_name"], row["owner__last_name"], row["owner__username"]),
            "win_rate": _ratio(row["won"], row["won"] + row["lost"]),
            "cycle_days": _duration_days(row["cycle"]),
            "deal_size": None if row["size"] is None else Decimal(row["size"]).quantize(Decimal("0.01")),
        }
        for row in rows
    ]
