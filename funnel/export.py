"""CSV export of exactly the opportunities the user's filter shows and the user may see."""

import csv
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from reps.models import AuditAction, AuditEvent
from reps.services import audit_record

from .filters import OpportunityFilterForm
from .models import Opportunity

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise(value) -> str:
    """A cell a spreadsheet will not run as a formula (QUALITY S23): such text gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _rows(opportunities, header: list[str]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so Excel opens UTF-8 Chinese text correctly
    yield writer.writerow(header)
    for row in opportunities.iterator(chunk_size=2000):
        yield writer.writerow([neutralise(value) for value in row])


@login_required
def opportunity_export(request: HttpRequest) -> HttpResponse:
    """Streams the filtered list; limited in size and rate, and audited with its row count (S24)."""
    since = timezone.now() - timedelta(hours=1)
    recent = AuditEvent.objects.filter(action=AuditAction.EXPORTED, actor=request.user, at__gte=since).count()
    back = f"{reverse('funnel:opportunity_list')}?{request.GET.urlencode()}"
    if recent >= settings.EXPORTS_PER_HOUR:
        messages.error(
            request, _("You have exported %(n)d times in the last hour. Please wait a while.") % {"n": recent}
        )
        return redirect(back)
    filters = OpportunityFilterForm(request.GET, user=request.user)
    opportunities = filters.apply(Opportunity.objects.visible_to(request.user))
    count = opportunities.count()
    if count > settings.EXPORT_MAX_ROWS:
        messages.error(
            request,
            _("%(count)d rows match; an export holds at most %(max)d. Narrow the filter and try again.")
            % {"count": count, "max": settings.EXPORT_MAX_ROWS},
        )
        return redirect(back)
    audit_record(
        action=AuditAction.EXPORTED, request=request, detail={"rows": count, "filters": request.GET.urlencode()}
    )
    header = [
        _("ID"), _("Opportunity"), _("Customer"), _("Owner"), _("Pipeline"), _("Stage"), _("Status"),
        _("Amount"), _("Probability (%)"), _("Expected close"), _("Source"), _("Next step"), _("Created"),
    ]  # fmt: skip
    values = opportunities.values_list(
        "pk", "name", "account__name", "owner__username", "pipeline__name", "stage__name", "status",
        "amount", "stage__probability", "expected_close_date", "source__name", "next_step", "created_at",
    )  # fmt: skip
    response = StreamingHttpResponse(_rows(values, header), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="opportunities-{stamp}.csv"'
    return response
