"""CSV import pages: upload, preview (nothing written), confirm once, cancel, error report, templates.

A batch is the uploader's private file: anyone else, an admin included, gets 404.
"""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from reps.models import AuditAction
from reps.services import audit_record

from . import imports
from .export import neutralise
from .import_forms import ImportConfirmForm, ImportUploadForm
from .models import ImportBatch

PREVIEW_ROWS = 200


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


@login_required
def import_start(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = imports.import_batch_create(
                by=request.user,
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["text"],
                filename=form.cleaned_data["file"].name,
                pipeline=form.cleaned_data["pipeline"],
            )
        except imports.ImportRefused as error:
            form.add_error("file", str(error))
        else:
            return redirect("funnel:import_preview", batch.pk)
    context = {"form": form, "kinds": ImportBatch.Kind.choices, "max_rows": imports.MAX_ROWS}
    return render(request, "funnel/import/start.html", context, status=400 if form.errors else 200)


@login_required
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    """An empty CSV whose header lists the accepted columns, in Chinese for a Chinese page."""
    if kind not in ImportBatch.Kind.values:
        raise Http404
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # so Excel reads UTF-8
    csv.writer(response).writerow(imports.template_header(kind, chinese=get_language().startswith("zh")))
    response["Content-Disposition"] = f'attachment; filename="loudou-{kind}-template.csv"'
    return response


@login_required
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Every row checked now, nothing written; after the import, its result."""
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
    elif batch.status == ImportBatch.Status.IMPORTED:
        context["skipped"] = batch.report[:PREVIEW_ROWS]
    return render(request, "funnel/import/preview.html", context)


def _result_message(batch: ImportBatch) -> str:
    if batch.kind == ImportBatch.Kind.CUSTOMERS:
        done = ngettext("%(n)d customer imported.", "%(n)d customers imported.", batch.imported_count)
    else:
        done = ngettext("%(n)d opportunity imported.", "%(n)d opportunities imported.", batch.imported_count)
    done %= {"n": batch.imported_count}
    if not batch.skipped_count:
        return done
    skipped = ngettext(
        "%(n)d row was skipped; the reason is listed below.",
        "%(n)d rows were skipped; the reasons are listed below.",
        batch.skipped_count,
    ) % {"n": batch.skipped_count}
    return f"{done} {skipped}"


@login_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_import_batch_for_user(request, pk)
    form = ImportConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how to import."))
        return redirect("funnel:import_preview", pk)
    try:
        batch = imports.import_batch_confirm(batch=batch, by=request.user, all_or_nothing=form.all_or_nothing)
    except imports.ImportFinished as error:
        messages.info(request, str(error))
    except imports.ImportRefused as error:
        messages.error(request, str(error))
    else:
        (messages.warning if batch.skipped_count else messages.success)(request, _result_message(batch))
    return redirect("funnel:import_preview", pk)


@login_required
@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_import_batch_for_user(request, pk)
    try:
        imports.import_batch_cancel(batch=batch, by=request.user)
    except imports.ImportFinished as error:
        messages.info(request, str(error))
        return redirect("funnel:import_preview", pk)
    messages.info(request, _("Import cancelled. Nothing was imported."))
    return redirect("funnel:import_start")


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
