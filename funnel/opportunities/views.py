"""The opportunity pages: the list and its bulk actions, create, detail, edit, and the detail page's stage
actions (move, won, lost, reopen, reassign). Each is access helper → form → service → redirect."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.redirects import safe_next

from .. import hooks
from ..access import get_opportunity_for_user
from ..health.why import stalled_why
from ..models import Opportunity
from . import reschedule, services
from .filters import OpportunityFilterForm, keyset_page
from .forms import BulkForm, LostForm, MoveForm, OpportunityForm, ReassignForm, ReopenForm, WonForm

PAGE_SIZE = 25


def _list_context(request: HttpRequest, bulk_form: BulkForm | None = None) -> dict:
    filters = OpportunityFilterForm(request.GET, user=request.user)
    visible = filters.apply(Opportunity.objects.visible_to(request.user))
    now = timezone.now()
    rows, next_cursor = keyset_page(
        visible.select_related("account", "owner", "stage").flag_stalled(now),
        request.GET.get("after", ""),
        filters.ordering,
        PAGE_SIZE,
    )
    return {
        "filters": filters,
        "rows": rows,
        "count": visible.count(),
        "next_cursor": next_cursor,
        "is_first_page": not request.GET.get("after"),
        "bulk_form": bulk_form or BulkForm(user=request.user),
        "now": now,
    }


@login_required
def opportunity_list(request: HttpRequest) -> HttpResponse:
    return render(request, "funnel/opportunity_list.html", _list_context(request))


@login_required
@require_POST
def opportunity_bulk(request: HttpRequest) -> HttpResponse:
    """Reassign or move every selected deal, or none of them (QUALITY S7)."""
    form = BulkForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            if form.cleaned_data["action"] == "reassign":
                count = services.opportunities_bulk_reassign(
                    ids=form.cleaned_data["pick"], owner=form.cleaned_data["owner"], by=request.user
                )
            else:
                count = services.opportunities_bulk_move(
                    ids=form.cleaned_data["pick"], stage=form.cleaned_data["stage"], by=request.user
                )
        except services.FunnelError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("%(count)d opportunities updated.") % {"count": count})
            return redirect(f"{reverse('opportunities:list')}?{request.GET.urlencode()}")
    context = _list_context(request, bulk_form=form)
    return render(request, "funnel/opportunity_list.html", context, status=409 if form.is_valid() else 400)


@login_required
def opportunity_create(request: HttpRequest) -> HttpResponse:
    form = OpportunityForm(request.POST or None, user=request.user, initial={"account": request.GET.get("account")})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            opportunity = services.opportunity_create(
                by=request.user,
                owner=form.cleaned_data["owner"],
                stage=form.cleaned_data["stage"],
                data=form.field_data(),
                checklist=form.cleaned_data.get("checklist", []),
            )
        except services.FunnelError as error:
            form.add_error(None, str(error))
            status = 409 if isinstance(error, services.Busy) else 200
        else:
            messages.success(request, _("Opportunity “%(name)s” created.") % {"name": opportunity.name})
            return redirect(safe_next(request) or reverse("opportunities:detail", args=[opportunity.pk]))
    return render(request, "funnel/opportunity_form.html", {"form": form}, status=status)


@login_required
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request, pk)
    form = OpportunityForm(request.POST or None, instance=opportunity, user=request.user)
    current = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.opportunity_update(
                opportunity=opportunity, by=request.user, version=form.cleaned_data["version"], data=form.field_data()
            )
        except services.StaleVersion as error:
            form.add_error(None, str(error))
            current = error.current
            form.data = form.data.copy()
            form.data["version"] = current.version  # a second save now overwrites knowingly
        except services.Busy as error:
            form.add_error(None, str(error))
            current = get_opportunity_for_user(request, pk)
        else:
            if saved.version == form.cleaned_data["version"]:
                messages.info(request, _("Nothing to save: the values are the ones already recorded."))
            else:
                messages.success(request, _("Changes saved."))
            return redirect("opportunities:detail", pk)
    status = 409 if current else 200
    return render(request, "funnel/opportunity_form.html", {"form": form, "current": current}, status=status)


def _detail(request: HttpRequest, opportunity: Opportunity, status: int = 200, **forms) -> HttpResponse:
    defaults = {
        "move_form": MoveForm(opportunity=opportunity, initial={"stage": request.GET.get("move_to")}),
        "won_form": WonForm(opportunity=opportunity),
        "lost_form": LostForm(initial={"version": opportunity.version}),
        "reopen_form": ReopenForm(opportunity=opportunity),
        "reassign_form": ReassignForm(opportunity=opportunity, user=request.user),
    }
    # From the board's Won / Lost drop zones: the chosen form takes the focus, its first field first.
    closing = defaults.get({"won": "won_form", "lost": "lost_form"}.get(request.GET.get("close", "")))
    if closing is not None and forms.keys().isdisjoint(("won_form", "lost_form")):
        first = next(field for field in closing.fields.values() if not field.widget.is_hidden)
        first.widget.attrs["autofocus"] = True
    history = opportunity.stage_changes.select_related("from_stage", "to_stage", "by").order_by("-at", "-id")
    timeline = hooks.opportunity_timeline(user=request.user, opportunity=opportunity, stage_changes=history)
    now = timezone.now()
    stalled = Opportunity.objects.filter(pk=opportunity.pk).stalled(now).exists()
    context = {"opportunity": opportunity, "timeline": timeline, "now": now, "stalled": stalled, **defaults, **forms}
    context["stalled_why"] = stalled_why(opportunity, now) if stalled else ""
    context["moved"] = reschedule.latest_move(opportunity)  # why the next step is on its day, when it was moved
    return render(request, "funnel/opportunity_detail.html", context, status=status)


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, get_opportunity_for_user(request, pk))


def _run(request: HttpRequest, opportunity: Opportunity, form_name: str, form, action) -> HttpResponse:
    """Runs a stage action from the detail page: redirect on success, the page with the reason otherwise."""
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except services.FunnelError as error:
            form.add_error(None, str(error))
            status = 409 if isinstance(error, services.StaleVersion | services.Busy) else 422
            return _detail(request, get_opportunity_for_user(request, opportunity.pk), status, **{form_name: form})
        messages.success(request, _("Saved."))
        return redirect("opportunities:detail", opportunity.pk)
    return _detail(request, opportunity, 400, **{form_name: form})


@login_required
@require_POST
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request, pk)
    form = MoveForm(request.POST, opportunity=opportunity)
    return _run(
        request,
        opportunity,
        "move_form",
        form,
        lambda data: services.opportunity_move(
            opportunity=opportunity,
            stage=data["stage"],
            by=request.user,
            version=data["version"],
            checklist=data.get("checklist", []),
            keep_probability=data.get("keep_probability", False),
        ),
    )


@login_required
@require_POST
def opportunity_won(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request, pk)
    form = WonForm(request.POST, opportunity=opportunity)
    return _run(
        request,
        opportunity,
        "won_form",
        form,
        lambda data: services.opportunity_mark_won(
            opportunity=opportunity,
            by=request.user,
            version=data["version"],
            checklist=data.get("checklist", []),
            note=data["note"],
        ),
    )


@login_required
@require_POST
def opportunity_lost(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request, pk)
    form = LostForm(request.POST)
    return _run(
        request,
        opportunity,
        "lost_form",
        form,
        lambda data: services.opportunity_mark_lost(
            opportunity=opportunity, by=request.user, version=data["version"], reason=data["reason"], note=data["note"]
        ),
    )


@login_required
@require_POST
def opportunity_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request, pk)
    form = ReopenForm(request.POST, opportunity=opportunity)
    return _run(
        request,
        opportunity,
        "reopen_form",
        form,
        lambda data: services.opportunity_reopen(
            opportunity=opportunity,
            stage=data["stage"],
            by=request.user,
            version=data["version"],
            checklist=data.get("checklist", []),
        ),
    )


@login_required
@require_POST
def opportunity_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request, pk)
    form = ReassignForm(request.POST, opportunity=opportunity, user=request.user)
    return _run(
        request,
        opportunity,
        "reassign_form",
        form,
        lambda data: services.opportunity_reassign(
            opportunity=opportunity, owner=data["owner"], by=request.user, version=data["version"]
        ),
    )
