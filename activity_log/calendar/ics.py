"""An iCalendar (RFC 5545) document of events, written by hand: text escaped (3.3.11), lines folded at 75 octets
without splitting a character (3.1), CRLF line ends, DTSTAMP in UTC, a stable UID per event so that a rescheduled
step moves in the subscriber's calendar instead of appearing twice. A step with a time of day is a timed event of
TIMED_MINUTES, its start in UTC (3.3.5 form #2: no VTIMEZONE needed, each calendar shows it in its own zone); one
without is an all-day event (DTSTART;VALUE=DATE, DTEND the next day)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

LINE_OCTETS = 75
TIMED_MINUTES = 60


@dataclass(frozen=True)
class Event:
    uid: str
    day: date
    summary: str
    description: str = ""
    url: str = ""
    start: datetime | None = None  # an aware moment: a timed event on `day`; None: all day


def escape(text: str) -> str:
    """A TEXT value: backslash, semicolon and comma escaped, line breaks as \\n."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """A content line of more than 75 octets, split into lines of at most 75 (the continuations begin with a
    space, which counts), never inside a UTF-8 character."""
    parts, current, size, limit = [], [], 0, LINE_OCTETS
    for character in line:
        octets = len(character.encode())
        if size + octets > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, LINE_OCTETS - 1
        current.append(character)
        size += octets
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _when(event: Event) -> list[str]:
    if event.start is None:
        return [f"DTSTART;VALUE=DATE:{_day(event.day)}", f"DTEND;VALUE=DATE:{_day(event.day + timedelta(days=1))}"]
    end = event.start + timedelta(minutes=TIMED_MINUTES)
    return [f"DTSTART:{_moment(event.start)}", f"DTEND:{_moment(end)}"]


def document(events: Iterable[Event], *, name: str, now: datetime) -> str:
    stamp = _moment(now)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Loudou//Scheduled activities//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{stamp}",
            *_when(event),
            f"SUMMARY:{escape(event.summary)}",
            *([f"DESCRIPTION:{escape(event.description)}"] if event.description else []),
            *([f"URL:{event.url}"] if event.url else []),
            "TRANSP:TRANSPARENT" if event.start is None else "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
