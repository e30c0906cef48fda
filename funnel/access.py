"""Access helpers: fetch one record the way the visibility rule allows, or answer 404."""

from typing import NoReturn

from django.http import Http404, HttpRequest

from reps.models import AuditAction
from reps.services import audit_record

from .models import Account, Contact, Opportunity


def get_opportunity_for_user(request: HttpRequest, pk: int) -> Opportunity:
    """The opportunity if the user may see it; otherwise 404, and an audit row if it exists."""
    found = (
        Opportunity.objects.visible_to(request.user)
        .select_related("account", "owner", "pipeline", "stage", "source")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        if Opportunity.objects.filter(pk=pk).exists():
            audit_record(
                action=AuditAction.ACCESS_DENIED,
                request=request,
                object_type=Opportunity._meta.label_lower,
                object_id=str(pk),
            )
        raise Http404
    return found


def get_account_for_user(request: HttpRequest, pk: int) -> Account:
    """The customer if the user may see it; otherwise 404, and an audit row if it exists."""
    found = Account.objects.visible_to(request.user).select_related("owner").filter(pk=pk).first()
    if found is None:
        _deny_if_exists(request, Account, pk)
    return found


def get_contact_for_user(request: HttpRequest, pk: int) -> Contact:
    """The contact if the user may see its customer; otherwise 404, and an audit row if it exists."""
    found = Contact.objects.visible_to(request.user).select_related("account").filter(pk=pk).first()
    if found is None:
        _deny_if_exists(request, Contact, pk)
    return found


def _deny_if_exists(request: HttpRequest, model: type[Account | Contact], pk: int) -> NoReturn:
    if model.objects.filter(pk=pk).exists():
        audit_record(
            action=AuditAction.ACCESS_DENIED, request=request, object_type=model._meta.label_lower, object_id=str(pk)
        )
    raise Http404
