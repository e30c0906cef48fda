"""Rescheduling a deal's next step (a scheduled activity, issue 18) from the home page's "My next steps due":
another day, with the reason, kept in the deal's field history (the audit trail) as every tracked change is.
The version the page showed must still be the deal's (someone else's change in between is a conflict)."""

from datetime import date

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from config.fields import BoundedDateField
from config.redirects import safe_next
from config.wording import colon
from reps.models import AuditAction, User
from reps.services import audit_record

from ..access import get_opportunity_for_user
from ..insights import rollup
from ..models import Opportunity
from . import services


class RescheduleForm(forms.Form):
    next_step_date = BoundedDateField(label=gettext_lazy("New date"))
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)


@services.retry_on_lock_conflict
@transaction.atomic
def opportunity_reschedule(*, opportunity: Opportunity, by: User, version: int, to: date, reason: str) -> bool:
    """Moves the next step to `to`; False when it is on that day already (nothing written, nothing audited)."""
    current = services._locked(opportunity, version)
    if current.next_step_date == to:
        return False
    detail = {"next_step_date": [services._audit_text(current.next_step_date), to.isoformat()], "reason": reason}
    current.next_step_date = to
    current.version += 1
    current.save(update_fields=["next_step_date", "version", "updated_at"])
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
            reason=data["reason"],
        )  # fmt: skip
    except services.FunnelError as error:
        messages.error(request, str(error))
        return redirect(back)
    day = formats.date_format(data["next_step_date"], "SHORT_DATE_FORMAT")
    if moved:
        text = _("The next step of “%(name)s” is moved to %(day)s.")
        messages.success(request, text % {"name": opportunity.name, "day": day})
    else:
        messages.info(request, _("Nothing to save: the next step is on %(day)s already.") % {"day": day})
    return redirect(back)
