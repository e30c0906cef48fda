"""Reading values that come from outside (query strings, hidden fields, cursors, file cells), one place
per kind of value.

Each reader answers None for anything it cannot use safely, never raising: Unicode digits that pass
`str.isdigit()` but not `int()` ("²"), ids beyond the database's 64-bit keys, dates whose neighbouring
day the calendar cannot reach (0001-01-01, 9999-12-31), NUL bytes, which PostgreSQL refuses in text.
Callers turn None into a 404, a 400 or a form error.
"""

import base64
import binascii
import json
import math
from datetime import date

# Primary keys are BigAutoField: 64-bit signed.
MAX_ID = 2**63 - 1
# The dates the app accepts anywhere a person or a file gives one: wide enough for any real deal, narrow
# enough that a day before or after, a week or a month away, and a time zone's offset stay in range.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def parse_id(value) -> int | None:
    """A positive database id written in ASCII digits ("42"), else None."""
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def parse_ids(values) -> list[int] | None:
    """Every value as an id, or None if any of them is not one."""
    ids = [parse_id(value) for value in values]
    return None if any(pk is None for pk in ids) else ids


def parse_date(value) -> date | None:
    """An ISO date (YYYY-MM-DD) within EARLIEST_DATE..LATEST_DATE, else None."""
    text = str(value).strip() if value is not None else ""
    if not text.isascii() or len(text) != 10:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if EARLIEST_DATE <= day <= LATEST_DATE else None


def has_nul(text: str) -> bool:
    """Whether text holds a NUL byte (PostgreSQL stores no NUL in text columns)."""
    return "\x00" in text


# A cursor is base64 of a short JSON pair [sort value, id]; a longer text is no cursor of ours.
MAX_CURSOR_LENGTH = 1000


def parse_cursor(value) -> tuple[str | int | float | bool | None, int] | None:
    """A keyset cursor's (sort value, id), else None.

    The value is a JSON scalar, not yet typed: the keyset code reads it as its sort field's type. Refused
    here: non-finite or oversized numbers (1e400, NaN), NUL bytes, ids that parse_id refuses.
    """
    text = str(value) if value is not None else ""
    if not text or len(text) > MAX_CURSOR_LENGTH or not text.isascii():
        return None
    try:
        raw = base64.b64decode(text.encode(), altchars=b"-_", validate=True).decode()
        pair = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, TypeError, binascii.Error):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    if not (isinstance(pair, list) and len(pair) == 2):
        return None
    key, pk = pair
    if isinstance(pk, bool) or not isinstance(pk, int) or parse_id(pk) is None:
        return None
    if isinstance(key, float) and not math.isfinite(key):
        return None
    if isinstance(key, str) and has_nul(key):
        return None
    if isinstance(key, int) and not isinstance(key, bool) and abs(key) > MAX_ID:
        return None
    if isinstance(key, list | dict):
        return None
    return key, pk


def _no_constant(name: str):
    raise ValueError(f"{name} is not a value")
