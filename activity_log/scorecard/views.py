"""The data-quality scorecard (全面、真实、持续): each rep's three scores, their parts and an eight-week trend.

Managers see their teams' reps, admins every rep; a rep sees their own page (the list sends them there). A person
outside the viewer's view is a 404 with an audit row. The pages only read: the scores are written by the refresh
job (activity_log.quality).
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from config.parsing import parse_id
from funnel.access import get_for_user
from funnel.opportunities.filters import Sort, keyset_page
from reps.models import Role, Team, User

from ..review.selectors import reviewable_teams
from . import selectors
from .words import RECORDS_LABELS

PAGE_SIZE = 50
BY_USERNAME = Sort("", "username", False)


def _chosen_team(request: HttpRequest, teams: list[Team]) -> Team | None:
    """The team asked for (?team=), one the viewer may name; another is a 404 with an audit row when it exists."""
    pk = parse_id(request.GET.get("team", ""))
    if pk is None:
        return None
    return next((team for team in teams if team.pk == pk), None) or get_for_user(request, Team.objects.none(), pk)


@login_required
@require_GET
def quality_list(request: HttpRequest) -> HttpResponse:
    """This week's scores of the reps in view, a page at a time, with each one's trend."""
    if request.user.role == Role.REP:
        return redirect("log:quality_rep", request.user.pk)
    teams = list(reviewable_teams(request.user))
    team = _chosen_team(request, teams)
    reps = User.objects.visible_to(request.user).active().filter(role=Role.REP).select_related("team")
    if team is not None:
        reps = reps.filter(team=team)
    page, after = keyset_page(reps.order_by("username", "pk"), request.GET.get("after", ""), BY_USERNAME, PAGE_SIZE)
    weeks = selectors.trend_weeks(timezone.now())
    scores = selectors.scores_by_rep([rep.pk for rep in page], weeks)
    rows = [
        (selectors.score_view(rep, scores.get(rep.pk, {}).get(weeks[-1]), request.user),
         selectors.trends(scores.get(rep.pk, {}), weeks))
        for rep in page
    ]  # fmt: skip
    context = {"rows": rows, "weeks": weeks, "teams": teams, "team": team, "after": after}
    return render(request, "activity_log/scorecard/list.html", context)


@login_required
@require_GET
def quality_rep(request: HttpRequest, pk: int) -> HttpResponse:
    """One rep's scores, every part with its numbers, the trend and the records that count against each part."""
    rep = get_for_user(request, User.objects.visible_to(request.user).select_related("team"), pk)
    now = timezone.now()
    weeks = selectors.trend_weeks(now)
    by_week = selectors.scores_by_rep([rep.pk], weeks).get(rep.pk, {})
    view = selectors.score_view(rep, by_week.get(weeks[-1]), request.user)
    records = selectors.records_to_fix(request.user, rep, now) if view.score else {}
    context = {
        "view": view,
        "trends": selectors.trends(by_week, weeks),
        "weeks_rows": [(week, by_week.get(week)) for week in reversed(weeks)],
        "records": records,
        "record_lists": _record_lists(view, records),
    }
    return render(request, "activity_log/scorecard/rep.html", context)


def _record_lists(view: selectors.ScoreView, records: dict[str, list]) -> list[tuple]:
    """(part, heading, records) of each part with records to show now or a count against it in the score (its
    link from "what would raise the score" lands there); the days without a log serve both log parts."""
    weak = {"logs_submitted" if part.key == "streak" else part.key for part in view.parts() if part.to_fix}
    return [(key, label, records[key]) for key, label in RECORDS_LABELS.items() if records.get(key) or key in weak]
