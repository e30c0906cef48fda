"""The one endpoint every picker asks while the user types (funnel.search.pickers): the matching <option>s."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from config.parsing import parse_id

from .. import hooks
from .pickers import SOURCES, Picked, options, render_options


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
