"""The calibration page's sentences: whole sentences with placeholders, each translated as one."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import Stage
from .calibration import Share, StageRow


def verdict(row: StageRow, *, scope: str) -> str:
    """What history says about a stage's configured probability; `scope` "own" for a rep's own deals."""
    share = row.total
    if not share.enough:
        return ngettext(
            "Not enough history: %(deals)s closed deal, %(minimum)s needed.",
            "Not enough history: %(deals)s closed deals, %(minimum)s needed.",
            share.deals,
        ) % {"deals": share.deals, "minimum": share.minimum}
    low, high = share.range
    values = {"stage": row.stage.name, "configured": row.configured, "historical": share.rounded,
              "margin": share.margin, "deals": share.deals, "low": low, "high": high}  # fmt: skip
    if not row.disagrees:
        if scope == "own":
            return _("Your deals agree: %(configured)s%% lies within %(low)s–%(high)s%%.") % values
        return _("History agrees: %(configured)s%% lies within %(low)s–%(high)s%%.") % values
    if scope == "own":
        return (
            ngettext(
                "%(stage)s says %(configured)s%%, your deals say %(historical)s%% ± %(margin)s%% over %(deals)s deal.",
                "%(stage)s says %(configured)s%%, your deals say %(historical)s%% ± %(margin)s%% over %(deals)s deals.",
                share.deals,
            )
            % values
        )
    return (
        ngettext(
            "%(stage)s says %(configured)s%%, history says %(historical)s%% ± %(margin)s%% over %(deals)s deal.",
            "%(stage)s says %(configured)s%%, history says %(historical)s%% ± %(margin)s%% over %(deals)s deals.",
            share.deals,
        )
        % values
    )


def coaching(name: str, stage: Stage, person: Share, team: Share) -> str | None:
    """ "Wang's Proposal → Won is 18 %, the team's is 34 %": when both have enough history and the person's share
    lies outside the range of their team's."""
    if not (person.enough and team.enough) or not team.disagrees_with(person.rounded):
        return None
    return _("%(rep)s's %(stage)s → Won is %(rep_share)s%%, the team's is %(team_share)s%%.") % {
        "rep": name,
        "stage": stage.name,
        "rep_share": person.rounded,
        "team_share": team.rounded,
    }
