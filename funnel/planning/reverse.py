"""The reverse funnel (issue 14): from what is left of a quota back through the stages to the new opportunities
and the visits a week it takes. Pure arithmetic on numbers read elsewhere (funnel.planning.reverse_reads), so
every step can be checked by hand.

Each step works on the figures as the page shows them (a rate with one decimal, days with one decimal), so the
arithmetic spelled out on the page gives the page's results:

- wins needed = what is left ÷ the average won deal, rounded up;
- deals needed at a stage or beyond = wins ÷ that stage's historical stage → won rate, rounded up (the rate of
  funnel.insights.calibration: of the closed deals that entered the stage, the share won);
- new opportunities = what the first stage needs − the open deals that can still close by the period's end;
- weeks to open them = (days left − the average cycle) ÷ 7; new a week = new ÷ weeks, rounded up to 0.1;
- visits a week = new a week × visits per new opportunity (the daily log), rounded up to 0.1.

The history is the rep's own when they have at least MIN_CLOSED closed deals, else their team's, else the whole
pipeline's (`choose`).
"""

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

MIN_CLOSED = 10  # closed deals a level's history needs before the plan uses it
REP, TEAM, PIPELINE = "rep", "team", "pipeline"
NO_QUOTA, MET, NO_HISTORY, PENDING, PLANNED = "no_quota", "met", "no_history", "pending", "planned"
NO_STAGE_HISTORY, ZERO_RATE = "no_history", "zero"
TENTH, HUNDREDTH = Decimal("0.1"), Decimal("0.01")
DAY_SECONDS = 86400


def up(value: Decimal, step: Decimal = TENTH) -> Decimal:
    """Rounded up to `step` (a need is never rounded down)."""
    return value.quantize(step, rounding=ROUND_CEILING)


def whole_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def coverage_percent(remaining: Decimal, weighted: Decimal) -> int | None:
    """The weighted pipeline as a whole percent of what is left, rounded down (so a share below a threshold never
    reads as the threshold); None when nothing is left."""
    if remaining <= 0:
        return None
    return int((Decimal(100) * weighted / remaining).to_integral_value(rounding=ROUND_FLOOR))


def quota_at_risk(remaining: Decimal, weighted: Decimal, threshold: int | Decimal) -> bool:
    """The "quota at risk" rule (HealthSettings.quota_risk_percent): something is left to win and the open weighted
    pipeline expected to close by the period's end covers less than `threshold` % of it. 0 turns it off."""
    return remaining > 0 and weighted * 100 < threshold * remaining


@dataclass(frozen=True)
class History:
    """One level's history (a rep's, a team's or the whole pipeline's) in the window: closed deals in the pipeline,
    the won ones (count, amount, created → closed seconds), per stage the closed deals that entered it and the won
    ones, and the daily log's activities beside the new opportunities of the visits window (None: no daily log)."""

    level: str
    closed: int = 0
    won: int = 0
    won_amount: Decimal = Decimal(0)
    won_seconds: float = 0.0
    shares: dict[int, tuple[int, int]] = field(default_factory=dict)
    activities: int | None = None
    created: int = 0

    @property
    def average_won(self) -> Decimal | None:
        return (self.won_amount / self.won).quantize(Decimal("0.01")) if self.won else None

    @property
    def cycle_days(self) -> Decimal | None:
        """Average days from created to won, one decimal."""
        return Decimal(str(self.won_seconds / self.won / DAY_SECONDS)).quantize(TENTH) if self.won else None

    @property
    def visits_per_new(self) -> Decimal | None:
        if self.activities is None or not self.created:
            return None
        return (Decimal(self.activities) / self.created).quantize(TENTH, rounding=ROUND_HALF_UP)


def choose(levels: list[History], minimum: int = MIN_CLOSED) -> History | None:
    """The first level (rep, team, pipeline) with at least `minimum` closed deals; else the last one if it has any
    closed deal at all; None when nothing closed in the window."""
    for level in levels:
        if level.closed >= minimum:
            return level
    last = levels[-1] if levels else None
    return last if last is not None and last.closed else None


@dataclass(frozen=True)
class Step:
    """One open stage: its historical stage → won rate, the open deals in it now, and what the plan needs at it or
    beyond against the open deals at it or beyond that can close by the period's end."""

    stage_id: int
    name: str
    deals: int  # closed deals behind the rate
    won: int
    open_now: int
    can_close: int  # open deals at this stage or a later one, not expected to close after the period
    needed: int | None = None
    exact: Decimal | None = None  # wins ÷ rate before rounding up (two decimals)

    @property
    def rate(self) -> Decimal | None:
        """The stage → won rate in percent, one decimal."""
        return (Decimal(100) * self.won / self.deals).quantize(TENTH, rounding=ROUND_HALF_UP) if self.deals else None

    @property
    def problem(self) -> str:
        if not self.deals:
            return NO_STAGE_HISTORY
        return ZERO_RATE if not self.rate else ""

    @property
    def short(self) -> int | None:
        return None if self.needed is None else max(0, self.needed - self.can_close)


@dataclass
class Plan:
    status: str
    quota: Decimal | None
    won: Decimal
    weighted: Decimal
    threshold: int
    today: date
    end: date | None
    history: History | None = None
    steps: list[Step] = field(default_factory=list)
    wins: int | None = None
    wins_exact: Decimal | None = None
    new_needed: int | None = None
    selling_days: Decimal | None = None
    weeks: Decimal | None = None
    new_per_week: Decimal | None = None
    visits_per_week: Decimal | None = None

    @property
    def remaining(self) -> Decimal | None:
        return None if self.quota is None else self.quota - self.won

    @property
    def left_to_win(self) -> Decimal | None:
        """What is left, never below zero (a quota exceeded has nothing left)."""
        return None if self.remaining is None else max(self.remaining, Decimal(0))

    @property
    def days_left(self) -> int | None:
        """Days from today to the period's last day, both included."""
        return None if self.end is None else (self.end - self.today).days + 1

    @property
    def average_won(self) -> Decimal | None:
        return self.history.average_won if self.history else None

    @property
    def cycle_days(self) -> Decimal | None:
        return self.history.cycle_days if self.history else None

    @property
    def visits_per_new(self) -> Decimal | None:
        return self.history.visits_per_new if self.history else None

    @property
    def coverage(self) -> int | None:
        return None if self.remaining is None else coverage_percent(self.remaining, self.weighted)

    @property
    def at_risk(self) -> bool:
        return self.remaining is not None and quota_at_risk(self.remaining, self.weighted, self.threshold)

    @property
    def first(self) -> Step | None:
        return self.steps[0] if self.steps else None

    @property
    def too_late(self) -> bool:
        """New opportunities are needed but one opened today would close after the period (on average)."""
        return bool(self.new_needed) and self.selling_days is not None and self.selling_days <= 0

    @property
    def shortfall(self) -> bool:
        return any(step.short for step in self.steps)


def steps_of(
    stages: list[tuple[int, str]], history: History | None, open_now: dict[int, int], can_close: dict[int, int]
) -> list[Step]:
    """The stages in funnel order with their history and open deals; `can_close` counts per stage, added up here
    from the last stage back (a deal in Negotiation has passed Proposal)."""
    shares = history.shares if history else {}
    steps, later = [], 0
    for stage_id, name in reversed(stages):
        later += can_close.get(stage_id, 0)
        deals, won = shares.get(stage_id, (0, 0))
        steps.append(Step(stage_id, name, deals, won, open_now.get(stage_id, 0), later))
    return steps[::-1]


def with_needs(step: Step, wins: int) -> Step:
    """The step with the deals `wins` need at it or beyond: wins ÷ its rate (as shown), rounded up; none when its
    rate is zero or unknown."""
    if step.problem:
        return step
    exact = Decimal(wins) * 100 / step.rate
    return replace(step, needed=whole_up(exact), exact=exact.quantize(HUNDREDTH, rounding=ROUND_HALF_UP))


def plan(
    *,
    quota: Decimal | None,
    won: Decimal,
    weighted: Decimal,
    threshold: int,
    history: History | None,
    stages: list[tuple[int, str]],
    open_now: dict[int, int],
    can_close: dict[int, int],
    today: date,
    end: date | None,
    pending: bool = False,
) -> Plan:
    """The reverse funnel of one person or team for the period ending `end` (None: no quota in force)."""
    result = Plan(NO_QUOTA, quota, won, weighted, threshold, today, end, history)
    result.steps = steps_of(stages, history, open_now, can_close)
    if quota is None:
        return result
    if result.remaining <= 0:
        result.status = MET
        return result
    if history is None:
        result.status = PENDING if pending else NO_HISTORY
        return result
    result.status = PLANNED
    if history.average_won:
        result.wins_exact = result.remaining / history.average_won
        result.wins = whole_up(result.wins_exact)
        result.steps = [with_needs(step, result.wins) for step in result.steps]
        _new_opportunities(result)
    return result


def _new_opportunities(result: Plan) -> None:
    """What the first stage needs beyond the open deals, and the weeks, new ones and visits a week it takes."""
    first = result.first
    if first is None or first.needed is None:
        return
    result.new_needed = first.short
    if not result.new_needed:
        result.new_per_week = result.visits_per_week = Decimal(0)
        return
    if result.cycle_days is None:
        return
    result.selling_days = Decimal(result.days_left) - result.cycle_days
    if result.selling_days <= 0:
        return
    result.weeks = (result.selling_days / 7).quantize(TENTH, rounding=ROUND_HALF_UP) or TENTH
    result.new_per_week = up(Decimal(result.new_needed) / result.weeks)
    if result.visits_per_new is not None:
        result.visits_per_week = up(result.new_per_week * result.visits_per_new)
