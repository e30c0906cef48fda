"""The manager's review of the daily logs: one day of the team, comments, "reviewed", compliance.

Managers and admins only (a rep gets 403 on the page). A log outside the viewer's scope is a 404,
with an audit row; every write goes through activity_log.services.
"""

from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config.parsing import parse_date, parse_id
from config.wording import join_list
from funnel.access import get_for_user
from funnel.models import WEEKDAYS
from reps.access import require_role
from reps.models import Role, Team

from .. import services
from ..models import DailyLog
from ..scorecard.selectors import this_weeks_scores
from . import selectors
from .forms import CommentForm


def get_log_for_user(request: HttpRequest, pk: int) -> DailyLog:
    """The log if the user may see it; otherwise 404, and an audit row if it exists."""
    return get_for_user(request, DailyLog.objects.visible_to(request.user).select_related("rep"), pk)


def _chosen_day(value: str, default: date) -> date:
    return parse_date(value) or default  # a malformed or far ?date= shows the default day


def _chosen_team(request: HttpRequest, teams: list[Team]) -> Team | None:
    """The team asked for (?team=), one of `teams`; none asked: all the viewer's people. Another team answers
    404, with an audit row when it exists, as any record outside the viewer's view does."""
    pk = parse_id(request.GET.get("team", ""))
    if pk is None:
        return None
    chosen = next((team for team in teams if team.pk == pk), None)
    return chosen or get_for_user(request, Team.objects.visible_to(request.user), pk)


def review_url(day: date, team: str = "", anchor: str = "") -> str:
    query = {"date": day.isoformat()} | ({"team": team} if parse_id(team) else {})
    return f"{reverse('log:review')}?{urlencode(query)}{anchor}"


@login_required
@require_GET
def review(request: HttpRequest) -> HttpResponse:
    """One day of the team's logs (default: yesterday) and the last four weeks' compliance."""
    require_role(request, Role.MANAGER, Role.ADMIN)
    today = services.local_today(request.user)
    day = _chosen_day(request.GET.get("date", ""), today - timedelta(days=1))
    teams = list(selectors.reviewable_teams(request.user))
    team = _chosen_team(request, teams)
    working_days = selectors.organisation_working_days()  # read once for the day, compliance and the note
    rows = selectors.review_day(request.user, day=day, team=team, now=timezone.now(), working_days=working_days)
    context = {
        "day": day,
        "today": today,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1) if day < today else None,
        "teams": teams,
        "team": team,
        "rows": rows,
        "compliance": selectors.compliance(
            request.user, [row.rep for row in rows], today=today, working_days=working_days
        ),
        "working_days": join_list(name for number, name in WEEKDAYS if number in working_days),
        "scored_rows": _with_scores(request, rows),
    }
    return render(request, "activity_log/review.html", context)


def _with_scores(request: HttpRequest, rows: list[selectors.ReviewRow]) -> list[tuple]:
    """Each row with the person's data-quality score this week (activity_log.scorecard), None without one."""
    scores = this_weeks_scores(request.user, [row.rep.pk for row in rows], timezone.now())
    return [(row, scores.get(row.rep.pk)) for row in rows]


def _back(request: HttpRequest, log: DailyLog) -> HttpResponse:
    """The rep goes back to their day; a manager to the review page, on the log's day and the same team."""
    if log.rep_id == request.user.pk:
        return redirect(reverse("log:day", args=[log.date.isoformat()]) + "#comments")
    return redirect(review_url(log.date, request.POST.get("team", ""), f"#log-{log.pk}"))


@login_required
@require_POST
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_log_for_user(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write a comment."))
        return _back(request, log)
    try:
        services.daily_log_comment(log=log, by=request.user, **form.cleaned_data)
    except services.LogError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Comment posted."))
    return _back(request, log)


@login_required
@require_POST
def reviewed(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_log_for_user(request, pk)
    try:
        services.daily_log_mark_reviewed(log=log, by=request.user)
    except services.LogError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("%(rep)s's log is marked as reviewed.") % {"rep": log.rep})
    return _back(request, log)
