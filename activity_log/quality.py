"""The data-quality score per rep (全面、真实、持续): the method's three demands on the record, each 0–100.

A week is named by its Monday (in the site's time zone, TIME_ZONE). Its **window** is the four weeks up to
the end of that week: the daily logs' local days from the Monday three weeks earlier to the Sunday, and for
moments (stage moves, field history) the same days' midnights in the site's time zone. "Open deals" and
"customers" are the state at computation time ("now"); a week filled in from history later (refresh: a
week with no row yet) has no such state and leaves those parts out (`parts["history"]`).

Each part is a share: how many of the rep's records pass (numerator) out of how many it judges
(denominator), both kept in `QualityScore.parts` so a page can say "31 of 40". A score is the mean of its
parts' shares ×100, rounded half up; a part with nothing to judge (denominator 0) is left out of the mean;
a score with no part to judge at all is 100 — nothing is held against a rep before there is a record, and
the pages say "nothing to judge yet" beside it.

The open-deal field parts judge a deal by the conditions of the opportunity list's ?quality= filter
(funnel.opportunities.filters.QUALITY_GAPS), so "what would raise my score" lists exactly the deals counted.
The trend's past weeks keep the row last written in that week; a past week with no row (a new installation, a
rep added later with older logs) is filled in once from history, for a rep whose first day (joined, or first
daily log) was by its end; other weeks stay missing and the trend shows a gap.

**Complete (全面)**
- `deal_amount` — open deals with an amount above 0, of the rep's open deals (now).
- `deal_close_date` — open deals with an expected close date (now).
- `deal_contact` — open deals with a contact (now).
- `deal_next_step` — open deals with a next step and its date (now).
- `customer_contact` — the rep's customers with at least one contact (now).
- `activity_outcome` — activities in the window whose outcome has at least SUBSTANTIVE_OUTCOME characters
  after trimming ("OK" or "visited" says nothing; 客户同意下周报价 does).

**True (真实)**
- `activity_on_day` — activities in the window recorded on their own day (not back-dated).
- `activity_unamended` — activities in the window never corrected after their day was submitted (an
  amendment that added the activity to a submitted day counts as back-dating, not as a correction).
- `close_date_steady` — the rep's deals open at some time in the window (created before its end; still open,
  or closed since its start) whose expected close date was pushed later at most PUSHES_ALLOWED time(s) up to
  the window's end (the field history: reps.AuditEvent "field changed", old → new).
- `moves_in_order` — stage moves in the window of the rep's deals, from an open stage to an open or won stage,
  that pass no active open stage between (a move into Won straight from the first stage skips the others;
  losing a deal is never a skip).
- `moves_forward` — the same moves that do not go back to an earlier open stage.
- `probability_stage` — open deals at their stage's probability, not overridden (now).

**Continuous (持续)**
- `logs_submitted` — the organisation's working days in the window (from the rep's first day) with a
  submitted daily log, of those whose log was due (its deadline passed) or is submitted already.
- `streak` — the current run: the latest of those days in a row with a submitted log (a non-working day
  never breaks it), of the same days.
- `deal_gaps` — activities in the window on deals in a stage with stall days, each that came within the
  stage's stall days of the previous activity on the same deal (the deal's stage now); the first activity
  on a deal has no gap and is left out.
- `deals_touched` — open deals in a stage with stall days whose last activity (none yet: creation) is within
  those days of now.

Every part is counted for all reps at once: one grouped query per source (open deals, customers,
activities, close-date history, stage moves, activity gaps, daily logs), whatever the number of reps.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from funnel.models import Account, HealthSettings, Opportunity, StageChange
from reps.models import Role, User

from .models import Activity, DailyLog, QualityScore
from .quality_parts import (
    Window,
    activity_conditions,
    days_judged,
    deal_conditions,
    deals_open_in,
    gap_condition,
    has_contact,
    move_conditions,
    open_deals,
    previous_activity,
    pushed_out_deals,
    read_stages,
    stall_stages,
    week_of,
    window_activities,
    window_for,
    window_moves,
)
from .services import local_date

TREND_WEEKS = 8  # this week and the seven before: the pages' trend, and the weeks a refresh fills in

DIMENSIONS = ("complete", "true", "continuous")
# (key, dimension, judged on the state now rather than on the window's history)
PARTS = [
    ("deal_amount", "complete", True),
    ("deal_close_date", "complete", True),
    ("deal_contact", "complete", True),
    ("deal_next_step", "complete", True),
    ("customer_contact", "complete", True),
    ("activity_outcome", "complete", False),
    ("activity_on_day", "true", False),
    ("activity_unamended", "true", False),
    ("close_date_steady", "true", False),
    ("moves_in_order", "true", False),
    ("moves_forward", "true", False),
    ("probability_stage", "true", True),
    ("logs_submitted", "continuous", False),
    ("streak", "continuous", False),
    ("deal_gaps", "continuous", False),
    ("deals_touched", "continuous", True),
]


# --- Counting, one grouped query per source ---------------------------------------------------------------


Counts = dict[int, dict[str, list[int]]]  # rep id → part → [numerator, denominator]


def _grouped(rows, owner: str, totals: dict[str, str]) -> Counts:
    """Rows of a grouped query into counts: `totals` names each part's denominator column."""
    found: Counts = {}
    for row in rows:
        found[row[owner]] = {part: [row[part], row[total]] for part, total in totals.items()}
    return found


def _deal_counts(reps, window: Window, stalls: dict[int, int]) -> Counts:
    conditions = deal_conditions(window.now, stalls)
    rows = (
        Opportunity.objects.filter(open_deals(reps))
        .order_by()
        .values("owner")
        .annotate(
            total=Count("pk"),
            stalling=Count("pk", filter=Q(stage_id__in=list(stalls))),
            **{part: Count("pk", filter=condition) for part, condition in conditions.items()},
        )
    )
    totals = dict.fromkeys(conditions, "total") | {"deals_touched": "stalling"}
    return _grouped(rows, "owner", totals)


def _customer_counts(reps, window: Window) -> Counts:
    rows = (
        Account.objects.filter(owner__in=reps)
        .order_by()
        .values("owner")
        .annotate(total=Count("pk"), customer_contact=Count("pk", filter=Q(has_contact())))
    )
    return _grouped(rows, "owner", {"customer_contact": "total"})


def _activity_counts(reps, window: Window) -> Counts:
    conditions = activity_conditions()
    rows = (
        Activity.objects.filter(window_activities(reps, window))
        .order_by()
        .values("daily_log__rep")
        .annotate(total=Count("pk"), **{part: Count("pk", filter=condition) for part, condition in conditions.items()})
    )
    return _grouped(rows, "daily_log__rep", dict.fromkeys(conditions, "total"))


def _close_date_counts(reps, window: Window) -> Counts:
    rows = (
        Opportunity.objects.filter(deals_open_in(reps, window))
        .order_by()
        .values("owner")
        .annotate(total=Count("pk"), close_date_steady=Count("pk", filter=~Q(pk__in=pushed_out_deals(window))))
    )
    return _grouped(rows, "owner", {"close_date_steady": "total"})


def _move_counts(reps, window: Window, stages: list[dict]) -> Counts:
    conditions = move_conditions(stages)
    rows = (
        StageChange.objects.filter(window_moves(reps, window))
        .order_by()
        .values("opportunity__owner")
        .annotate(total=Count("pk"), **{part: Count("pk", filter=condition) for part, condition in conditions.items()})
    )
    return _grouped(rows, "opportunity__owner", dict.fromkeys(conditions, "total"))


def _gap_counts(reps, window: Window, stalls: dict[int, int]) -> Counts:
    rows = (
        Activity.objects.filter(window_activities(reps, window), opportunity__stage_id__in=list(stalls))
        .annotate(previous=previous_activity())
        .order_by()
        .values("daily_log__rep")
        .annotate(
            total=Count("pk", filter=Q(previous__isnull=False)),
            deal_gaps=Count("pk", filter=gap_condition(stalls)),
        )
    )
    return _grouped(rows, "daily_log__rep", {"deal_gaps": "total"})


def _log_counts(reps: list[User], window: Window, working_days: frozenset[int]) -> Counts:
    """The submitted working days of the window (at most 20 a rep, one query), then each rep's days owed
    and current run, counted here from their own time zone and first day."""
    submitted: dict[int, set[date]] = {}
    rows = (
        DailyLog.objects.order_by()
        .filter(
            rep__in=reps,
            date__gte=window.first_day,
            date__lte=window.last_day,
            submitted_at__isnull=False,
            date__iso_week_day__in=[day + 1 for day in working_days],
        )
        .values_list("rep_id", "date")
    )
    for rep_id, day in rows:
        submitted.setdefault(rep_id, set()).add(day)
    return {rep.pk: _log_parts(rep, window, working_days, submitted.get(rep.pk, set())) for rep in reps}


def _log_parts(rep: User, window: Window, working_days: frozenset[int], submitted: set[date]) -> dict:
    days = days_judged(rep, window, working_days, submitted)
    run = next((index for index, day in enumerate(days) if day not in submitted), len(days))
    done = sum(1 for day in days if day in submitted)
    return {"logs_submitted": [done, len(days)], "streak": [run, len(days)]}


# --- Scores -----------------------------------------------------------------------------------------------


@dataclass
class Score:
    rep_id: int
    parts: dict = field(default_factory=dict)  # dimension → part → [numerator, denominator]

    def value(self, dimension: str) -> int:
        return score_of(self.parts.get(dimension, {}))


def score_of(parts: dict[str, list[int]]) -> int:
    """The mean share of the parts with something to judge, ×100, rounded half up; 100 with none."""
    shares = [numerator / denominator for numerator, denominator in parts.values() if denominator]
    return int(sum(shares) / len(shares) * 100 + 0.5) if shares else 100


def active_reps() -> list[User]:
    return list(User.objects.filter(role=Role.REP, is_active=True).only("pk", "time_zone", "date_joined"))


def compute_scores(week_monday: date, reps: Iterable[User] | None = None, *, now: datetime | None = None) -> dict:
    """Every rep's score for the week (default: all active reps), {rep id: Score}; a fixed number of queries
    however many reps. A past week is judged on its history alone (the parts of the state now left out)."""
    reps = active_reps() if reps is None else list(reps)
    if not reps:
        return {}
    window = window_for(week_monday, now or timezone.now())
    working_days = frozenset(HealthSettings.current().working_days)
    stages = read_stages()
    stalls = stall_stages(stages)
    sources = [
        _activity_counts(reps, window),
        _close_date_counts(reps, window),
        _move_counts(reps, window, stages),
        _gap_counts(reps, window, stalls),
        _log_counts(reps, window, working_days),
    ]
    if not window.history:
        sources += [_deal_counts(reps, window, stalls), _customer_counts(reps, window)]
    scores = {rep.pk: Score(rep_id=rep.pk) for rep in reps}
    for key, dimension, current in PARTS:
        if current and window.history:
            continue
        for rep in reps:
            counts = next((source[rep.pk][key] for source in sources if key in source.get(rep.pk, {})), [0, 0])
            scores[rep.pk].parts.setdefault(dimension, {})[key] = counts
    return scores


def _row(score: Score, window: Window, computed_at: datetime) -> QualityScore:
    parts = {**score.parts, "window": [window.first_day.isoformat(), window.last_day.isoformat()]}
    if window.history:
        parts["history"] = True
    return QualityScore(
        rep_id=score.rep_id,
        week=window.week,
        complete=score.value("complete"),
        true=score.value("true"),
        continuous=score.value("continuous"),
        parts=parts,
        computed_at=computed_at,
    )


def _first_days(reps: list[User]) -> dict[int, date]:
    """Each rep's first day on record: the day they joined, or their first daily log if earlier (a rep whose
    logs were imported from before). One query, none without reps."""
    if not reps:
        return {}
    logs = DailyLog.objects.filter(rep__in=reps).order_by().values("rep").annotate(first=Min("date"))
    first_log = {row["rep"]: row["first"] for row in logs}
    return {rep.pk: min(local_date(rep, rep.date_joined), first_log.get(rep.pk, date.max)) for rep in reps}


def refresh_quality_scores(now: datetime | None = None) -> dict:
    """This week's score of every active rep, written over the last one (one upsert), and each past week of
    the trend that has no row yet for a rep who had joined by its end, filled in once from history. Safe to
    run twice or at once: rows are unique per rep and week."""
    now = now or timezone.now()
    reps = active_reps()
    week = week_of(now)
    current = compute_scores(week, reps, now=now)
    window = window_for(week, now)
    QualityScore.objects.bulk_create(
        [_row(score, window, now) for score in current.values()],
        update_conflicts=True,
        unique_fields=["rep", "week"],
        update_fields=["complete", "true", "continuous", "parts", "computed_at"],
    )
    weeks = [week - timedelta(weeks=n) for n in range(1, TREND_WEEKS)]
    have = set(QualityScore.objects.filter(week__in=weeks, rep__in=reps).values_list("rep_id", "week"))
    missing = {past: [rep for rep in reps if (rep.pk, past) not in have] for past in weeks}
    first_days = _first_days([rep for past in weeks for rep in missing[past]])
    filled = 0
    for past in weeks:
        due = [rep for rep in missing[past] if first_days[rep.pk] <= past + timedelta(days=6)]
        if due:
            scores = compute_scores(past, due, now=now)
            rows = [_row(score, window_for(past, now), now) for score in scores.values()]
            filled += len(QualityScore.objects.bulk_create(rows, ignore_conflicts=True))
    return {"week": week, "reps": len(current), "filled": filled}
