"""The alerts inbox: the funnel-health alerts the user may see, and a manager's acknowledgement or snooze."""

from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from config.widgets import FastSelect
from config.wording import filter_choices
from reps.models import Role, Team, User

from ..insights import metrics
from ..models import Alert, AlertKind
from ..opportunities.filters import Sort, team_choices
from ..search import pickers
from ..search.pickers import PickerField
from . import freshness, services
from .badge import forget_alert_count
from .links import subject_url
from .pages import inbox_page

PAGE_SIZE = 25
COUNT_CAP = 10_000  # beyond this the inbox says "over 10,000": counting a million open alerts says no more
# The inbox's two orders, paged by keyset (funnel.opportunities.filters.keyset_page); not offered as choices, so
# no labels.
NEWEST_FIRST = Sort("", "first_seen", True)
RECENTLY_RESOLVED = Sort("", "resolved_at", True)


class AlertFilterForm(forms.Form):
    STATES = [
        ("open", pgettext_lazy("alert state", "Open")),
        ("acknowledged", gettext_lazy("Acknowledged or snoozed")),
        ("resolved", gettext_lazy("Resolved")),
    ]

    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=[("", gettext_lazy("All kinds")), *AlertKind.choices], required=False
    )
    state = forms.ChoiceField(label=gettext_lazy("State"), choices=STATES, required=False)
    rep = PickerField("person", label=gettext_lazy("Rep"), required=False)
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"), queryset=Team.objects.none(), required=False, widget=FastSelect
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        filter_choices(self)
        pickers.setup(self, user)
        self.fields["team"].queryset = team_choices(user)

    def apply(self, alerts: QuerySet[Alert], now: datetime) -> QuerySet[Alert]:
        """Filters by kind, rep, team and state (default: open); an invalid value (another team's rep) filters
        nothing.

        A rep's alerts are those about their own deals, funnel and days; a team's are those about its funnel
        or forecast (addressed to its manager) and its members'. The filters only narrow `alerts`, which the
        caller has already limited with visible_to.
        """
        values = self.values
        if values.get("kind"):
            alerts = alerts.filter(kind=values["kind"])
        if values.get("rep"):
            alerts = alerts.filter(rep=values["rep"], team__isnull=True)
        if values.get("team"):
            alerts = alerts.filter(Q(team=values["team"]) | Q(rep__team=values["team"], team__isnull=True))
        state = values.get("state") or "open"
        if state == "resolved":
            return alerts.filter(resolved_at__isnull=False).order_by("-resolved_at", "-id")
        if state == "open":
            return alerts.needing_attention(now).order_by("-first_seen", "-id")
        return alerts.set_aside(now).order_by("-first_seen", "-id")

    def owners(self, user: User) -> QuerySet[User] | None:
        """The people whose alerts apply() can keep, when they are a few (the rep or team filter, a rep, a
        manager's teams), for the inbox to page each one's alerts; None when anyone's can be there (an admin)."""
        values = self.values
        if values.get("rep"):
            return User.objects.filter(pk=values["rep"].pk)
        if values.get("team"):  # a team's own alerts go to its manager, or to whoever managed it then
            addressed = Alert.objects.filter(team=values["team"]).values("rep")
            return User.objects.filter(Q(team=values["team"]) | Q(pk__in=addressed))
        return None if user.role == Role.ADMIN else User.objects.visible_to(user)

    @property
    def values(self) -> dict:
        return self.cleaned_data if self.is_valid() else {}

    @property
    def ordering(self) -> Sort:
        """The order apply() returns, for the keyset pages: newest first, or most recently resolved."""
        return RECENTLY_RESOLVED if self.values.get("state") == "resolved" else NEWEST_FIRST


class AcknowledgeForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


class SnoozeForm(AcknowledgeForm):
    days = forms.TypedChoiceField(
        label=gettext_lazy("Snooze for"),
        coerce=int,
        choices=[(1, gettext_lazy("1 day")), (3, gettext_lazy("3 days")), (7, gettext_lazy("7 days"))],
    )


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    filters, now = AlertFilterForm(request.GET, user=request.user), timezone.now()
    alerts = filters.apply(Alert.objects.visible_to(request.user), now)
    cursor = request.GET.get("after", "")
    page, next_cursor = inbox_page(alerts, cursor, filters.ordering, PAGE_SIZE, filters.owners(request.user))
    counted = metrics.count_up_to(alerts, COUNT_CAP)
    query = request.GET.copy()
    query.pop("after", None)
    context = {
        "filters": filters,
        "rows": [(alert, subject_url(alert, request.user)) for alert in page],
        "count": min(counted, COUNT_CAP),
        "count_capped": counted > COUNT_CAP,
        "next_cursor": next_cursor,
        "is_first_page": not cursor,
        "querystring": query.urlencode(),
        "may_acknowledge": request.user.role != Role.REP,
        "snooze_form": SnoozeForm(),
        "checked_at": (checked := freshness.last_scan()),
        "checked_today": checked is not None and timezone.localdate(checked) == timezone.localdate(now),
    }
    return render(request, "funnel/alerts/alert_list.html", context)


def get_alert_for_manager(request: HttpRequest, pk: int) -> Alert:
    """An open alert the user may see (else 404) and may act on: managers and admins (else 403)."""
    alert = get_object_or_404(Alert.objects.visible_to(request.user).open(), pk=pk)
    if request.user.role == Role.REP:
        raise PermissionDenied
    return alert


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager notes why an open alert needs no more attention for now; reps read their alerts only."""
    alert = get_alert_for_manager(request, pk)
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        services.alert_acknowledge(alert=alert, by=request.user, reason=form.cleaned_data["reason"])
        forget_alert_count(request)
        messages.success(request, _("Alert acknowledged."))
    else:
        messages.error(request, _("Say why this alert needs no more attention."))
    return redirect(f"{reverse('health:alert_list')}?{request.GET.urlencode()}")


@login_required
@require_POST
def alert_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager sets an alert aside for a few days, with a reason; it returns if still open then."""
    alert = get_alert_for_manager(request, pk)
    form = SnoozeForm(request.POST)
    if form.is_valid():
        until = timezone.now() + timedelta(days=form.cleaned_data["days"])
        services.alert_snooze(alert=alert, by=request.user, until=until, reason=form.cleaned_data["reason"])
        forget_alert_count(request)
        messages.success(request, _("Alert snoozed."))
    else:
        messages.error(request, _("Say why this alert can wait."))
    return redirect(f"{reverse('health:alert_list')}?{request.GET.urlencode()}")
