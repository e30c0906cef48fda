"""Rescheduling a deal's next step (a scheduled activity, issue 18) from the home page's "My next steps due":
another day (and optionally a time of day), with the reason, kept in the deal's field history (the audit trail)
as every tracked change is; the deal's page shows the latest move beside the next step. The version the page
showed must still be the deal's (someone else's change in between is a conflict)."""

from dataclasses import dataclass
from datetime import date, time, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from config.fields import BoundedDateField, TimeOfDayField
from config.redirects import safe_next
from config.wording import colon
from reps.models import AuditAction, AuditEvent, Role, User
from reps.services import audit_record

from ..access import get_opportunity_for_user
from ..insights import rollup
from ..models import Opportunity
from . import services


class RescheduleForm(forms.Form):
    next_step_date = BoundedDateField(label=gettext_lazy("New date"))
    next_step_time = TimeOfDayField(label=gettext_lazy("Time"), required=False)
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)


@services.retry_on_lock_conflict
@transaction.atomic
def opportunity_reschedule(
    *, opportunity: Opportunity, by: User, version: int, to: date, reason: str, at: time | None = None
) -> bool:
    """Moves the next step to the day `to`, at the time `at` (None: no time of day); False when it is there
    already (nothing written, nothing audited)."""
    current = services._locked(opportunity, version)
    if (current.next_step_date, current.next_step_time) == (to, at):
        return False
    detail = {"next_step_date": [services._audit_text(current.next_step_date), to.isoformat()], "reason": reason}
    if current.next_step_time != at:
        detail["next_step_time"] = [_clock(current.next_step_time), _clock(at)]
    current.next_step_date, current.next_step_time = to, at
    current.version += 1
    current.save(update_fields=["next_step_date", "next_step_time", "version", "updated_at"])
    rollup.mark_deals_dirty([(current.owner_id, current.pk)])  # an overdue step is part of "stalled"
    audit_record(action=AuditAction.FIELD_CHANGED, actor=by, obj=current, detail=detail)
    return True


@login_required
@require_POST
def reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request, pk)
    back = safe_next(request) or reverse("opportunities:detail", args=[opportunity.pk])
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}{colon()}{' '.join(errors)}" if label else " ".join(errors))
        return redirect(back)
    data = form.cleaned_data
    try:
        moved = opportunity_reschedule(
            opportunity=opportunity, by=request.user, version=data["version"], to=data["next_step_date"],
            at=data["next_step_time"], reason=data["reason"],
        )  # fmt: skip
    except services.FunnelError as error:
        messages.error(request, str(error))
        return redirect(back)
    day = formats.date_format(data["next_step_date"], "SHORT_DATE_FORMAT")
    if data["next_step_time"]:
        day = f"{day} {formats.time_format(data['next_step_time'], 'H:i')}"
    if moved:
        text = _("The next step of “%(name)s” is moved to %(day)s.")
        messages.success(request, text % {"name": opportunity.name, "day": day})
    else:
        messages.info(request, _("Nothing to save: the next step is on %(day)s already.") % {"day": day})
    return redirect(back)


def _clock(at: time | None) -> str | None:
    return at.strftime("%H:%M") if at else None


# --- the latest move, beside the next step on the deal's page ---------------------------------------------

NOTE_DAYS = 365  # a move older than this is history, not news


@dataclass(frozen=True)
class Moved:
    """The latest reschedule of a deal's next step: from which day to which, and why."""

    old: date | None
    new: date
    reason: str


def latest_move(opportunity: Opportunity) -> Moved | None:
    """The latest reschedule of the next step, from the audit trail, when it is the one that put the step on its
    present day (a later edit or visit that changed the day makes it history); else None. One query, only for a
    step with a date, through the audit's (action, username, at) index: who may have moved it are the owner, their
    managers and the admins."""
    if opportunity.next_step_date is None:
        return None
    movers = User.objects.filter(
        Q(pk=opportunity.owner_id) | Q(role=Role.ADMIN) | Q(managed_teams__members=opportunity.owner_id)
    ).values("username")
    event = (
        AuditEvent.objects.filter(
            action=AuditAction.FIELD_CHANGED,
            username__in=movers,
            at__gte=timezone.now() - timedelta(days=NOTE_DAYS),
            object_type=Opportunity._meta.label_lower,
            object_id=str(opportunity.pk),
            detail__has_key="reason",
        )  # fmt: skip
        .order_by("-at", "-pk")
        .values_list("detail", flat=True)
        .first()
    )
    moved = _moved(event)
    return moved if moved is not None and moved.new == opportunity.next_step_date else None


def _moved(detail) -> Moved | None:
    """A reschedule's audit detail read back; None for any other field change."""
    if not isinstance(detail, dict) or "reason" not in detail or "next_step_date" not in detail:
        return None
    try:
        old, new = detail["next_step_date"]
        return Moved(date.fromisoformat(old) if old else None, date.fromisoformat(new), str(detail["reason"]))
    except (TypeError, ValueError):
        return None
