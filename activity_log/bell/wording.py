"""What a notification says, in the reader's language (the active one): a headline and a line beneath it, worded
from its kind and the details stored with it. Nothing here reads the database."""

from dataclasses import dataclass
from datetime import date, time

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import Notification, NotificationKind


@dataclass(frozen=True)
class Wording:
    headline: str
    line: str = ""


def _day(value: str) -> str:
    try:
        return formats.date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
    except (TypeError, ValueError):
        return ""


def _time(value: str) -> str:
    try:
        return formats.time_format(time.fromisoformat(value), "H:i")
    except (TypeError, ValueError):
        return ""


def _step_due(details: dict) -> Wording:
    step = details.get("step") or _("Next step")
    at = _time(details.get("time", ""))
    if at:
        headline = _("Due today at %(time)s: %(step)s") % {"time": at, "step": step}
    else:
        headline = _("Due today: %(step)s") % {"step": step}
    names = [name for name in (details.get("deal"), details.get("customer")) if name]
    return Wording(headline, " · ".join(names))


def _alert(details: dict) -> Wording:
    count = int(details.get("count") or 0)
    headline = ngettext(
        "%(count)d new alert on your opportunities", "%(count)d new alerts on your opportunities", count
    ) % {"count": count}
    return Wording(headline, _("Found by the funnel-health scan: open the inbox to see why."))


def _comment(details: dict) -> Wording:
    headline = _("%(author)s commented on your daily log of %(day)s") % {
        "author": details.get("author", ""),
        "day": _day(details.get("day", "")),
    }
    return Wording(headline, details.get("excerpt", ""))


def _handover(details: dict) -> Wording:
    count = int(details.get("items") or 0)
    headline = _("%(person)s's book was handed over to you") % {"person": details.get("from", "")}
    line = ngettext("%(count)d record is yours now.", "%(count)d records are yours now.", count) % {"count": count}
    return Wording(headline, line)


WORDERS = {
    NotificationKind.STEP_DUE: _step_due,
    NotificationKind.ALERT: _alert,
    NotificationKind.COMMENT: _comment,
    NotificationKind.HANDOVER: _handover,
}


def worded(notification: Notification) -> Wording:
    """The notification as the reader reads it; a kind this code does not know says only its label."""
    worder = WORDERS.get(notification.kind)
    details = notification.details if isinstance(notification.details, dict) else {}
    return worder(details) if worder else Wording(notification.get_kind_display())
