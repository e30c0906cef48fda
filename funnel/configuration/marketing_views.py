"""The admin's marketing settings: the campaign list (like sources: add, edit, deactivate) and the costs of
sources and campaigns per month, which the marketing page divides by the deals won. Admins only
(reps.access.admin_required: a rep or a manager gets 403 on every route and method)."""

from datetime import date

from django.contrib import messages
from django.db.models import OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.messages import saved_or_unchanged
from config.parsing import parse_id
from reps.access import admin_required

from ..models import Campaign, MarketingCost, Opportunity
from . import marketing_services as services
from .marketing_forms import CampaignForm, MarketingCostAmountForm, MarketingCostForm
from .views import COUNT_CAP, CountUpTo, _attempt, _posted

EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


# --- Campaigns -------------------------------------------------------------------------------------------


@admin_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    """The campaigns with their deal counts (up to COUNT_CAP), and a form to add one."""
    form = CampaignForm(_posted(request))
    if form.is_valid() and _attempt(form, lambda: services.campaign_create(by=request.user, **form.cleaned_data)):
        messages.success(request, _("“%(name)s” added.") % {"name": form.cleaned_data["name"]})
        return redirect("configuration:campaign_list")
    uses = CountUpTo(Opportunity.objects.filter(campaign=OuterRef("pk")))
    campaigns = Campaign.objects.select_related("source").annotate(uses=uses).order_by("-is_active", "name")
    context = {"campaigns": campaigns, "form": form, "count_cap": COUNT_CAP}
    return render(request, "funnel/config/campaign_list.html", context)


@admin_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename, re-date, re-source, activate or deactivate. No delete: deals keep pointing at the campaign."""
    campaign = get_object_or_404(Campaign, pk=pk)
    form = CampaignForm(_posted(request), campaign=campaign)
    if form.is_valid() and _attempt(
        form, lambda: services.campaign_update(campaign=campaign, by=request.user, **form.values())
    ):
        saved_or_unchanged(request, form, _("“%(name)s” saved.") % {"name": form.cleaned_data["name"]})
        return redirect("configuration:campaign_list")
    return render(request, "funnel/config/campaign_edit.html", {"campaign": campaign, "form": form})


# --- Costs per month --------------------------------------------------------------------------------------


def _year(request: HttpRequest) -> int:
    """The year whose costs the list shows: ?year=, else this year (an unreadable one: this year too)."""
    year = parse_id(request.GET.get("year"))
    return year if year is not None and EARLIEST_YEAR <= year <= LATEST_YEAR else timezone.localdate().year


def _named(cost: MarketingCost) -> dict:
    return {"name": (cost.source or cost.campaign).name, "month": cost.period_start.strftime("%Y-%m")}


def _cost_list_url(year: int) -> str:
    return f"{reverse('configuration:cost_list')}?year={year}"


@admin_required
def cost_list(request: HttpRequest) -> HttpResponse:
    """One year's entered costs (a year holds at most twelve per source and campaign), and the form to enter one."""
    form = MarketingCostForm(_posted(request))
    if form.is_valid():
        values = form.cleaned_data
        saved = _attempt(
            form,
            lambda: services.marketing_cost_set(by=request.user, month=values["month"], amount=values["amount"],
                                                **form.chosen_subject()),
        )  # fmt: skip
        if saved:
            cost, created = saved
            message = (
                _("Cost of “%(name)s” for %(month)s saved.")
                if created
                else _("Cost of “%(name)s” for %(month)s changed.")
            )
            messages.success(request, message % _named(cost))
            return redirect(_cost_list_url(cost.period_start.year))
    year = _year(request)
    costs = (
        MarketingCost.objects.filter(period_start__lte=date(year, 12, 31), period_end__gte=date(year, 1, 1))
        .select_related("source", "campaign", "updated_by")
        .order_by("-period_start", "source__name", "campaign__name", "pk")
    )
    context = {
        "costs": costs,
        "form": form,
        "year": year,
        "previous_url": _cost_list_url(year - 1) if year > EARLIEST_YEAR else None,
        "next_url": _cost_list_url(year + 1) if year < LATEST_YEAR else None,
    }
    return render(request, "funnel/config/cost_list.html", context)


@admin_required
def cost_edit(request: HttpRequest, pk: int) -> HttpResponse:
    cost = get_object_or_404(MarketingCost.objects.select_related("source", "campaign"), pk=pk)
    form = MarketingCostAmountForm(_posted(request), amount=cost.amount)
    if form.is_valid() and _attempt(
        form, lambda: services.marketing_cost_update(cost=cost, by=request.user, amount=form.cleaned_data["amount"])
    ):
        saved_or_unchanged(request, form, _("Cost of “%(name)s” for %(month)s saved.") % _named(cost))
        return redirect(_cost_list_url(cost.period_start.year))
    return render(request, "funnel/config/cost_edit.html", {"cost": cost, "form": form, **_named(cost)})


@admin_required
@require_POST
def cost_delete(request: HttpRequest, pk: int) -> HttpResponse:
    cost = get_object_or_404(MarketingCost.objects.select_related("source", "campaign"), pk=pk)
    services.marketing_cost_delete(cost=cost, by=request.user)
    messages.success(request, _("Cost of “%(name)s” for %(month)s deleted.") % _named(cost))
    return redirect(_cost_list_url(cost.period_start.year))
