from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reps.models import Role

from . import metrics
from .access import get_opportunity_for_user
from .models import Opportunity, Pipeline

PAGE_SIZE = 25


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The funnel of everything the user may see: totals, per stage, per owner, latest deals."""
    visible = Opportunity.objects.visible_to(request.user)
    pipeline = Pipeline.objects.filter(is_active=True).first()
    context = {
        "totals": metrics.funnel_totals(visible),
        "pipeline": pipeline,
        "by_stage": metrics.funnel_by_stage(visible, pipeline) if pipeline else [],
        "by_owner": metrics.funnel_by_owner(visible) if request.user.role != Role.REP else [],
        "recent": visible.select_related("account", "owner", "stage")[:8],
    }
    return render(request, "funnel/home.html", context)


@login_required
def opportunity_list(request: HttpRequest) -> HttpResponse:
    opportunities = Opportunity.objects.visible_to(request.user).select_related("account", "owner", "stage")
    query = request.GET.get("q", "").strip()[:100]
    if query:
        opportunities = opportunities.filter(Q(name__icontains=query) | Q(account__name__icontains=query))
    page = Paginator(opportunities, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "funnel/opportunity_list.html", {"page": page, "query": query})


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request, pk)
    history = opportunity.stage_changes.select_related("from_stage", "to_stage", "by").order_by("-at", "-id")
    return render(request, "funnel/opportunity_detail.html", {"opportunity": opportunity, "history": history})
