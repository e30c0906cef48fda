"""The reverse-funnel plan pages (funnel.planning.reverse): a person's, for whoever may see the person (the rep
themself, their manager, an admin), and a team's, for its manager and admins. They only read."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from reps.access import role_required
from reps.models import Role, Team, User

from ..access import get_for_user
from ..insights import figures
from . import plans, reverse_words


def _common(request: HttpRequest) -> dict:
    """The pipeline chosen (?pipeline=, default the default one), its choices, today and the rollup's time."""
    choices = plans.pipelines()
    return {
        "pipelines": choices,
        "pipeline": plans.chosen_pipeline(choices, request.GET.get("pipeline")),
        "today": timezone.localdate(),
        "as_of": figures.as_of(),
    }


def _worded(found: dict, name: str) -> dict:
    plan = found["plan"]
    return {
        **found,
        "history_sentences": reverse_words.history_sentences(found["levels"], plan.history, name=name),
        "arithmetic": reverse_words.arithmetic(plan),
        "coverage_sentence": reverse_words.coverage_sentence(plan),
        "used_level": reverse_words.level_label(plan.history.level) if plan.history else "",
    }


def may_set_quota(viewer: User, person: User) -> bool:
    """reps.quotas.quota_people for one person already in view: a manager or an admin, not for themself, for an
    active person who is not an admin."""
    return (
        viewer.role in (Role.MANAGER, Role.ADMIN)
        and viewer.pk != person.pk
        and person.is_active
        and person.role != Role.ADMIN
    )


def may_plan_team(viewer: User, team: Team | None) -> bool:
    return team is not None and (viewer.role == Role.ADMIN or team.manager_id == viewer.pk)


@login_required
@require_GET
def person_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's reverse funnel for their quota in force today (?period=quarter|month) in one pipeline."""
    person = get_for_user(request, User.objects.visible_to(request.user).select_related("team"), pk)
    context = _common(request)
    if context["pipeline"] is not None:
        found = plans.person_plan(person, context["pipeline"], context["today"], request.GET.get("period"),
                                  ready=context["as_of"] is not None)  # fmt: skip
        context |= _worded(found, str(person))
    context |= {
        "person": person,
        "name": str(person),
        "may_set_quota": may_set_quota(request.user, person),
        "team_link": person.team if may_plan_team(request.user, person.team) else None,
    }
    return render(request, "funnel/planning/plan.html", context)


def _teams(user: User):
    """The teams a user plans: an admin every team, a manager the teams they manage."""
    return Team.objects.all() if user.role == Role.ADMIN else Team.objects.filter(manager=user.pk)


@role_required(Role.MANAGER, Role.ADMIN)
@require_GET
def team_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """A team's reverse funnel: its members' quotas in force today added up, and each member's beside it."""
    team = get_for_user(request, _teams(request.user), pk)
    context = _common(request)
    if context["pipeline"] is not None:
        found = plans.team_plan(team, context["pipeline"], context["today"], request.GET.get("period"),
                                ready=context["as_of"] is not None)  # fmt: skip
        context |= _worded(found, team.name)
    context |= {"team": team, "name": team.name, "may_set_quota": True}
    return render(request, "funnel/planning/plan.html", context)
