"""Planning pages (managers for their teams' people, admins for everyone): the quota grid."""

from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.parsing import parse_id
from reps.access import role_required
from reps.models import Role, Team
from reps.quotas import MONTH, QUARTER, QuotaConflict, QuotaError, periods_of_year, quota_people, quotas_save

from . import grid

PEOPLE_PER_PAGE = 50
YEARS_AROUND = 5  # the grid reads this many years before and after the current one


def _year(request: HttpRequest, today) -> int:
    text = request.GET.get("year", "")
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        return today.year
    year = int(text)
    return year if abs(year - today.year) <= YEARS_AROUND else today.year


def period_label(start: date, end: date) -> str:
    """ "Q1 2026" for a quarter, the month's name and year for a month."""
    if end.month != start.month:
        return _("Q%(number)d %(year)d") % {"number": (start.month - 1) // 3 + 1, "year": start.year}
    return date_format(start, "YEAR_MONTH_FORMAT")


def columns(year: int, kind: str, today: date) -> list[dict]:
    return [
        {"start": start, "end": end, "label": period_label(start, end), "current": start <= today <= end}
        for start, end in periods_of_year(year, kind)
    ]


@role_required(Role.MANAGER, Role.ADMIN)
def quota_grid(request: HttpRequest) -> HttpResponse:
    """The people whose quotas the user may set × the year's quarters (or months), 50 people a page; a POST
    saves the changed cells together (all or nothing)."""
    today = timezone.localdate()
    year, kind = _year(request, today), (MONTH if request.GET.get("by") == MONTH else QUARTER)
    people = quota_people(request.user)
    teams = Team.objects.filter(members__in=people).distinct().order_by("name")
    team = teams.filter(pk=parse_id(request.GET.get("team"))).first() if request.GET.get("team") else None
    if team is not None:
        people = people.filter(team=team)
    ordered = people.select_related("team").order_by("team__name", "first_name", "last_name", "username")
    page = Paginator(ordered, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    rows = grid.build_rows(list(page.object_list), year, kind)
    if request.method == "POST":
        saved = _save(request, rows)
        if saved is not None:
            return redirect(request.get_full_path())
    context = {
        "rows": rows, "page": page, "year": year, "kind": kind, "teams": teams, "team": team,
        "columns": columns(year, kind, today),
        "years": range(today.year - 1, today.year + 2),
        "splits": grid.team_splits([team] if team else list(teams), people, year, kind),
    }  # fmt: skip
    return render(request, "funnel/planning/quota_grid.html", context, status=400 if request.method == "POST" else 200)


def _save(request: HttpRequest, rows: list[grid.Row]) -> int | None:
    """Saves the grid; None when the page is to be shown again with what was typed and why it was refused."""
    changes, errors = grid.read_post(rows, request.POST)
    if errors:
        messages.error(request, _("Some amounts could not be read. Nothing was saved."))
        return None
    if not changes:
        messages.info(request, _("Nothing to save: the values are the ones already recorded."))
        return 0
    try:
        changed = quotas_save(cells=changes, by=request.user)
    except QuotaConflict as conflict:
        conflicted = {(cell.person_id, cell.period_start) for cell in conflict.cells}
        for row in rows:
            for cell in row.cells:
                if (cell.person_id, cell.start) in conflicted:
                    cell.error = _("Changed by someone else meanwhile: reload to see the new amount.")
        messages.error(request, str(conflict))
        return None
    except QuotaError as error:
        messages.error(request, str(error))
        return None
    message = ngettext("%(count)d quota saved.", "%(count)d quotas saved.", changed) % {"count": changed}
    messages.success(request, message)
    return changed
