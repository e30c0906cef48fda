"""CSV export of exactly the opportunities the user's filter shows and the user may see: a page that says
how many rows the filter picks, a background job that writes the file (funnel.export_services), its
progress, and the download. An export is private to the person who started it: anyone else gets 404.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRefresh

from config import jobs
from reps.models import AuditAction
from reps.services import audit_record, client_ip

from . import export_services, tasks
from .export_services import ExportRefused
from .filters import OpportunityFilterForm
from .models import ExportJob, Opportunity


def get_export_job_for_user(request: HttpRequest, pk: int) -> ExportJob:
    """The export if the user started it; otherwise 404, and an audit row if it exists."""
    job = ExportJob.objects.filter(pk=pk, created_by=request.user).first()
    if job is None:
        if ExportJob.objects.filter(pk=pk).exists():
            audit_record(
                action=AuditAction.ACCESS_DENIED, request=request, object_type="funnel.exportjob", object_id=str(pk)
            )
        raise Http404
    return job


def _problem(count: int, user) -> str | None:
    if count > settings.EXPORT_MAX_ROWS:
        return _("%(count)d rows match; an export holds at most %(max)d. Narrow the filter and try again.") % {
            "count": count,
            "max": settings.EXPORT_MAX_ROWS,
        }
    return export_services.export_refusal(user)


@login_required
def opportunity_export(request: HttpRequest) -> HttpResponse:
    """GET: how many rows the filter picks, and a button; POST: starts the export's job (S24: limited in size
    and rate, audited with the rows the file holds)."""
    filters = OpportunityFilterForm(request.GET, user=request.user)
    back = f"{reverse('funnel:opportunity_list')}?{filters.querystring()}"
    count = filters.apply(Opportunity.objects.visible_to(request.user)).count()
    problem = _problem(count, request.user)
    if request.method == "POST":
        try:
            if problem:
                raise ExportRefused(problem)
            job = export_services.export_job_create(by=request.user, filters=filters.querystring(), rows=count)
        except ExportRefused as error:
            messages.error(request, str(error))
            return redirect(back)
        jobs.enqueue(tasks.export_job_run_task, job.pk, client_ip(request))
        return redirect("funnel:export_job", job.pk)
    recent = ExportJob.objects.filter(created_by=request.user).order_by("-created_at", "-id")[:5]
    context = {"count": count, "problem": problem, "back": back, "filters": filters, "recent": recent}
    return render(request, "funnel/export/start.html", context)


def _job_context(job: ExportJob) -> dict:
    percent = min(100, job.rows_written * 100 // job.rows_total) if job.rows_total else 0
    return {
        "job": job,
        "percent": percent,
        "expired": export_services.export_job_expired(job),
        "expires_at": export_services.export_job_expires_at(job),
    }


@login_required
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    """One export: its progress while the job writes it, then the download until it expires."""
    job = get_export_job_for_user(request, pk)
    return render(request, "funnel/export/job.html", _job_context(job))


@login_required
def export_job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial the page polls; once the file is written (or refused), the page reloads."""
    job = get_export_job_for_user(request, pk)
    if job.status not in export_services.PENDING:
        return HttpResponseClientRefresh() if request.htmx else redirect("funnel:export_job", pk)
    return render(request, "funnel/export/_progress.html", _job_context(job))


@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The finished file, read from the database a chunk at a time; 404 before it is ready and once expired."""
    job = get_export_job_for_user(request, pk)
    if job.status != ExportJob.Status.READY or export_services.export_job_expired(job):
        raise Http404
    response = StreamingHttpResponse(export_services.export_file(job), content_type="text/csv; charset=utf-8")
    response["Content-Length"] = str(job.size)
    stamp = timezone.localtime(job.finished_at).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="opportunities-{stamp}.csv"'
    return response
