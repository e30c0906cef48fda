"""Links from each dashboard figure to the opportunity list showing exactly the deals it counts.

A link carries the dashboard's team, rep, pipeline and source (DashboardFilterForm.list_params) and the
list filters that restate the figure's own condition: open in a stage, expected to close in the period,
created in the period, closed won or lost in the period (funnel.opportunities.filters.OpportunityFilterForm).
"""

from datetime import date, timedelta
from urllib.parse import urlencode

from django.urls import reverse

from ..models import Pipeline
from ..opportunities.filters import NO_SOURCE
from .forms import DashboardFilterForm


class FigureLinks:
    """Builds list URLs for one dashboard scope and period."""

    def __init__(self, filters: DashboardFilterForm, pipeline: Pipeline, start: date, end: date):
        self.base = filters.list_params(pipeline)
        self.start, self.end = start, end
        self.list_url = reverse("opportunities:list")
        self._encoded: dict[frozenset, str] = {}

    def url(self, **params) -> str:
        """The list URL of the scope narrowed by `params`; the scope's part is encoded once per set of keys
        it yields to `params` (the per-rep table makes hundreds of these)."""
        return f"{self.list_url}?{self._base_without(frozenset(params))}{urlencode(params)}"

    def _base_without(self, keys: frozenset) -> str:
        if keys not in self._encoded:
            kept = {name: value for name, value in self.base.items() if name not in keys}
            self._encoded[keys] = f"{urlencode(kept)}&" if kept else ""
        return self._encoded[keys]

    def open(self, **narrower) -> str:
        return self.url(**narrower)  # open deals: the list's default status

    def forecast(self) -> str:
        """Open deals expected to close in the period (metrics.forecast)."""
        return self.open(close_from=self.start, close_to=self.end)

    def created(self, start: date | None = None, end: date | None = None, **narrower) -> str:
        """Deals created in the period (or the given days of it), whatever became of them."""
        return self.url(status="all", created_from=start or self.start, created_to=end or self.end, **narrower)

    def closed(self, status: str, **narrower) -> str:
        """Deals won or lost (status) in the period."""
        return self.url(status=status, closed_from=self.start, closed_to=self.end, **narrower)


def link_figures(links: FigureLinks, figures: dict) -> dict:
    """Adds `url` (or `urls`) to the rows of the figures' tables; returns the links of the single figures."""
    for row in figures["by_stage"]:
        row["url"] = links.open(stage=row["stage"].pk)
    for row in figures["inflow"]:  # a week's first or last days may lie outside the period
        week_end = row["week"] + timedelta(days=6)
        row["url"] = links.created(max(row["week"], links.start), min(week_end, links.end))
    for row in figures["sources"]:
        source = row["source"] or NO_SOURCE
        row["urls"] = {
            "inflow": links.created(source=source),
            "inflow_won": links.url(status="won", created_from=links.start, created_to=links.end, source=source),
            "won": links.closed("won", source=source),
        }
    for row in figures["reps"]:
        owner = row["owner"]
        row["urls"] = {
            "open": links.open(owner=owner),
            "forecast": links.open(owner=owner, close_from=links.start, close_to=links.end),
            "inflow": links.created(owner=owner),
            "won": links.closed("won", owner=owner),
            "lost": links.closed("lost", owner=owner),
        }
    return {"forecast": links.forecast(), "won": links.closed("won"), "lost": links.closed("lost")}
