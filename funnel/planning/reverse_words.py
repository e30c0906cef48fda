"""The reverse-funnel page's sentences: which history was used, and the arithmetic spelled out step by step with the
page's own figures. Each sentence is one catalogue entry with placeholders; amounts as the dashboard's cards show
them (¥2,367.4万 in Chinese)."""

from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from ..templatetags.funnel_tags import money_short
from . import reverse
from .plans import VISIT_WEEKS, WINDOW_MONTHS


def number(value: Decimal | int) -> str:
    """A figure as the reader's language writes it, with the decimals it has (two at most)."""
    places = 0 if isinstance(value, int) else min(2, max(0, -value.normalize().as_tuple().exponent))
    return formats.number_format(value, places, use_l10n=True, force_grouping=True)


def history_sentences(levels: dict[str, reverse.History], used: reverse.History | None, *, name: str) -> list[str]:
    """Whose history the plan uses, and why: `name`'s own (a person or a team) when it has enough closed deals,
    else each level that fell short and the one that was used."""
    months = WINDOW_MONTHS
    if used is None:
        sentence = _("No deal in this pipeline was closed in the last %(months)s months: there is no history to plan "
                     "from.")  # fmt: skip
        return [sentence % {"months": months}]
    first = next(iter(levels.values()))
    if used.level == first.level:
        return [ngettext(
            "From %(name)s's own history: %(count)s closed deal in this pipeline in the last %(months)s months.",
            "From %(name)s's own history: %(count)s closed deals in this pipeline in the last %(months)s months.",
            used.closed,
        ) % {"name": name, "count": used.closed, "months": months}]  # fmt: skip
    sentences = [ngettext(
        "%(name)s has %(count)s closed deal in this pipeline in the last %(months)s months, fewer than %(minimum)s.",
        "%(name)s has %(count)s closed deals in this pipeline in the last %(months)s months, fewer than %(minimum)s.",
        first.closed,
    ) % {"name": name, "count": first.closed, "months": months, "minimum": reverse.MIN_CLOSED}]  # fmt: skip
    team = levels.get(reverse.TEAM)
    if used.level == reverse.PIPELINE and team is not None and team is not first:
        sentences.append(_("Their team has %(count)s, also fewer.") % {"count": team.closed})
    if used.level == reverse.TEAM:
        sentences.append(ngettext("The team's history is used: %(count)s closed deal.",
                                  "The team's history is used: %(count)s closed deals.", used.closed)
                         % {"count": used.closed})  # fmt: skip
    else:
        sentences.append(ngettext("The whole pipeline's history is used: %(count)s closed deal.",
                                  "The whole pipeline's history is used: %(count)s closed deals.", used.closed)
                         % {"count": used.closed})  # fmt: skip
    return sentences


def level_label(level: str) -> str:
    """Whose history a rate is from, in a column heading: "Stage → Won (team)"."""
    return {
        reverse.REP: pgettext("history used", "own"),
        reverse.TEAM: pgettext("history used", "team"),
        reverse.PIPELINE: pgettext("history used", "whole pipeline"),
    }[level]


def _result(exact: Decimal, whole: int) -> str:
    """ "20" when the division comes out whole, else "20.4, rounded up to 21"."""
    if exact == whole:
        return number(whole)
    return _("%(exact)s, rounded up to %(whole)s") % {"exact": number(exact), "whole": number(whole)}


def arithmetic(plan: reverse.Plan) -> list[str]:
    """The plan's steps as sentences, from what is left to the visits a week."""
    if plan.status != reverse.PLANNED:
        return []
    if plan.wins is None:
        return [_("No deal was won in the history used: the average won deal, and so the wins needed, cannot be "
                  "computed.")]  # fmt: skip
    exact = plan.wins_exact.quantize(reverse.HUNDREDTH)
    sentences = [ngettext(
        "%(left)s left to win ÷ %(average)s average won deal = %(result)s win.",
        "%(left)s left to win ÷ %(average)s average won deal = %(result)s wins.",
        plan.wins,
    ) % {"left": money_short(plan.remaining), "average": money_short(plan.average_won),
         "result": _result(exact, plan.wins)}]  # fmt: skip
    sentences += [_stage_sentence(plan, step) for step in plan.steps]
    sentences += _new_sentences(plan)
    return sentences


def _stage_sentence(plan: reverse.Plan, step: reverse.Step) -> str:
    if step.problem == reverse.NO_STAGE_HISTORY:
        return _("No closed deal in the history used entered %(stage)s: what it needs cannot be computed.") % {
            "stage": step.name
        }
    if step.problem == reverse.ZERO_RATE:
        return ngettext(
            "%(stage)s → Won is 0%% over %(deals)s closed deal: what %(stage)s needs cannot be computed.",
            "%(stage)s → Won is 0%% over %(deals)s closed deals: what %(stage)s needs cannot be computed.",
            step.deals,
        ) % {"stage": step.name, "deals": step.deals}
    return ngettext(
        "%(wins)s win ÷ %(rate)s%% %(stage)s → Won = %(result)s at %(stage)s or beyond.",
        "%(wins)s wins ÷ %(rate)s%% %(stage)s → Won = %(result)s at %(stage)s or beyond.",
        plan.wins,
    ) % {"wins": plan.wins, "rate": number(step.rate), "stage": step.name, "result": _result(step.exact, step.needed)}


def _new_sentences(plan: reverse.Plan) -> list[str]:
    first = plan.first
    if first is None or first.needed is None:
        return []
    end = formats.date_format(plan.end, "SHORT_DATE_FORMAT")
    values = {"needed": first.needed, "stage": first.name, "have": first.can_close, "end": end}
    if not plan.new_needed:
        return [_("%(have)s open deals at %(stage)s or beyond can close by %(end)s, at least the %(needed)s needed: "
                  "no new opportunity is needed.") % values]  # fmt: skip
    sentences = [ngettext(
        "%(needed)s needed at %(stage)s or beyond − %(have)s open that can close by %(end)s = %(new)s new "
        "opportunity.",
        "%(needed)s needed at %(stage)s or beyond − %(have)s open that can close by %(end)s = %(new)s new "
        "opportunities.",
        plan.new_needed,
    ) % {**values, "new": plan.new_needed}]  # fmt: skip
    if plan.cycle_days is None:
        return sentences
    days = {"days": plan.days_left, "cycle": number(plan.cycle_days), "end": end}
    if plan.too_late:
        return [*sentences, _("%(days)s days left, but a won deal takes %(cycle)s days on average: an opportunity "
                              "opened now would close after %(end)s, so the quota has to come from the deals already "
                              "open.") % days]  # fmt: skip
    sentences.append(_(
        "%(days)s days left − %(cycle)s days average cycle = %(selling)s days (%(weeks)s weeks) to open them: "
        "%(new)s ÷ %(weeks)s = %(per_week)s new opportunities a week."
    ) % {**days, "selling": number(plan.selling_days), "weeks": number(plan.weeks), "new": plan.new_needed,
         "per_week": number(plan.new_per_week)})  # fmt: skip
    return sentences + _visit_sentences(plan)


def _visit_sentences(plan: reverse.Plan) -> list[str]:
    history = plan.history
    if history.activities is None:
        return []
    if plan.visits_per_new is None:
        return [_("No new opportunity in the last %(weeks)s weeks: visits per new opportunity cannot be computed.")
                % {"weeks": VISIT_WEEKS}]  # fmt: skip
    return [_(
        "%(ratio)s visits per new opportunity (%(activities)s activities ÷ %(created)s new opportunities in the last "
        "%(weeks)s weeks) × %(per_week)s = %(visits)s visits a week."
    ) % {"ratio": number(plan.visits_per_new), "activities": number(history.activities),
         "created": number(history.created), "weeks": VISIT_WEEKS, "per_week": number(plan.new_per_week),
         "visits": number(plan.visits_per_week)}]  # fmt: skip


def coverage_sentence(plan: reverse.Plan) -> str:
    """What the "quota at risk" alert reads: the weighted pipeline closing by the end against what is left."""
    if plan.coverage is None:
        return ""
    values = {"weighted": money_short(plan.weighted), "coverage": plan.coverage, "threshold": plan.threshold,
              "end": formats.date_format(plan.end, "SHORT_DATE_FORMAT")}  # fmt: skip
    if plan.at_risk:
        return _("The open weighted pipeline closing by %(end)s is %(weighted)s = %(coverage)s%% of what is left, "
                 "below %(threshold)s%%: the quota is at risk.") % values  # fmt: skip
    return _("The open weighted pipeline closing by %(end)s is %(weighted)s = %(coverage)s%% of what is left (the "
             "health scan raises “quota at risk” below %(threshold)s%%).") % values  # fmt: skip
