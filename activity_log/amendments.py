"""How a correction reads: "Kind: Visit → Call", in the reader's language.

An Amendment keeps what changed as stored values ({field: [old, new]}: ids for related rows, ISO 8601 for
moments), so the record does not depend on names that change later. These functions turn them into the
field's label and each value's display text when a page shows the correction.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.text import capfirst


@dataclass(frozen=True)
class ChangeLine:
    label: str
    old: str
    new: str


def change_lines(model: type[models.Model], changes: dict[str, list]) -> list[ChangeLine]:
    """One line per changed field of `model`, in the order they were stored; the key "added" is skipped."""
    lines = []
    for name, values in changes.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        old, new = (values + [None, None])[:2] if isinstance(values, list) else (None, None)
        names = _related_names(field, [old, new])
        lines.append(
            ChangeLine(capfirst(str(field.verbose_name)), _display(field, old, names), _display(field, new, names))
        )
    return lines


def _related_names(field, values: list) -> dict[str, str]:
    if not field.is_relation:
        return {}
    ids = [value for value in values if value not in (None, "")]
    rows = field.related_model._base_manager.filter(pk__in=ids) if ids else []
    return {str(row.pk): str(row) for row in rows}


def _display(field, value, names: dict[str, str]) -> str:
    if value in (None, ""):
        return "—"
    if field.is_relation:
        return names.get(str(value), "—")
    if isinstance(field, models.DateTimeField):
        moment = datetime.fromisoformat(value)
        return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
    if isinstance(field, models.DateField):
        return formats.date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
    if isinstance(field, models.TimeField):
        return value[:5]  # 14:30, as the form shows it
    return str(value)
