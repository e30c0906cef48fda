"""The shared date and wall-clock time fields: DST's repeated and skipped hours, and the app's date range."""

import zoneinfo
from datetime import UTC, date, datetime

import pytest
from django import forms
from django.urls import get_resolver
from django.utils import timezone

from config.fields import BoundedDateField, LocalDateTimeField

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


class VisitTime(forms.Form):
    when = LocalDateTimeField()
    day = BoundedDateField(required=False)


def cleaned(data: dict) -> tuple[dict, dict]:
    form = VisitTime(data)
    form.is_valid()
    return form.cleaned_data, form.errors


@pytest.fixture
def in_new_york():
    with timezone.override(NEW_YORK):
        yield


def test_a_time_in_the_repeated_hour_is_its_first_occurrence(in_new_york):
    """2026-11-01 01:30 happens twice in New York: EDT (05:30 UTC), then EST (06:30 UTC)."""
    data, errors = cleaned({"when": "2026-11-01T01:30"})
    assert not errors
    assert data["when"] == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_a_time_in_the_skipped_hour_is_refused_saying_why(in_new_york):
    _data, errors = cleaned({"when": "2026-03-08T02:30"})
    assert errors["when"] == ["This time does not exist in your time zone: the clocks moved forward."]


def test_the_minutes_around_both_changes_are_read_as_typed(in_new_york):
    assert cleaned({"when": "2026-03-08T01:59"})[0]["when"] == datetime(2026, 3, 8, 6, 59, tzinfo=UTC)
    assert cleaned({"when": "2026-03-08T03:00"})[0]["when"] == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert cleaned({"when": "2026-11-01T02:00"})[0]["when"] == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)


def test_the_second_occurrence_shown_by_a_form_is_kept_when_saved_unchanged(in_new_york):
    """An activity at the second 01:30 (EST), opened for correction and saved as shown, stays at 06:30 UTC."""
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    html = str(VisitTime(initial={"when": second})["when"])
    assert 'value="2026-11-01T01:30"' in html
    assert '<input type="hidden" name="when_fold" value="2026-11-01T01:30">' in html
    assert cleaned({"when": "2026-11-01T01:30", "when_fold": "2026-11-01T01:30"})[0]["when"] == second
    # Typed anew (the marker no longer matches), the time is the first occurrence again.
    moved = cleaned({"when": "2026-11-01T01:45", "when_fold": "2026-11-01T01:30"})[0]["when"]
    assert moved == datetime(2026, 11, 1, 5, 45, tzinfo=UTC)


def test_an_ordinary_time_gets_no_marker(in_new_york):
    html = str(VisitTime(initial={"when": datetime(2026, 11, 1, 5, 30, tzinfo=UTC)})["when"])
    assert "when_fold" not in html and 'value="2026-11-01T01:30"' in html


@pytest.mark.parametrize("value", ["0001-01-01T10:00", "9999-12-31T23:59", "1899-12-31T23:59", "3000-01-01T00:00"])
def test_a_moment_outside_the_apps_dates_is_a_form_error(value, in_new_york):
    _data, errors = cleaned({"when": value})
    assert errors["when"] == ["Enter a date between 1900-01-01 and 2999-12-31."]


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_a_date_outside_the_apps_dates_is_a_form_error(value):
    _data, errors = cleaned({"when": "2026-05-05T10:00", "day": value})
    assert errors["day"] == ["Enter a date between 1900-01-01 and 2999-12-31."]


@pytest.mark.parametrize(
    "value", ["10000-01-01T00:00", "yesterday", "2026-13-01T00:00", "x" * 10_000, "2026-05-05\x00"]
)
def test_nonsense_is_an_ordinary_form_error(value):
    _data, errors = cleaned({"when": value})
    assert errors["when"] == ["Enter a valid date/time."]


def test_the_dates_at_the_edges_are_accepted():
    data, errors = cleaned({"when": "1900-01-01T00:00", "day": "2999-12-31"})
    assert not errors and data["day"] == date(2999, 12, 31)


def test_both_inputs_tell_the_browser_the_range():
    html = str(VisitTime()["when"]) + str(VisitTime()["day"])
    assert 'type="datetime-local"' in html and 'min="1900-01-01T00:00"' in html and 'max="2999-12-31T23:59"' in html
    assert 'type="date"' in html and 'min="1900-01-01"' in html and 'max="2999-12-31"' in html


def project_forms() -> list[type[forms.BaseForm]]:
    """Every form class of the project's apps (their modules are imported with the URLs)."""
    get_resolver().url_patterns  # noqa: B018 - imports every view, so every form module
    found, stack = [], [forms.BaseForm]
    while stack:
        for subclass in stack.pop().__subclasses__():
            stack.append(subclass)
            if subclass.__module__.split(".")[0] in {"activity_log", "funnel", "reps", "config"}:
                found.append(subclass)
    return found


def test_every_datetime_input_of_every_form_reads_local_time_the_same_way():
    forms_with_times = [
        (form.__name__, name)
        for form in project_forms()
        for name, field in form.base_fields.items()
        if isinstance(field, forms.DateTimeField)
    ]
    assert ("ActivityForm", "when") in forms_with_times
    for form_name, name in forms_with_times:
        field = next(form for form in project_forms() if form.__name__ == form_name).base_fields[name]
        assert isinstance(field, LocalDateTimeField), f"{form_name}.{name} is a {type(field).__name__}"
