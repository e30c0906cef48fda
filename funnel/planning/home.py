"""The home page's quota panel: the user's own quotas in force today, and for a manager or an admin each team's
quotas in force beside its target."""

from datetime import date

from reps.models import Role, User

from .attainment import forecast_vs_quota, team_splits


def quota_panel(user: User, today: date) -> dict | None:
    """{"own": rows, "teams": rows, "today": today}, or None when there is nothing to show (no quota in force
    for the user, and for a manager or an admin none among their people)."""
    own = forecast_vs_quota([user.pk], today)
    teams = []
    if user.role in (Role.MANAGER, Role.ADMIN):
        teams = team_splits(forecast_vs_quota(User.objects.visible_to(user), today))
    if not (own or teams):
        return None
    return {"own": own, "teams": teams, "today": today}
