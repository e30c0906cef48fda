"""Stage probabilities against history (funnel.insights.calibration): the page every role may open, over the deals
the user may see, and the admin's "accept the historical figure", which goes through the stage service."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config import jobs
from reps.access import admin_required
from reps.models import Role, Team, User, person_name

from ..configuration import services as configuration_services
from ..models import Pipeline, Stage, StageChange, StageKind
from ..opportunities.services import FunnelError
from . import calibration
from .calibration_forms import AcceptProbabilityForm, CalibrationFilterForm
from .calibration_words import coaching, verdict

ASKED = "funnel:calibration-page-asked"  # the organisation's history was asked of a job (once a minute at most)
PERSON_MIN_DEALS = 10  # a rep's or a team's closed deals in a stage before their share is compared


@dataclass
class Person:
    pk: int
    name: str
    team_id: int | None


def scope_key(user: User) -> tuple[object, list[Person]]:
    """The cache key naming the deals `user` may see (their owners' ids; "all" for an admin) and those people,
    read once: the same key the dashboard's forecast uses for the same owners."""
    rows = User.objects.visible_to(user).order_by("pk").values_list("pk", "first_name", "last_name", "username", "team")
    people = [Person(pk, person_name(first, last, username), team) for pk, first, last, username, team in rows]
    return ("all" if user.role == Role.ADMIN else tuple(person.pk for person in people)), people


def _history(user: User, pipeline: Pipeline, months: int) -> tuple[list[calibration.StageRow] | None, list[Person]]:
    """The history of the deals the user may see, kept for the day. A manager's or a rep's is read at once (their
    teams' deals: ~150 ms cold at 1M); the whole organisation's (6 s cold at 1M) by a job, and None until then."""
    key, people = scope_key(user)
    stages = calibration.stages_of(pipeline)
    changes = StageChange.objects.visible_to(user)
    whole = key == "all"
    rows = calibration.history(changes, pipeline, scope_key=key, months=months, stages=stages, compute=not whole)
    if rows is None and cache.add(f"{ASKED}:{pipeline.pk}:{months}", True, 60):
        from ..tasks import calibration_history_task  # tasks import the modules views use

        jobs.enqueue(calibration_history_task, pipeline.pk, None, [stage.pk for stage in stages], months)
        rows = calibration.history(changes, pipeline, scope_key=key, months=months, stages=stages, compute=False)
    return rows, people


def _team_rows(rows: list[calibration.StageRow], teams: list[Team], people: list[Person]) -> list[dict]:
    """Per team in view: its members' share of each stage."""
    members: dict[int, list[int]] = {}
    for person in people:
        members.setdefault(person.team_id, []).append(person.pk)
    return [
        {"team": team, "cells": [row.share_of(members.get(team.pk, []), minimum=PERSON_MIN_DEALS) for row in rows]}
        for team in teams
    ]


def _rep_rows(rows: list[calibration.StageRow], people: list[Person], team: Team | None, user: User) -> list[dict]:
    """Per person with history in the chosen team (a manager: their teams): their share of each stage beside
    their team's, and a sentence where the two disagree."""
    shown = [person for person in people if team is None or person.team_id == team.pk]
    if team is None and user.role == Role.ADMIN:
        return []  # the whole organisation's reps: choose a team first
    by_team: dict[int | None, list[int]] = {}
    for person in people:
        by_team.setdefault(person.team_id, []).append(person.pk)
    result = []
    for person in shown:
        cells = [row.share_of([person.pk], minimum=PERSON_MIN_DEALS) for row in rows]
        if not any(cell.deals for cell in cells):
            continue
        teams = [row.share_of(by_team.get(person.team_id, []), minimum=PERSON_MIN_DEALS) for row in rows]
        pairs = zip(rows, cells, teams, strict=True) if person.team_id is not None else []
        notes = [coaching(person.name, row.stage, cell, mates) for row, cell, mates in pairs]
        result.append({"person": person, "cells": cells, "notes": [note for note in notes if note]})
    return sorted(result, key=lambda row: row["person"].name)


@login_required
def calibration_page(request: HttpRequest) -> HttpResponse:
    """Configured against historical probability per stage, over the deals the user may see; per team and per
    rep for managers and admins."""
    filters = CalibrationFilterForm(request.GET, user=request.user)
    pipeline, months = filters.chosen_pipeline(), filters.chosen_months()
    context = {"filters": filters, "pipeline": pipeline, "months": months, "minimum": calibration.MIN_DEALS,
               "person_minimum": PERSON_MIN_DEALS}  # fmt: skip
    if pipeline is not None:
        rows, people = _history(request.user, pipeline, months)
        context["pending"] = rows is None
        rows = rows or []
        scope = "own" if request.user.role == Role.REP else "all"
        context["rows"] = [{"row": row, "verdict": verdict(row, scope=scope)} for row in rows]
        if request.user.role != Role.REP:
            team = filters.chosen_team()
            context["teams"] = _team_rows(rows, filters.teams(), people)
            context["reps"] = _rep_rows(rows, people, team, request.user)
            context["notes"] = [note for rep in context["reps"] for note in rep["notes"]]
            context["stages"] = [row.stage for row in rows]
    return render(request, "funnel/dashboard/calibration.html", context)


@admin_required
@require_POST
def calibration_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Sets an open stage's probability to its history's figure through the stage service (audited old → new),
    if the page's figures still hold: the configured probability it showed and the history it showed."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline").filter(kind=StageKind.OPEN), pk=pk)
    form = AcceptProbabilityForm(request.POST)
    months = form.cleaned_data.get("months") if form.is_valid() else None
    back = f"{reverse('insights:calibration')}?{urlencode({'pipeline': stage.pipeline_id, 'months': months or ''})}"
    problem = _accept_problem(stage, form)
    if problem:
        messages.error(request, problem)
        return redirect(back)
    probability = form.cleaned_data["probability"]
    data = {field: getattr(stage, field) for field in configuration_services.STAGE_FIELDS}
    data["probability"] = probability
    try:
        configuration_services.stage_update(stage=stage, by=request.user, data=data)
    except FunnelError as error:
        messages.error(request, str(error))
        return redirect(back)
    messages.success(
        request,
        _("“%(stage)s” now has a probability of %(probability)s%%, the figure its history gives.")
        % {"stage": stage.name, "probability": probability},
    )
    return redirect(back)


def _accept_problem(stage: Stage, form: AcceptProbabilityForm) -> str | None:
    """Why the figure cannot be accepted as posted, or None."""
    if not form.is_valid():
        return _("The figure to accept was not understood. Reload the page and try again.")
    if stage.is_archived:
        return _("“%(stage)s” is archived.") % {"stage": stage.name}
    if stage.probability != form.cleaned_data["configured"]:
        return _("“%(stage)s” was changed to %(probability)s%% since the page was shown. Review it again.") % {
            "stage": stage.name,
            "probability": stage.probability,
        }
    rows = calibration.history(
        StageChange.objects.all(), stage.pipeline, scope_key="all", months=form.cleaned_data["months"]
    )
    found = next((row for row in rows if row.stage.pk == stage.pk), None)
    if found is None or found.total.rounded != form.cleaned_data["probability"]:
        return _("The history of “%(stage)s” has changed since the page was shown. Review the new figure.") % {
            "stage": stage.name
        }
    return None
