"""The explicit hook through which later apps add to the funnel's pages without funnel importing them.

activity_log registers a timeline source in its AppConfig.ready(): the opportunity page then shows
the deal's visits and calls beside its stage changes.
"""

from collections.abc import Callable

TimelineSource = Callable[..., list[dict]]
_timeline_sources: list[TimelineSource] = []


def register_timeline_source(source: TimelineSource) -> TimelineSource:
    """`source(user=..., opportunity=...)` returns events: dicts with at, template and object."""
    if source not in _timeline_sources:
        _timeline_sources.append(source)
    return source


def opportunity_timeline(*, user, opportunity, stage_changes) -> list[dict]:
    """Stage changes and every registered source's events for one opportunity, newest first."""
    events = [
        {"at": change.at, "template": "funnel/_event_stage_change.html", "object": change} for change in stage_changes
    ]
    for source in _timeline_sources:
        events.extend(source(user=user, opportunity=opportunity))
    return sorted(events, key=lambda event: event["at"], reverse=True)


HomePanel = Callable[..., dict | None]
_home_panels: list[HomePanel] = []


def register_home_panel(panel: HomePanel) -> HomePanel:
    """`panel(user=...)` returns {"template": ..., "context": {...}} or None, shown on the home page."""
    if panel not in _home_panels:
        _home_panels.append(panel)
    return panel


def home_panels(*, user) -> list[dict]:
    return [shown for panel in _home_panels if (shown := panel(user=user)) is not None]


Diagnosis = Callable[..., list[dict]]
_diagnoses: dict[str, Diagnosis] = {}


def register_diagnosis(kind: str, diagnosis: Diagnosis) -> Diagnosis:
    """`diagnosis(now=...)` returns the findings of one alert kind (see funnel.health.diagnoses.finding)."""
    _diagnoses[kind] = diagnosis
    return diagnosis


def registered_diagnoses() -> dict[str, Diagnosis]:
    return dict(_diagnoses)


PickerRecent = Callable[..., dict[str, list[int]]]
_picker_recent: list[PickerRecent] = []


def register_picker_recent(source: PickerRecent) -> PickerRecent:
    """`source(user=...)` returns ids the user worked on lately, per picker source ("customer", ...), most
    recent first: the pickers offer them before anything is typed (funnel.search.pickers)."""
    if source not in _picker_recent:
        _picker_recent.append(source)
    return source


def picker_recent(*, user) -> dict[str, list[int]]:
    merged: dict[str, list[int]] = {}
    for source in _picker_recent:
        for name, ids in source(user=user).items():
            merged.setdefault(name, []).extend(ids)
    return merged


ActivityCounter = Callable[..., int]
_activity_counters: list[ActivityCounter] = []


def register_activity_counter(counter: ActivityCounter) -> ActivityCounter:
    """`counter(owner_ids=..., since=..., until=...)` returns how many activities (visits, calls, meetings…) the
    daily log holds for these people (None: everyone) on their days from `since` to `until`: the reverse funnel's
    visits per new opportunity (funnel.planning)."""
    if counter not in _activity_counters:
        _activity_counters.append(counter)
    return counter


def activity_count(*, owner_ids, since, until) -> int | None:
    """The registered counters' total, or None when no app keeps activities."""
    if not _activity_counters:
        return None
    return sum(counter(owner_ids=owner_ids, since=since, until=until) for counter in _activity_counters)


RepColumn = Callable[..., dict | None]
_rep_columns: list[RepColumn] = []


def register_rep_column(column: RepColumn) -> RepColumn:
    """`column(user=..., owner_ids=[...])` returns a column of the dashboard's per-rep table and of its CSV file, or
    None: {"heading": ..., "title": (the heading's tooltip, optional), "template": (renders one cell from `cell`),
    "csv_headings": [...], "cells": {owner id: {"csv": [one value per CSV heading], ...}}}; an owner without a cell
    gets an empty one."""
    if column not in _rep_columns:
        _rep_columns.append(column)
    return column


def rep_columns(*, user, owner_ids: list[int]) -> list[dict]:
    return [shown for column in _rep_columns if (shown := column(user=user, owner_ids=owner_ids)) is not None]
