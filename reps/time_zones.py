"""Time zones as people read them: "(UTC+08:00) China Standard Time – Shanghai" / "(UTC+08:00) 中国标准时间 – 上海".

The names come from the Unicode CLDR (through Babel) in the reader's language. The list holds the zones of
places (Asia/…, Europe/…, America/…) and UTC, the common ones first, then the rest by offset: not
`localtime`, `Etc/GMT-8` or the old aliases (PRC, US/Eastern), which the tz database keeps for old systems.
A person whose stored zone is not in the list (set before it existed) keeps it, shown as stored.
"""

import functools
import re
import zoneinfo
from datetime import datetime

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import get_timezone_name
from django.utils import translation
from django.utils.translation import pgettext

from .models import known_time_zones

# Offered first, so a rep on a phone does not scroll through four hundred places.
COMMON_TIME_ZONES = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
]
REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")


def listed_zone(zone: str) -> bool:
    """A place's zone under its current name: not Etc/…, localtime or an old alias (Asia/Calcutta, US/…)."""
    if zone == "UTC":
        return True
    renamed = get_global("zone_aliases").get(zone)
    if renamed and renamed != zone and renamed in known_time_zones():
        return False
    return zone.split("/", 1)[0] in REGIONS and "/" in zone


def _standard_offset(zone: str) -> int:
    """Minutes from UTC outside summer time, so the label does not change twice a year."""
    info = zoneinfo.ZoneInfo(zone)
    for month in (1, 7):
        moment = datetime(2026, month, 1, 12, tzinfo=info)
        if not moment.dst():
            return int(moment.utcoffset().total_seconds() // 60)
    return int(datetime(2026, 1, 1, 12, tzinfo=info).utcoffset().total_seconds() // 60)


def _offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"(UTC{sign}{hours:02d}:{rest:02d})"


@functools.cache
def _cldr_keys() -> dict[str, list[str]]:
    """tz id → the ids CLDR may file its names under (Asia/Kolkata is Asia/Calcutta there)."""
    keys: dict[str, list[str]] = {}
    for old, new in get_global("zone_aliases").items():
        keys.setdefault(new, []).append(old)
        keys.setdefault(old, []).append(new)
    return keys


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(translation.to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale("en")


def _cldr_candidates(zone: str) -> list[str]:
    parts = zone.split("/")
    candidates = [zone, *_cldr_keys().get(zone, [])]
    if len(parts) == 3:  # America/Argentina/Buenos_Aires is America/Buenos_Aires in CLDR
        candidates.append(f"{parts[0]}/{parts[2]}")
    return candidates


def _city(zone: str, locale: Locale) -> str:
    for key in _cldr_candidates(zone):
        city = (locale.time_zones.get(key) or {}).get("city")
        if city:
            return city
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def _zone_name(zone: str, locale: Locale) -> str:
    """The zone's standard name (中国标准时间); the country's name where CLDR has no name for the zone's time."""
    name = get_timezone_name(zone, "long", zone_variant="standard", locale=locale)
    if "(" not in name and "（" not in name:
        return name
    territories = get_global("zone_territories")
    for key in _cldr_candidates(zone):
        if territories.get(key) in locale.territories:
            return locale.territories[territories[key]]
    return re.sub(r"\s*[（(][^）)]*[）)]", "", name)  # "Unknown Region (Coyhaique) Time" without the id


def zone_label(zone: str, language: str | None = None) -> str:
    """One zone as the reader reads it, in the active language unless one is given."""
    return _labels(language or translation.get_language() or "en").get(zone, zone)


@functools.cache
def _labels(language: str) -> dict[str, str]:
    locale = _locale(language)
    labels = {}
    with translation.override(language):
        utc = pgettext("time zone", "Coordinated Universal Time")
    for zone in known_time_zones():
        if not listed_zone(zone):
            continue
        offset = _offset_text(_standard_offset(zone))
        if zone == "UTC":
            labels[zone] = f"{offset} {utc}"
        else:
            labels[zone] = f"{offset} {_zone_name(zone, locale)} – {_city(zone, locale)}"
    return labels


@functools.cache
def _ordered(language: str) -> tuple[tuple[str, str], ...]:
    labels = _labels(language)
    rest = sorted(
        (zone for zone in labels if zone not in COMMON_TIME_ZONES), key=lambda z: (_standard_offset(z), labels[z])
    )
    return tuple((zone, labels[zone]) for zone in [*COMMON_TIME_ZONES, *rest] if zone in labels)


def time_zone_choices(language: str | None = None, current: str | None = None) -> list[tuple[str, str]]:
    """The choices of a time-zone select: common zones first, then by offset; `current` kept if unlisted."""
    choices = list(_ordered(language or translation.get_language() or "en"))
    if current and current not in dict(choices) and current in known_time_zones():
        choices.insert(0, (current, current))
    return choices
