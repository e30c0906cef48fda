"""CSV import and export pages.

Import: upload, preview (nothing written), confirm once, the job's progress and result, cancel, error report,
templates. Export of exactly the opportunities the user's filter shows and the user may see: a page that says
how many rows the filter picks, a background job that writes the file (funnel.transfer.exports), its progress,
and the download.

A batch or an export is private to the person who started it: anyone else, an admin included, gets 404.
"""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from config import jobs
from reps.models import AuditAction
from reps.services import audit_record, client_ip

from .. import tasks
from ..models import ExportJob, ImportBatch, Opportunity
from ..opportunities.filters import OpportunityFilterForm
from . import exports, imports
from .exports import ExportRefused, neutralise
from .forms import ImportConfirmForm, ImportUploadForm
from .import_reading import MAX_BYTES, MAX_ROWS, ImportFinished, ImportRefused, template_header

PREVIEW_ROWS = 200
# Room in a request for the multipart headers and the form's other fields besides the file.
UPLOAD_OVERHEAD = 64 * 1024


def get_import_batch_for_user(request: HttpRequest, pk: int) -> ImportBatch:
    """The batch if the user uploaded it; otherwise 404, and an audit row if it exists."""
    batch = ImportBatch.objects.select_related("pipeline").filter(pk=pk, created_by=request.user).first()
    if batch is None:
        if ImportBatch.objects.filter(pk=pk).exists():
            audit_record(
                action=AuditAction.ACCESS_DENIED, request=request, object_type="funnel.importbatch", object_id=str(pk)
            )
        raise Http404
    return batch


class UploadLimit(FileUploadHandler):
    """Stops receiving an upload as soon as it passes the import's limit, leaving the rest unread."""

    def __init__(self, request: HttpRequest, limit: int):
        super().__init__(request)
        self.limit, self.exceeded = limit, False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _declared_size(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@login_required
@csrf_exempt  # checked by _import_start, once the upload is known to be small enough to read
def import_start(request: HttpRequest) -> HttpResponse:
    """The upload form. An upload over the limit is refused before its body is read (QUALITY S36)."""
    if request.method == "POST" and _declared_size(request) > MAX_BYTES + UPLOAD_OVERHEAD:
        form = ImportUploadForm({}, too_large=_declared_size(request))
        return _start_page(request, form, status=413)
    limit = UploadLimit(request, MAX_BYTES)
    request.upload_handlers.insert(0, limit)
    return _import_start(request, limit)


@csrf_protect
def _import_start(request: HttpRequest, limit: UploadLimit) -> HttpResponse:
    if request.method != "POST":
        return _start_page(request, ImportUploadForm())
    files = request.FILES  # reads the body now (with the CSRF check off, nothing has yet)
    if limit.exceeded:
        return _start_page(request, ImportUploadForm({}, too_large=MAX_BYTES + 1), status=413)
    form = ImportUploadForm(request.POST, files)
    if form.is_valid():
        try:
            batch = imports.import_batch_create(
                by=request.user,
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["text"],
                filename=form.cleaned_data["file"].name,
                pipeline=form.cleaned_data["pipeline"],
            )
        except ImportRefused as error:
            form.add_error("file", str(error))
        else:
            return redirect("transfer:import_preview", batch.pk)
    return _start_page(request, form, status=400)


def _start_page(request: HttpRequest, form: ImportUploadForm, status: int = 200) -> HttpResponse:
    context = {"form": form, "kinds": ImportBatch.Kind.choices, "max_rows": MAX_ROWS}
    return render(request, "funnel/import/start.html", context, status=status)


@login_required
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    """An empty CSV whose header lists the accepted columns, in Chinese for a Chinese page."""
    if kind not in ImportBatch.Kind.values:
        raise Http404
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # so Excel reads UTF-8
    csv.writer(response).writerow(template_header(kind, chinese=get_language().startswith("zh")))
    response["Content-Disposition"] = f'attachment; filename="loudou-{kind}-template.csv"'
    return response


@login_required
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Every row checked now, nothing written; while the job runs, its progress; after it, its result."""
    batch = get_import_batch_for_user(request, pk)
    context = {"batch": batch, "preview_rows": PREVIEW_ROWS}
    if batch.status == ImportBatch.Status.PREVIEWED:
        preview = imports.import_batch_preview(batch=batch, user=request.user)
        context.update(
            preview=preview,
            shown=preview.checks[:PREVIEW_ROWS],
            columns=[cell for cell, name in zip(preview.parsed.header, preview.parsed.fields, strict=True) if name],
            invalid_count=len(preview.invalid),
        )
    elif batch.status in imports.RUNNING:
        context.update(_progress_context(batch))
    else:
        context["skipped"] = batch.report[:PREVIEW_ROWS]
    return render(request, "funnel/import/preview.html", context)


def _progress_context(batch: ImportBatch) -> dict:
    return {
        "batch": batch,
        "percent": imports.import_batch_percent(batch),
        "stalled": imports.import_batch_stalled(batch),
    }


@login_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial the page polls; once the job has finished, the page reloads to its result."""
    batch = get_import_batch_for_user(request, pk)
    if batch.status not in imports.RUNNING:
        return HttpResponseClientRefresh() if request.htmx else redirect("transfer:import_preview", pk)
    return render(request, "funnel/import/_progress.html", _progress_context(batch))


@login_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_import_batch_for_user(request, pk)
    form = ImportConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how to import."))
        return redirect("transfer:import_preview", pk)
    try:
        imports.import_batch_confirm(batch=batch, by=request.user, all_or_nothing=form.all_or_nothing)
    except ImportFinished as error:
        messages.info(request, str(error))
    else:
        jobs.enqueue(tasks.import_batch_run_task, batch.pk)
    return redirect("transfer:import_preview", pk)


@login_required
@require_POST
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Starts a stalled import's job again; it carries on after the rows already imported."""
    batch = get_import_batch_for_user(request, pk)
    try:
        imports.import_batch_resume(batch=batch, by=request.user)
    except ImportRefused as error:
        messages.info(request, str(error))
    else:
        jobs.enqueue(tasks.import_batch_run_task, batch.pk)
    return redirect("transfer:import_preview", pk)


@login_required
@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_import_batch_for_user(request, pk)
    try:
        imports.import_batch_cancel(batch=batch, by=request.user)
    except ImportFinished as error:
        messages.info(request, str(error))
        return redirect("transfer:import_preview", pk)
    messages.info(request, _("Import cancelled. Nothing was imported."))
    return redirect("transfer:import_start")


@login_required
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    """Every problem row as CSV: row number, problems, then the row as uploaded; formula cells neutralised."""
    batch = get_import_batch_for_user(request, pk)
    header, rows = imports.error_report(batch=batch, user=request.user)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([neutralise(cell) for cell in header])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-problems.csv"'
    return response


# --- Export -----------------------------------------------------------------------------------------------


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


@login_required
def opportunity_export(request: HttpRequest) -> HttpResponse:
    """GET: how many rows the filter picks, and a button; POST: starts the export's job (S24: limited in size
    and rate, audited with the rows the file holds)."""
    filters = OpportunityFilterForm(request.GET, user=request.user)
    back = f"{reverse('opportunities:list')}?{filters.querystring()}"
    count = filters.apply(Opportunity.objects.visible_to(request.user)).count()
    problem = exports.export_refusal(request.user, rows=count)  # the size and rate limits are the service's
    if request.method == "POST":
        try:
            job = exports.export_job_create(by=request.user, filters=filters.querystring(), rows=count)
        except ExportRefused as error:
            messages.error(request, str(error))
            return redirect(back)
        jobs.enqueue(tasks.export_job_run_task, job.pk, client_ip(request))
        return redirect("transfer:export_job", job.pk)
    recent = ExportJob.objects.filter(created_by=request.user).order_by("-created_at", "-id")[:5]
    context = {"count": count, "problem": problem, "back": back, "filters": filters, "recent": recent}
    return render(request, "funnel/export/start.html", context)


def _job_context(job: ExportJob) -> dict:
    percent = min(100, job.rows_written * 100 // job.rows_total) if job.rows_total else 0
    return {
        "job": job,
        "percent": percent,
        "expired": exports.export_job_expired(job),
        "expires_at": exports.export_job_expires_at(job),
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
    if job.status not in exports.PENDING:
        return HttpResponseClientRefresh() if request.htmx else redirect("transfer:export_job", pk)
    return render(request, "funnel/export/_progress.html", _job_context(job))


@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The finished file, read from the database a chunk at a time; 404 before it is ready and once expired."""
    job = get_export_job_for_user(request, pk)
    if job.status != ExportJob.Status.READY or exports.export_job_expired(job):
        raise Http404
    response = StreamingHttpResponse(exports.export_file(job), content_type="text/csv; charset=utf-8")
    response["Content-Length"] = str(job.size)
    stamp = timezone.localtime(job.finished_at).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="opportunities-{stamp}.csv"'
    return response
