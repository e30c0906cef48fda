"""Acknowledging or snoozing several alerts at once, with one reason: a manager's or an admin's, on the alerts
they may see that still need attention. One id out of view refuses the whole request (404, audited), so a
tampered id changes nothing (QUALITY S7)."""

from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from config.parsing import parse_ids
from reps.access import role_required
from reps.models import AuditAction, Role, User
from reps.services import audit_record

from ..models import Alert
from ..opportunities.services import FunnelError
from .badge import forget_alert_count

MOST_AT_ONCE = 200  # a page of the inbox is 25; more than this is not a person ticking boxes


class BulkForm(forms.Form):
    ACTIONS = [("acknowledge", gettext_lazy("Acknowledge")), ("snooze", gettext_lazy("Snooze"))]

    action = forms.ChoiceField(label=gettext_lazy("Action"), choices=ACTIONS)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)
    days = forms.TypedChoiceField(
        label=gettext_lazy("Snooze for"),
        coerce=int,
        required=False,
        choices=[(1, gettext_lazy("1 day")), (3, gettext_lazy("3 days")), (7, gettext_lazy("7 days"))],
    )

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.ids = parse_ids(data.getlist("alert")) if hasattr(data, "getlist") else None

    def clean(self):
        data = super().clean()
        if not self.ids or len(self.ids) > MOST_AT_ONCE:
            raise forms.ValidationError(_("Tick the alerts to act on (at most %(most)s).") % {"most": MOST_AT_ONCE})
        if data.get("action") == "snooze" and not data.get("days"):
            self.add_error("days", _("Choose how long to snooze them."))
        return data


class OutOfView(Exception):
    pass


@transaction.atomic
def alerts_set_aside(*, ids: list[int], by: User, reason: str, until: datetime | None = None) -> int:
    """Acknowledges (until None) or snoozes until `until` the alerts `ids`, all or none: an id the user may not
    see raises OutOfView; one that no longer needs attention (acknowledged, snoozed or resolved meanwhile) is a
    FunnelError. Returns how many were set aside."""
    now, wanted = timezone.now(), set(ids)
    visible = Alert.objects.visible_to(by).filter(pk__in=wanted)
    locked = list(visible.select_for_update().order_by("pk").values_list("pk", flat=True))
    if len(locked) != len(wanted):
        raise OutOfView
    waiting = visible.needing_attention(now)
    if waiting.count() != len(wanted):
        raise FunnelError(_("Some of these alerts were set aside or resolved meanwhile. Nothing was changed."))
    if until is None:
        return waiting.update(acknowledged_at=now, acknowledged_by=by, ack_reason=reason.strip())
    return waiting.update(snoozed_until=until, acknowledged_by=by, ack_reason=reason.strip())


@role_required(Role.MANAGER, Role.ADMIN)
@require_POST
def alert_bulk(request: HttpRequest) -> HttpResponse:
    """The inbox's ticked alerts, acknowledged or snoozed with one reason."""
    form = BulkForm(request.POST)
    back = f"{reverse('health:alert_list')}?{request.GET.urlencode()}"
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for errors in form.errors.values() for error in errors))
        return redirect(back)
    data = form.cleaned_data
    until = timezone.now() + timedelta(days=data["days"]) if data["action"] == "snooze" else None
    try:
        count = alerts_set_aside(ids=form.ids, by=request.user, reason=data["reason"], until=until)
    except OutOfView:
        audit_record(action=AuditAction.ACCESS_DENIED, request=request, object_type="alert",
                     detail={"path": request.path, "bulk": data["action"], "ids": form.ids[:MOST_AT_ONCE]})  # fmt: skip
        raise Http404 from None
    except FunnelError as error:
        messages.error(request, str(error))
        return redirect(back)
    forget_alert_count(request)
    if until is None:
        messages.success(request, ngettext("%(count)s alert acknowledged.", "%(count)s alerts acknowledged.", count)
                         % {"count": count})  # fmt: skip
    else:
        messages.success(request, ngettext("%(count)s alert snoozed.", "%(count)s alerts snoozed.", count)
                         % {"count": count})  # fmt: skip
    return redirect(back)
