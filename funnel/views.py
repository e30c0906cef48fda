"""The home page: the funnel of everything the user may see, the stalled deals, the next steps and the panels
other apps add (funnel.hooks)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from reps.models import Role, User

from . import hooks
from .insights import figures, metrics
from .models import Opportunity, Pipeline
from .opportunities import home_panels
from .planning.home import quota_panel


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The funnel of everything the user may see: totals, per stage, per owner, latest deals; the stalled
    deals in view and the user's next steps due."""
    visible, now = Opportunity.objects.visible_to(request.user), timezone.now()
    pipeline = Pipeline.objects.filter(is_active=True).first()
    if request.user.role == Role.REP or pipeline is None:  # one person's deals: live, and every pipeline's
        funnel = {
            "totals": metrics.funnel_totals(visible),
            "by_stage": metrics.funnel_by_stage(visible, pipeline) if pipeline else [],
            "by_owner": [],
        }
    else:
        funnel = _team_funnel(request, pipeline)
    context = {
        **funnel,
        "pipeline": pipeline,
        "recent": visible.select_related("account", "owner", "stage").flag_stalled(now)[:8],
        "panels": hooks.home_panels(user=request.user),
        "stalled": home_panels.stalled_panel(request.user, now),
        "next_steps": home_panels.next_steps_panel(request.user, timezone.localdate()),
        "quota": quota_panel(request.user, timezone.localdate()),
    }
    return render(request, "funnel/home.html", context)


def _team_funnel(request: HttpRequest, pipeline: Pipeline) -> dict:
    """A manager's or an admin's funnel in the default pipeline: everyone's open deals in view, per stage and
    per owner, from the dashboard's rollup (a large team's home page reads a few hundred rows)."""
    today = timezone.localdate()
    users = User.objects.visible_to(request.user)
    scope = figures.figure_scope(users, pipeline, None, today, today, days=False)
    as_of = figures.as_of()
    by_stage, by_owner = figures.open_funnel(scope, metrics.open_stages(pipeline))
    totals = {key: sum(row[key] for row in by_stage) for key in ("count", "total", "weighted")}
    return {"totals": totals, "by_stage": by_stage, "by_owner": by_owner, "as_of": as_of}
