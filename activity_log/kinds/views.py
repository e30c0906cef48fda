"""The admin's list of activity kinds (visit, call, meeting…): add, rename, reorder, (de)activate.

Admins only: the role is checked before the method, so a rep or manager gets 403 on every route.
"""

from collections.abc import Callable

from django.contrib import messages
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from config.messages import saved_or_unchanged
from reps.access import admin_required

from ..models import ActivityKind
from ..services import LogError
from . import services
from .forms import KindForm


def _save(form: KindForm, write: Callable[[], ActivityKind]) -> ActivityKind | None:
    """Runs the service; a refusal becomes a form error, so the page shows what was typed."""
    try:
        return write()
    except LogError as error:
        form.add_error(None, str(error))
        return None


@admin_required
@require_http_methods(["GET", "POST"])
def kinds(request: HttpRequest) -> HttpResponse:
    """The list with each kind's use count, and a form to add one at the end."""
    next_order = (ActivityKind.objects.aggregate(n=Max("order"))["n"] or 0) + 1
    form = KindForm(request.POST or None, initial={"order": next_order, "is_active": True})
    if form.is_valid():
        data = form.cleaned_data
        if _save(form, lambda: services.kind_create(name=data["name"], order=data["order"], by=request.user)):
            messages.success(request, _("“%(name)s” added.") % {"name": data["name"]})
            return redirect("log:kinds")
    rows = ActivityKind.objects.annotate(uses=Count("activity")).order_by("order", "name")
    status = 422 if form.is_bound else 200
    return render(request, "activity_log/kinds.html", {"kinds": rows, "form": form}, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def kind_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename, reorder, activate or deactivate. There is no delete: past records keep their kind."""
    kind = get_object_or_404(ActivityKind, pk=pk)
    initial = {"name": kind.name, "order": kind.order, "is_active": kind.is_active}
    form = KindForm(request.POST or None, initial=initial, kind=kind)
    if form.is_valid() and _save(form, lambda: services.kind_update(kind=kind, by=request.user, **form.cleaned_data)):
        saved_or_unchanged(request, form, _("“%(name)s” saved.") % {"name": form.cleaned_data["name"]})
        return redirect("log:kinds")
    status = 422 if form.is_bound else 200
    return render(request, "activity_log/kind_edit.html", {"kind": kind, "form": form}, status=status)
