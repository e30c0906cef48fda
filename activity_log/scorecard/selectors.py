"""Reads of the data-quality scorecard: the stored scores (activity_log.quality writes them), worded as parts with
where to fix each, the weakest parts, the eight-week trend, and one rep's records that count against a part.
Each read costs a fixed number of queries however many reps or records there are."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse

from funnel.models import Account, HealthSettings, Opportunity, StageChange
from reps.models import User

from .. import quality, quality_parts
from ..models import Activity, DailyLog, QualityScore
from .words import DIMENSION_LABELS, PART_LABELS

WEAKEST_SHOWN = 3
SPARK_WIDTH, SPARK_HEIGHT = 84, 24


@dataclass(frozen=True)
class PartView:
    key: str
    label: str
    numerator: int
    denominator: int
    url: str

    @property
    def share(self) -> int | None:
        """Percent, rounded half up; None with nothing to judge."""
        if not self.denominator:
            return None
        return int(self.numerator / self.denominator * 100 + 0.5)

    @property
    def to_fix(self) -> int:
        return self.denominator - self.numerator


@dataclass(frozen=True)
class DimensionView:
    key: str
    label: str
    value: int
    parts: list[PartView]

    @property
    def judged(self) -> bool:
        """Whether any part had something to judge (else the score is 100 by rule: nothing to judge yet)."""
        return any(part.denominator for part in self.parts)


@dataclass
class ScoreView:
    rep: User
    score: QualityScore | None
    dimensions: list[DimensionView] = field(default_factory=list)

    @property
    def history(self) -> bool:
        """A week filled in from history: the parts judged on the state at the time are not in it."""
        return bool(self.score and self.score.parts.get("history"))

    def parts(self) -> list[PartView]:
        return [part for dimension in self.dimensions for part in dimension.parts]

    def weakest(self, count: int = WEAKEST_SHOWN) -> list[PartView]:
        """The parts furthest from 100: lowest share first, then the most records to fix."""
        parts = [part for part in self.parts() if part.to_fix > 0]
        return sorted(parts, key=lambda part: (part.numerator / part.denominator, -part.to_fix))[:count]


def part_url(key: str, rep: User, viewer: User) -> str:
    """Where the records a part counts against are listed: the opportunity list's filter for an open-deal part,
    else the part's list on the rep's scorecard."""
    if key in quality_parts.DEAL_GAPS:
        query = {"quality": quality_parts.DEAL_GAPS[key]} | ({} if rep.pk == viewer.pk else {"owner": rep.pk})
        return f"{reverse('opportunities:list')}?{urlencode(query)}"
    anchor = "logs_submitted" if key == "streak" else key  # one list of the days without a log serves both
    return f"{reverse('log:quality_rep', args=[rep.pk])}#part-{anchor}"


def score_view(rep: User, score: QualityScore | None, viewer: User) -> ScoreView:
    view = ScoreView(rep=rep, score=score)
    if score is None:
        return view
    for dimension in quality.DIMENSIONS:
        parts = [
            PartView(key, PART_LABELS[key], counts[0], counts[1], part_url(key, rep, viewer))
            for key, counts in score.parts.get(dimension, {}).items()
            if key in PART_LABELS
        ]
        view.dimensions.append(DimensionView(dimension, DIMENSION_LABELS[dimension], getattr(score, dimension), parts))
    return view


def trend_weeks(now: datetime) -> list[date]:
    """The Mondays of this week and the TREND_WEEKS - 1 before it, oldest first."""
    this_week = quality_parts.week_of(now)
    return [this_week - timedelta(weeks=n) for n in range(quality.TREND_WEEKS - 1, -1, -1)]


def scores_by_rep(rep_ids: list[int], weeks: list[date]) -> dict[int, dict[date, QualityScore]]:
    """The stored scores of these reps in these weeks, {rep id: {week: score}}. One query."""
    found: dict[int, dict[date, QualityScore]] = {}
    for score in QualityScore.objects.filter(rep__in=rep_ids, week__in=weeks):
        found.setdefault(score.rep_id, {})[score.week] = score
    return found


def this_weeks_scores(viewer: User, rep_ids: list[int], now: datetime) -> dict[int, QualityScore]:
    """This week's stored score of each of these reps the viewer may see. One query."""
    scores = QualityScore.objects.visible_to(viewer).filter(rep__in=rep_ids, week=quality_parts.week_of(now))
    return {score.rep_id: score for score in scores}


@dataclass(frozen=True)
class Trend:
    """One dimension over the trend's weeks: the numbers (None: no row that week) and a sparkline's path."""

    key: str
    label: str
    values: list[int | None]
    path: str


def trends(by_week: dict[date, QualityScore], weeks: list[date]) -> list[Trend]:
    rows = [by_week.get(week) for week in weeks]
    result = []
    for dimension in quality.DIMENSIONS:
        values = [None if row is None else getattr(row, dimension) for row in rows]
        result.append(Trend(dimension, DIMENSION_LABELS[dimension], values, sparkline(values)))
    return result


def sparkline(values: list[int | None]) -> str:
    """An SVG path through the values (0–100, bottom to top), broken where a week has none; a lone point is a dot
    (a zero-length stroke with round caps)."""
    step = SPARK_WIDTH / max(len(values) - 1, 1)
    commands, drawing = [], False
    for index, value in enumerate(values):
        if value is None:
            drawing = False
            continue
        x, y = round(index * step, 1), round(2 + (100 - value) * (SPARK_HEIGHT - 4) / 100, 1)
        commands.append(f"{'L' if drawing else 'M'}{x} {y}")
        if not drawing:
            commands.append("l0 0")
        drawing = True
    return " ".join(commands)


# --- The records that count against a part (one rep, now) ---------------------------------------------------

RECORDS_SHOWN = 10


def records_to_fix(viewer: User, rep: User, now: datetime) -> dict[str, list]:
    """Per part that is not about open-deal fields (those link to the opportunity list), the first RECORDS_SHOWN
    of the rep's records that count against it this week, as the viewer may see them. A fixed number of
    queries."""
    window = quality_parts.window_for(quality_parts.week_of(now), now)
    stages = quality_parts.read_stages()
    stalls = quality_parts.stall_stages(stages)
    activities = (
        Activity.objects.visible_to(viewer)
        .filter(quality_parts.window_activities([rep], window))
        .select_related("daily_log", "account", "opportunity")
        .order_by("-when", "-pk")
    )
    conditions = quality_parts.activity_conditions()
    moves = (
        StageChange.objects.visible_to(viewer)
        .filter(quality_parts.window_moves([rep], window))
        .select_related("opportunity", "from_stage", "to_stage")
        .order_by("-at", "-pk")
    )
    move_conditions = quality_parts.move_conditions(stages)
    touched = quality_parts.deal_conditions(now, stalls)["deals_touched"]
    deals = Opportunity.objects.visible_to(viewer).select_related("stage")
    found = {
        "customer_contact": Account.objects.visible_to(viewer)
        .filter(owner=rep)
        .filter(~Q(quality_parts.has_contact()))
        .order_by("name", "pk"),
        **{part: activities.filter(~condition) for part, condition in conditions.items()},
        "close_date_steady": deals.filter(quality_parts.deals_open_in([rep], window))
        .filter(pk__in=quality_parts.pushed_out_deals(window))
        .order_by("name", "pk"),
        **{part: moves.filter(~condition) for part, condition in move_conditions.items()},
        "deal_gaps": activities.filter(opportunity__stage_id__in=list(stalls))
        .annotate(previous=quality_parts.previous_activity())
        .filter(previous__isnull=False)
        .exclude(quality_parts.gap_condition(stalls)),
        "deals_touched": deals.filter(quality_parts.open_deals([rep]), stage_id__in=list(stalls))
        .exclude(touched)
        .order_by("last_activity_at", "pk"),
    }
    records = {part: list(rows[:RECORDS_SHOWN]) for part, rows in found.items()}
    submitted = set(
        DailyLog.objects.visible_to(viewer)
        .order_by()
        .filter(rep=rep, date__gte=window.first_day, date__lte=window.last_day, submitted_at__isnull=False)
        .values_list("date", flat=True)
    )
    working_days = frozenset(HealthSettings.current().working_days)
    missing = [day for day in quality_parts.days_judged(rep, window, working_days, submitted) if day not in submitted]
    records["logs_submitted"] = missing[:RECORDS_SHOWN]
    return records
