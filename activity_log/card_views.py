"""The customer's transaction card (客户交易卡): details, contacts, deals and one timeline, printable."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from funnel.access import get_account_for_user
from funnel.models import Opportunity

from . import selectors


@login_required
@require_GET
def card(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything the viewer may see of one customer; 404 (and an audit row) outside their view."""
    account = get_account_for_user(request, pk)
    opportunities = (
        Opportunity.objects.visible_to(request.user)
        .filter(account=account)
        .select_related("stage", "owner")
        .order_by("status", "-amount", "name")
    )
    context = {
        "account": account,
        "contacts": list(account.contacts.all()),
        "opportunities": list(opportunities),
        "timeline": selectors.card_timeline(request.user, account, cap=selectors.TIMELINE_CAP),
    }
    return render(request, "activity_log/card.html", context)
