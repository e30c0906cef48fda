"""Access helpers: fetch one record the way the visibility rule allows, or answer 404."""

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from reps.models import AuditAction
from reps.services import audit_record

from .models import Account, Contact, Opportunity

T = TypeVar("T", bound=Model)


def get_for_user(request: HttpRequest, queryset: QuerySet[T], pk: int) -> T:
    """The row `pk` of an already scoped queryset; otherwise 404, and an audit row if it exists at all."""
    found = queryset.filter(pk=pk).first()
    if found is None:
        if queryset.model._base_manager.filter(pk=pk).exists():
            audit_record(
                action=AuditAction.ACCESS_DENIED,
                request=request,
                object_type=queryset.model._meta.label_lower,
                object_id=str(pk),
            )
        raise Http404
    return found


def get_opportunity_for_user(request: HttpRequest, pk: int) -> Opportunity:
    """The opportunity if the user may see it; otherwise 404, and an audit row if it exists."""
    related = ("account", "owner", "pipeline", "stage", "source")
    return get_for_user(request, Opportunity.objects.visible_to(request.user).select_related(*related), pk)


def get_account_for_user(request: HttpRequest, pk: int) -> Account:
    """The customer if the user may see it; otherwise 404, and an audit row if it exists."""
    return get_for_user(request, Account.objects.visible_to(request.user).select_related("owner", "territory"), pk)


def get_contact_for_user(request: HttpRequest, pk: int) -> Contact:
    """The contact if the user may see its customer; otherwise 404, and an audit row if it exists."""
    return get_for_user(request, Contact.objects.visible_to(request.user).select_related("account"), pk)
