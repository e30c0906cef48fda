"""The data-quality score where other pages show it, registered through funnel.hooks: the rep's home page card
and the dashboard's per-rep column (and its CSV file)."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from reps.models import Role

from ..models import QualityScore
from . import selectors


def home_panel(*, user) -> dict | None:
    """A rep's latest score and the three weakest parts, each a link to the records to fix. One query; none for
    anyone else."""
    if user.role != Role.REP:
        return None
    score = QualityScore.objects.filter(rep=user).order_by("-week").first()
    if score is None:
        return None
    view = selectors.score_view(user, score, user)
    return {"template": "activity_log/scorecard/_home_card.html", "context": {"view": view}}


CSV_HEADINGS = [
    pgettext_lazy("data quality, CSV column", "Data quality: complete"),
    pgettext_lazy("data quality, CSV column", "Data quality: true"),
    pgettext_lazy("data quality, CSV column", "Data quality: continuous"),
]


def dashboard_column(*, user, owner_ids: list[int]) -> dict:
    """This week's three numbers of each rep in the table (managers and others without a score: empty). One
    query."""
    scores = selectors.this_weeks_scores(user, owner_ids, timezone.now())
    cells = {
        rep_id: {"score": score, "csv": [score.complete, score.true, score.continuous]}
        for rep_id, score in scores.items()
    }
    return {
        "heading": _("Data quality"),
        "title": _("Complete, true and continuous, top to bottom"),
        "template": "activity_log/scorecard/_dashboard_cell.html",
        "csv_headings": CSV_HEADINGS,
        "cells": cells,
    }
