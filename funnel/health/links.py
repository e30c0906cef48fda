"""Where an alert's subject is: the link the inbox, the dashboard's alert panel and the daily digest give
each alert (one rule, read by the health and insights pages and the digest alike)."""

from django.urls import reverse

from reps.models import User

from ..models import Alert, AlertKind


def subject_url(alert: Alert, viewer: User) -> str:
    """Where the alert's subject is: its deal, the day's log, the reverse-funnel plan of a quota at risk, the team's
    forecast, the team's deals in the stage, or the rep's deals (in the stage, or in the pipeline of an inflow
    alert)."""
    if alert.opportunity_id:
        return reverse("opportunities:detail", args=[alert.opportunity_id])
    if alert.day:
        # The daily log's pages (activity_log is not imported by funnel): the rep's own day, or the review.
        own = viewer.pk == alert.rep_id
        return f"/log/day/{alert.day:%Y-%m-%d}/" if own else f"/log/review/?date={alert.day:%Y-%m-%d}"
    if alert.kind == AlertKind.QUOTA_RISK:  # the reverse-funnel plan: the team's, or the rep's
        if alert.team_id:
            return reverse("planning:team_plan", args=[alert.team_id])
        return reverse("planning:person_plan", args=[alert.rep_id])
    if alert.kind == AlertKind.FORECAST_RISK and alert.team_id:
        return f"{reverse('insights:dashboard')}?team={alert.team_id}"
    stage = f"&stage={alert.stage_id}" if alert.stage_id else ""
    if alert.team_id:
        return f"{reverse('opportunities:list')}?team={alert.team_id}{stage}"
    pipeline = f"&pipeline={alert.pipeline_id}" if alert.pipeline_id else ""
    return f"{reverse('opportunities:list')}?owner={alert.rep_id}{stage}{pipeline}"
