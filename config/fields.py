"""Form fields shared by the apps."""

from datetime import UTC, date, datetime

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.parsing import EARLIEST_DATE, LATEST_DATE


class _FromResultCache(ModelChoiceIterator):
    """Iterates the field's queryset itself (Django's iterator() reads it afresh on every pass)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ReadOnceChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField over a short list (pipelines) whose choices are read once per form: a view that
    already read them, to pick a default, renders the select without a second query. Validation is
    ModelChoiceField's."""

    iterator = _FromResultCache


# --- dates and wall-clock times typed by a person ---------------------------------------------------
class BoundedDateInput(forms.DateInput):
    """<input type="date"> that tells the browser the app's date range too."""

    input_type = "date"

    def __init__(self, attrs=None):
        bounds = {"min": EARLIEST_DATE.isoformat(), "max": LATEST_DATE.isoformat()}
        super().__init__({**bounds, **(attrs or {})}, format="%Y-%m-%d")


def _check_bounds(day: date, field: forms.Field) -> None:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise forms.ValidationError(
            field.error_messages["out_of_range"],
            code="out_of_range",
            params={"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
        )


class BoundedDateField(forms.DateField):
    """A date within config.parsing's EARLIEST_DATE..LATEST_DATE: year 0001 or 9999 is a form error, not a 500
    when the app later adds a day or a time zone to it."""

    widget = BoundedDateInput
    default_error_messages = {
        "out_of_range": _("Enter a date between %(earliest)s and %(latest)s."),
    }

    def to_python(self, value):
        day = super().to_python(value)
        if day is not None:
            _check_bounds(day, self)
        return day


class FoldMarked(str):
    """A posted wall-clock time that the form itself showed as the second of a repeated hour."""

    second_occurrence = True


class LocalDateTimeInput(forms.DateTimeInput):
    """<input type="datetime-local">, plus a hidden marker when the time shown is the second 01:30 of the
    night the clocks go back, so that saving the form unchanged keeps that instant."""

    input_type = "datetime-local"
    FORMAT = "%Y-%m-%dT%H:%M"

    def __init__(self, attrs=None):
        bounds = {"min": f"{EARLIEST_DATE.isoformat()}T00:00", "max": f"{LATEST_DATE.isoformat()}T23:59"}
        super().__init__({**bounds, **(attrs or {})}, format=self.FORMAT)

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, value, attrs, renderer)
        second = getattr(value, "second_occurrence", False) or (isinstance(value, datetime) and value.fold == 1)
        if not second:
            return html
        shown = value if isinstance(value, str) else value.strftime(self.FORMAT)
        return html + format_html('<input type="hidden" name="{}_fold" value="{}">', name, shown)

    def value_from_datadict(self, data, files, name):
        value = super().value_from_datadict(data, files, name)
        if isinstance(value, str) and value and data.get(f"{name}_fold") == value:
            return FoldMarked(value)
        return value


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock time typed in the user's time zone, read the same way on every form.

    Django's own field refuses both ends of a DST change with one vague message. Here a time in the hour the
    clocks skip is refused saying so; a time in the hour that repeats is its first occurrence (the earlier
    offset), unless the form showed it as the second (LocalDateTimeInput's marker). Dates stay within
    EARLIEST_DATE..LATEST_DATE. The value is an aware datetime in UTC.
    """

    widget = LocalDateTimeInput
    input_formats = [LocalDateTimeInput.FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
    default_error_messages = {
        "skipped": _("This time does not exist in your time zone: the clocks moved forward."),
        "out_of_range": BoundedDateField.default_error_messages["out_of_range"],
    }

    def prepare_value(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return value.astimezone(timezone.get_current_timezone()).replace(tzinfo=None)  # keeps fold
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        wall = value if isinstance(value, datetime) else self._parse(value)
        _check_bounds(wall.date(), self)
        if timezone.is_aware(wall):
            return wall.astimezone(UTC)
        return self._localise(wall, second=getattr(value, "second_occurrence", False))

    def _parse(self, value) -> datetime:
        text = str(value).strip()
        for format in self.input_formats:
            try:
                return datetime.strptime(text, format)
            except (ValueError, TypeError):
                continue
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def _localise(self, wall: datetime, *, second: bool) -> datetime:
        zone = timezone.get_current_timezone()
        moment = wall.replace(tzinfo=zone, fold=1 if second else 0)
        if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None, fold=0) != wall.replace(fold=0):
            raise forms.ValidationError(self.error_messages["skipped"], code="skipped")
        return moment.astimezone(UTC)


class TimeOfDayInput(forms.TimeInput):
    """<input type="time">, to the minute."""

    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


class TimeOfDayField(forms.TimeField):
    """A time of day on a calendar day (a next step's), as the person's own clock reads it: 14:30 (seconds are
    dropped). Not a moment: the day and the person's time zone make it one."""

    widget = TimeOfDayInput
    input_formats = ["%H:%M", "%H:%M:%S"]

    def to_python(self, value):
        at = super().to_python(value)
        return at.replace(second=0, microsecond=0) if at is not None else None
