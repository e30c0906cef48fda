"""The search endpoints: each picker's options while the user types (funnel.search.pickers), and the global
search's suggestions under the top bar's box and its results page (funnel.search.finder)."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.parsing import parse_id

from .. import hooks
from . import finder
from .pickers import SOURCES, Picked, options, render_options

SUGGESTED = 5  # per kind, under the top bar's box
SHOWN = 5  # per kind on the results page of all kinds
PER_PAGE = 25  # on the results page of one kind


@login_required
@require_GET
def pick(request: HttpRequest, source: str) -> HttpResponse:
    """`?field=<name>&<name>__q=<text>&<name>=<chosen id>` plus the ids the source depends on (`account`) and
    its flags (`all=1`): at most LIMIT options the user may see, the chosen one kept when it matches."""
    picker = SOURCES.get(source)
    if picker is None:
        raise Http404
    field = request.GET.get("field", "")
    params = {name: parse_id(request.GET.get(name)) for name in picker.depends_on}
    params |= {flag: request.GET.get(flag) == "1" for flag in picker.flags}
    query = Picked.read("", request.GET.get(f"{field}__q") if field else request.GET.get("q")).query
    found = options(
        picker,
        picker.rows(request.user, params),
        params=params,
        chosen=parse_id(request.GET.get(field)) if field else None,
        query=query,
        user=request.user,
        recent=[] if query or picker.offers_self else hooks.picker_recent(user=request.user).get(source, []),
    )
    return HttpResponse(render_options(picker, found, params, empty_label=None))


@dataclass
class Group:
    """One kind's matches: the records shown, how many matched (up to CAP) and whether there were more."""

    kind: finder.Kind
    records: list[Model]
    count: int
    capped: bool
    page: Page | None = None


@login_required
@require_GET
def results(request: HttpRequest) -> HttpResponse:
    """`/search/?q=<text>`: every kind's best matches and how many there are; `&kind=<kind>` pages one kind."""
    query = finder.clean(request.GET.get("q"))
    kind = finder.KINDS.get(request.GET.get("kind", ""))
    groups = []
    if query:
        for each in [kind] if kind else finder.KINDS.values():
            ids = finder.ranked_ids(each, request.user, query, cap=finder.CAP + 1)
            capped, ids = len(ids) > finder.CAP, ids[: finder.CAP]
            page = Paginator(ids, PER_PAGE).get_page(request.GET.get("page")) if kind else None
            shown = list(page.object_list) if page else ids[:SHOWN]
            groups.append(Group(each, finder.records(each, shown), len(ids), capped, page))
    context = {"query": query, "kind": kind, "groups": groups, "cap": finder.CAP, "kinds": finder.KINDS}
    return render(request, "funnel/search/results.html", context)


@login_required
@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    """The listbox under the top bar's box: a few of each kind's best matches, and a link to all of them."""
    query = finder.clean(request.GET.get("q"))
    groups = []
    if query:
        for kind in finder.KINDS.values():
            ids = finder.ranked_ids(kind, request.user, query, cap=SUGGESTED)
            if ids:
                groups.append(Group(kind, finder.records(kind, ids), len(ids), False))
    return render(request, "funnel/search/_suggestions.html", {"query": query, "groups": groups})
