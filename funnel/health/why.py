"""Why an alert was raised, in the reader's language: the numbers its finding stored (Alert.details), worded per
kind. Each clause is one translated sentence with placeholders; a stalled deal's clauses are joined with the
language's clause separator (config.wording). An alert from before the numbers were kept says nothing."""

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.wording import join_clauses

from ..models import Alert, AlertKind


def why(alert: Alert, now: datetime | None = None) -> str:
    """The alert's numbers as a sentence, or "" when it has none."""
    details = alert.details or {}
    wording = WORDING.get(alert.kind)
    if not details or wording is None:
        return ""
    try:
        return wording(alert, details, now or timezone.now())
    except (KeyError, TypeError, ValueError, InvalidOperation):  # numbers of an older shape: say nothing
        return ""


def stalled_why(opportunity, now: datetime | None = None) -> str:
    """A deal's stalled numbers now, worded as its stalled alert words them (the deal page: no alert read)."""
    details = {
        "entered": opportunity.stage_entered_at.isoformat(),
        "stall_days": opportunity.stage.stall_days,
        "last_activity": opportunity.last_activity_at.isoformat() if opportunity.last_activity_at else None,
        "next_step": opportunity.next_step_date.isoformat() if opportunity.next_step_date else None,
    }
    return why(Alert(kind=AlertKind.STALLED, stage=opportunity.stage, details=details), now)


def _moment(value: str | None) -> datetime | None:
    """A stored moment: PostgreSQL's ISO text or SQLite's (UTC, without an offset)."""
    moment = parse_datetime(value) if value else None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


def _day(value: str | None) -> date | None:
    return parse_date(value[:10]) if value else None


def _short(day: date) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT")


def _money(value: str) -> str:
    from ..templatetags.funnel_tags import money  # the pages' own amount format

    return money(Decimal(value))


def _stage(alert: Alert) -> str:
    return alert.stage.name if alert.stage_id and alert.stage else ""


def _stalled(alert: Alert, details: dict, now: datetime) -> str:
    entered, limit = _moment(details["entered"]), details["stall_days"]
    days = (now - entered).days
    clauses = [
        ngettext("in %(stage)s for %(days)s day; stalls after %(limit)s",
                 "in %(stage)s for %(days)s days; stalls after %(limit)s", days)
        % {"stage": _stage(alert), "days": days, "limit": limit}
    ]  # fmt: skip
    last = _moment(details.get("last_activity"))
    if last is None:
        clauses.append(_("no activity recorded"))
    else:
        idle = (now - last).days
        clauses.append(
            ngettext("last activity %(days)s day ago", "last activity %(days)s days ago", idle) % {"days": idle}
        )
    step = _day(details.get("next_step"))
    today = timezone.localdate(now)
    if step is None:
        clauses.append(_("no next step dated"))
    elif step < today:
        clauses.append(_("next step overdue since %(day)s") % {"day": _short(step)})
    else:
        clauses.append(_("next step on %(day)s") % {"day": _short(step)})
    return join_clauses(clauses)


def _blockage(alert: Alert, details: dict, now: datetime) -> str:
    share = round(100 * details["stalled"] / details["open"]) if details["open"] else 0
    return ngettext(
        "%(stalled)s of the %(open)s open deal in %(stage)s is stalled (%(share)s%%); "
        "the threshold is %(threshold)s%%.",
        "%(stalled)s of the %(open)s open deals in %(stage)s are stalled (%(share)s%%); "
        "the threshold is %(threshold)s%%.",
        details["open"],
    ) % {**details, "stage": _stage(alert), "share": share}


def _gap(alert: Alert, details: dict, now: datetime) -> str:
    return _("No deal in %(stage)s: %(before)s in the stages before it, %(after)s after it.") % {
        **details,
        "stage": _stage(alert),
    }


def _empty_cup(alert: Alert, details: dict, now: datetime) -> str:
    if "new" in details:
        return (
            ngettext(
                "%(new)s new deal in the last %(weeks)s weeks; the pipeline expects %(minimum)s.",
                "%(new)s new deals in the last %(weeks)s weeks; the pipeline expects %(minimum)s.",
                details["new"],
            )
            % details
        )
    return ngettext(
        "No deal in %(stage)s, the first stage; %(open)s open deal in later stages.",
        "No deal in %(stage)s, the first stage; %(open)s open deals in later stages.",
        details["open"],
    ) % {**details, "stage": _stage(alert)}


def _missing_log(alert: Alert, details: dict, now: datetime) -> str:
    deadline = timezone.localtime(_moment(details["deadline"]))
    return _("No daily log submitted for %(day)s; it was due by %(time)s on %(due_day)s.") % {
        "day": _short(_day(details["day"])),
        "time": formats.time_format(deadline, "H:i"),
        "due_day": _short(deadline.date()),
    }


def _forecast(alert: Alert, details: dict, now: datetime) -> str:
    values = {name: _money(details[name]) for name in ("target", "won", "remaining", "weighted")}
    values |= {"start": _short(_day(details["start"])), "end": _short(_day(details["end"]))}
    if details.get("coverage") is None:
        sentence = _(
            "Target %(target)s for %(start)s to %(end)s: %(won)s won, %(remaining)s left, "
            "%(weighted)s weighted to its end."
        )
        return sentence % values
    sentence = _(
        "Target %(target)s for %(start)s to %(end)s: %(won)s won, %(remaining)s left, %(weighted)s weighted to its "
        "end (coverage %(coverage)s×)."
    )
    return sentence % {**values, "coverage": details["coverage"]}


def _money_short(value: str) -> str:
    from ..templatetags.funnel_tags import money_short  # the cards' amount format: ¥2,367.4万 in Chinese

    return money_short(Decimal(value))


def _quota_risk(alert: Alert, details: dict, now: datetime) -> str:
    """A rep's quota, or a team's quotas added up, against the open weighted pipeline closing by its end."""
    values = {name: _money_short(details[name]) for name in ("quota", "remaining", "weighted")}
    values |= {"end": _short(_day(details["end"])), "coverage": details["coverage"], "threshold": details["threshold"]}
    if "people" in details:
        return ngettext(
            "%(remaining)s of the %(quota)s in quotas of %(people)s person still to win by %(end)s; the open weighted "
            "pipeline closing by then is %(weighted)s = %(coverage)s%%, below %(threshold)s%%.",
            "%(remaining)s of the %(quota)s in quotas of %(people)s people still to win by %(end)s; the open weighted "
            "pipeline closing by then is %(weighted)s = %(coverage)s%%, below %(threshold)s%%.",
            details["people"],
        ) % {**values, "people": details["people"]}
    sentence = _(
        "%(remaining)s of the %(quota)s quota still to win by %(end)s; the open weighted pipeline closing by then "
        "is %(weighted)s = %(coverage)s%%, below %(threshold)s%%."
    )
    return sentence % values


WORDING = {
    AlertKind.STALLED: _stalled,
    AlertKind.BLOCKAGE: _blockage,
    AlertKind.GAP: _gap,
    AlertKind.EMPTY_CUP: _empty_cup,
    AlertKind.MISSING_LOG: _missing_log,
    AlertKind.FORECAST_RISK: _forecast,
    AlertKind.QUOTA_RISK: _quota_risk,
}
