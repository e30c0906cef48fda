"""The alerts inbox: the funnel-health alerts the user may see, and a manager's acknowledgement."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from reps.models import Role, User

from . import alert_services
from .models import Alert, AlertKind

PAGE_SIZE = 25


class AlertFilterForm(forms.Form):
    STATES = [
        ("open", gettext_lazy("Open")),
        ("acknowledged", gettext_lazy("Acknowledged")),
        ("resolved", gettext_lazy("Resolved")),
    ]

    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=[("", gettext_lazy("All kinds")), *AlertKind.choices], required=False
    )
    state = forms.ChoiceField(label=gettext_lazy("State"), choices=STATES, required=False)

    def apply(self, alerts: QuerySet[Alert]) -> QuerySet[Alert]:
        """Filters by kind and state (default: open); an invalid value is ignored."""
        values = self.cleaned_data if self.is_valid() else {}
        if values.get("kind"):
            alerts = alerts.filter(kind=values["kind"])
        state = values.get("state") or "open"
        if state == "resolved":
            return alerts.filter(resolved_at__isnull=False).order_by("-resolved_at", "-id")
        acknowledged = Q(acknowledged_at__isnull=False) | Q(snoozed_until__gt=timezone.now())
        return alerts.open().filter(acknowledged if state == "acknowledged" else ~acknowledged)


class AcknowledgeForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


def subject_url(alert: Alert, viewer: User) -> str:
    """Where the alert's subject is: its deal, the rep's deals in the stage, or the day's log."""
    if alert.opportunity_id:
        return reverse("funnel:opportunity_detail", args=[alert.opportunity_id])
    if alert.day:
        # The daily log's pages (activity_log is not imported by funnel): the rep's own day, or the review.
        own = viewer.pk == alert.rep_id
        return f"/log/day/{alert.day:%Y-%m-%d}/" if own else f"/log/review/?date={alert.day:%Y-%m-%d}"
    return f"{reverse('funnel:opportunity_list')}?owner={alert.rep_id}&stage={alert.stage_id}"


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    filters = AlertFilterForm(request.GET)
    alerts = filters.apply(Alert.objects.visible_to(request.user)).select_related("rep", "opportunity", "stage")
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "rows": [(alert, subject_url(alert, request.user)) for alert in page],
        "querystring": query.urlencode(),
        "may_acknowledge": request.user.role != Role.REP,
        "ack_form": AcknowledgeForm(),
    }
    return render(request, "funnel/alerts/alert_list.html", context)


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager notes why an open alert needs no more attention for now; reps read their alerts only."""
    alert = get_object_or_404(Alert.objects.visible_to(request.user).open(), pk=pk)
    if request.user.role == Role.REP:
        raise PermissionDenied
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        alert_services.alert_acknowledge(alert=alert, by=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, _("Alert acknowledged."))
    else:
        messages.error(request, _("Say why this alert needs no more attention."))
    return redirect(f"{reverse('funnel:alert_list')}?{request.GET.urlencode()}")
