"""Access helpers: fetch one record the way the visibility rule allows, or answer 404."""

from django.http import Http404, HttpRequest

from reps.models import AuditAction
from reps.services import audit_record

from .models import Opportunity


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
