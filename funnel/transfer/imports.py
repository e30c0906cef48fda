"""CSV import of customers and opportunities: upload → preview (nothing written) → confirm, once → a
background job imports the rows → the result.

The file is read and checked outside any transaction (funnel.transfer.import_reading and .import_checks), so
a refused or a large file never holds a lock others wait for. The job writes in chunks of CHUNK rows, each
one short transaction that re-checks what may have changed meanwhile (a customer another import has just
created, a stage archived), inserts in bulk (each deal with its first StageChange) and records the
progress: run twice (a worker killed mid-import), it carries on after the last chunk committed and never
imports a row twice. All-or-nothing mode writes every row in one transaction, or none. A batch imports
every valid row and reports the others: never a silent partial import or cap.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from reps.models import AuditAction, User
from reps.services import audit_record

from ..customers.services import default_territory_id
from ..insights import rollup
from ..models import Account, ImportBatch, Opportunity, Pipeline, StageChange, StageKind
from ..opportunities import services
from .import_checks import (
    RowCheck,
    check_customer_rows,
    check_opportunity_rows,
    recheck_customer_duplicates,
    recheck_opportunities,
)
from .import_reading import MAX_BYTES, ImportFinished, ImportRefused, ParsedFile, parse_csv, too_large_message

CHUNK = 500
# A queued or running import without progress for this long may be started again (its job is safe to rerun).
STALLED_AFTER = timedelta(minutes=2)
Kind = ImportBatch.Kind
Status = ImportBatch.Status
RUNNING = (Status.QUEUED, Status.IMPORTING)


@dataclass
class Preview:
    parsed: ParsedFile
    checks: list[RowCheck]

    @property
    def invalid(self) -> list[RowCheck]:
        return [check for check in self.checks if not check.valid]

    @property
    def valid_count(self) -> int:
        return len(self.checks) - len(self.invalid)


def default_pipeline() -> Pipeline | None:
    return Pipeline.objects.filter(is_active=True).order_by("-is_default", "name").first()


def import_batch_preview(*, batch: ImportBatch, user: User) -> Preview:
    """Every row of the batch with its problems, as an import would find them now. Writes nothing."""
    parsed = parse_csv(batch.text, batch.kind)
    if batch.kind == Kind.CUSTOMERS:
        return Preview(parsed, check_customer_rows(parsed.rows, user=user))
    pipeline = Pipeline.objects.filter(pk=batch.pipeline_id).first()
    return Preview(parsed, check_opportunity_rows(parsed.rows, user=user, pipeline=pipeline))


# --- upload, confirm, cancel ---------------------------------------------------------------------
def import_batch_create(
    *, by: User, kind: str, text: str, filename: str = "", pipeline: Pipeline | None = None
) -> ImportBatch:
    """Stores an uploaded file for its preview; refuses a file that cannot be imported as a whole.

    The file is read before any transaction begins, and stored with one INSERT.
    """
    if len(text) > MAX_BYTES or len(text.encode()) > MAX_BYTES:
        raise ImportRefused(too_large_message(len(text.encode())))
    parsed = parse_csv(text, kind)
    if kind == Kind.OPPORTUNITIES:
        pipeline = pipeline or default_pipeline()
        if pipeline is None or not pipeline.is_active:
            raise ImportRefused(_("There is no active pipeline to import opportunities into."))
    else:
        pipeline = None
    return ImportBatch.objects.create(
        created_by=by,
        kind=kind,
        pipeline=pipeline,
        filename=filename.replace("\x00", "")[:255],
        text=text,
        rows_total=len(parsed.rows),
        status=Status.PREVIEWED,
    )


def _finished() -> ImportFinished:
    return ImportFinished(_("This file has already been imported or cancelled. Nothing more was imported."))


def import_batch_confirm(*, batch: ImportBatch, by: User, all_or_nothing: bool) -> ImportBatch:
    """Claims a previewed batch for its import, once (a second click finds it claimed: QUALITY R9).

    The caller then starts the job, `import_batch_run` (funnel.tasks.import_batch_run_task).
    """
    claimed = ImportBatch.objects.filter(pk=batch.pk, created_by=by, status=Status.PREVIEWED).update(
        status=Status.QUEUED,
        all_or_nothing=all_or_nothing,
        rows_done=0,
        imported_count=0,
        skipped_count=0,
        report=[],
        error="",
        progress_at=timezone.now(),
    )
    if not claimed:
        raise _finished()
    batch.refresh_from_db()
    return batch


def import_batch_resume(*, batch: ImportBatch, by: User) -> ImportBatch:
    """Lets the creator start a stalled import's job again (its worker died); refuses a live one."""
    stalled = timezone.now() - STALLED_AFTER
    resumable = ImportBatch.objects.filter(
        pk=batch.pk, created_by=by, status__in=RUNNING, progress_at__lt=stalled
    ).update(progress_at=timezone.now())
    if not resumable:
        raise ImportRefused(_("This import is not stalled: it is still running, or it has finished."))
    batch.refresh_from_db()
    return batch


def import_batch_cancel(*, batch: ImportBatch, by: User) -> ImportBatch:
    """Drops a previewed batch; its content is erased, since nothing will read it again."""
    claimed = ImportBatch.objects.filter(pk=batch.pk, created_by=by, status=Status.PREVIEWED).update(
        status=Status.CANCELLED, finished_at=timezone.now(), text=""
    )
    if not claimed:
        raise _finished()
    batch.refresh_from_db()
    return batch


# --- the job -------------------------------------------------------------------------------------
def import_batch_run(batch_id: int) -> ImportBatch | None:
    """The import job: checks every row again, then writes them chunk by chunk (or all at once in
    all-or-nothing mode) and audits the import. Does nothing for a batch that is not queued or importing."""
    batch = ImportBatch.objects.select_related("created_by").filter(pk=batch_id, status__in=RUNNING).first()
    if batch is None:
        return None
    ImportBatch.objects.filter(pk=batch.pk, status=Status.QUEUED).update(status=Status.IMPORTING)
    by = batch.created_by
    with translation.override(by.language):
        checks = import_batch_preview(batch=batch, user=by).checks
        refusal = _refusal(checks, all_or_nothing=batch.all_or_nothing)
        if refusal is None and batch.all_or_nothing:
            refusal = _write_all(batch, checks, by)
        elif refusal is None:
            while _write_next_chunk(batch, checks, by):
                pass
        if refusal is not None:
            _refuse(batch, refusal)
        else:
            _finish(batch, by)
    batch.refresh_from_db()
    return batch


def import_batch_fail(batch_id: int) -> None:
    """Marks an import its job could not finish; the rows of the chunks committed before stay imported."""
    ImportBatch.objects.filter(pk=batch_id, status__in=RUNNING).update(
        status=Status.FAILED,
        finished_at=timezone.now(),
        error=_("The import stopped because of an unexpected error. The rows counted below were imported."),
    )


def _refusal(checks: list[RowCheck], *, all_or_nothing: bool) -> str | None:
    invalid = sum(not check.valid for check in checks)
    if invalid == len(checks):
        return _("No row is valid, so nothing was imported.")
    if all_or_nothing and invalid:
        return _all_or_nothing_refusal(invalid, len(checks))
    return None


def _all_or_nothing_refusal(invalid: int, total: int) -> str:
    return _("Nothing was imported: %(count)d of %(total)d rows have problems. Correct them and upload again.") % {
        "count": invalid,
        "total": total,
    }


def _refuse(batch: ImportBatch, message: str) -> None:
    """Nothing was imported: the batch is open again, with the reason, so the user may choose again."""
    ImportBatch.objects.filter(pk=batch.pk, status=Status.IMPORTING).update(
        status=Status.PREVIEWED, error=message, rows_done=0, progress_at=timezone.now()
    )


@services.retry_on_lock_conflict
def _write_next_chunk(batch: ImportBatch, checks: list[RowCheck], by: User) -> bool:
    """Writes the chunk after the last one committed, with the progress; False once there is none left."""
    with transaction.atomic():
        # Locked, so a second run of the job waits here and then takes the next chunk, never this one.
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != Status.IMPORTING or locked.rows_done >= len(checks):
            return False
        chunk = checks[locked.rows_done : locked.rows_done + CHUNK]
        skipped = _write(batch.kind, chunk, by)
        _record_progress(locked, chunk, skipped)
    return True


@services.retry_on_lock_conflict
def _write_all(batch: ImportBatch, checks: list[RowCheck], by: User) -> str | None:
    """Writes every row in one transaction; the refusal if one of them fails its re-check (nothing written)."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != Status.IMPORTING or locked.rows_done:
            return None  # another run of the job has written it
        skipped = _write(batch.kind, checks, by, all_or_nothing=True)
        if skipped:
            transaction.set_rollback(True)
            return _all_or_nothing_refusal(len(skipped), len(checks))
        _record_progress(locked, checks, [])
    return None


def _record_progress(batch: ImportBatch, chunk: list[RowCheck], skipped: list[RowCheck]) -> None:
    batch.rows_done += len(chunk)
    batch.imported_count += len(chunk) - len(skipped)
    batch.skipped_count += len(skipped)
    batch.report = batch.report + [{"row": check.row.number, "errors": check.errors} for check in skipped]
    batch.progress_at = timezone.now()
    batch.save(update_fields=["rows_done", "imported_count", "skipped_count", "report", "progress_at"])


def _finish(batch: ImportBatch, by: User) -> None:
    with transaction.atomic():
        finished = ImportBatch.objects.filter(pk=batch.pk, status=Status.IMPORTING).update(
            status=Status.IMPORTED, finished_at=timezone.now(), progress_at=timezone.now()
        )
        if finished:  # once, however many runs of the job got this far
            batch.refresh_from_db()
            audit_record(
                action=AuditAction.IMPORTED,
                actor=by,
                obj=batch,
                detail={"kind": batch.kind, "rows": batch.imported_count, "skipped": batch.skipped_count},
            )


# --- writing rows (inside the chunk's transaction) -----------------------------------------------
def _write(kind: str, checks: list[RowCheck], by: User, *, all_or_nothing: bool = False) -> list[RowCheck]:
    """Re-checks the rows that may have changed since, writes the valid ones; returns the skipped ones."""
    if kind == Kind.CUSTOMERS:
        _lock_customer_imports()
        recheck_customer_duplicates(checks, user=by)
    else:
        archived = {stage.pk for stage in _stages(checks) if services.stage_lock_for_entry(stage)}
        recheck_opportunities(checks, user=by, archived=archived)
    valid = [check for check in checks if check.valid]
    if not (all_or_nothing and len(valid) < len(checks)):
        (_create_customers if kind == Kind.CUSTOMERS else _create_opportunities)(valid, by)
    return [check for check in checks if not check.valid]


def _lock_customer_imports() -> None:
    """Customer imports take turns, chunk by chunk, until commit, so the duplicate check that follows sees
    every customer another import has written (QUALITY R18). SQLite's IMMEDIATE transactions already do."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["funnel.import.customers"])


def _stages(checks: list[RowCheck]) -> list:
    """The stages the valid rows enter, in the lock order (ascending id: funnel.opportunities.services)."""
    stages = {check.data["stage"].pk: check.data["stage"] for check in checks if check.valid}
    return [stages[pk] for pk in sorted(stages)]


CUSTOMER_FIELDS = ["name", "owner", "industry", "city", "address", "phone", "website", "notes"]


def _create_customers(checks: list[RowCheck], by: User) -> None:
    """The customers, each in its row's territory, else the one account_create gives a new customer."""
    now = timezone.now()
    Account.objects.bulk_create(
        [
            Account(created_at=now, territory_id=_territory_id(check, by),
                    **{name: check.data[name] for name in CUSTOMER_FIELDS})
            for check in checks
        ]
    )  # fmt: skip


def _territory_id(check: RowCheck, by: User) -> int | None:
    chosen = check.data.get("territory")  # a batch checked before the column existed has none
    return chosen.pk if chosen else default_territory_id(by=by, owner=check.data["owner"])


def _create_opportunities(checks: list[RowCheck], by: User) -> None:
    """Each deal with its first StageChange, as services.opportunity_create writes them, in two INSERTs."""
    now = timezone.now()
    deals = [_opportunity(check, now) for check in checks]
    Opportunity.objects.bulk_create(deals)
    StageChange.objects.bulk_create(
        [
            StageChange(
                opportunity=deal, to_stage_id=deal.stage_id, by=by, at=deal.stage_entered_at, note=check.data["note"]
            )
            for deal, check in zip(deals, checks, strict=True)
        ]
    )
    rollup.mark_deals_dirty((deal.owner_id, deal.pk) for deal in deals)  # the dashboards fold the new deals in


def _opportunity(check: RowCheck, now) -> Opportunity:
    stage = check.data["stage"]
    entered = check.data.get("closed_at") or now  # a closed deal brought over entered its stage when it closed
    deal = Opportunity(
        owner=check.data["owner"],
        pipeline_id=stage.pipeline_id,
        stage=stage,
        status=stage.kind,
        created_at=entered,
        stage_entered_at=entered,
        closed_at=entered if stage.kind != StageKind.OPEN else None,
        lost_reason=check.data.get("lost_reason"),
    )
    for name in services.EDITABLE_FIELDS:
        if name in check.data:
            setattr(deal, name, check.data[name])
    return deal


# --- progress and the error report ---------------------------------------------------------------
def import_batch_percent(batch: ImportBatch) -> int:
    return min(100, batch.rows_done * 100 // batch.rows_total) if batch.rows_total else 0


def import_batch_stalled(batch: ImportBatch) -> bool:
    return batch.status in RUNNING and (batch.progress_at or batch.created_at) < timezone.now() - STALLED_AFTER


def error_report(*, batch: ImportBatch, user: User) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the error report: row number, problems, then the row as it was in the file.

    Before the import the rows are checked now; after it, the reasons found at import are reported.
    """
    if batch.status == Status.CANCELLED:
        return [_("Row"), _("Problems")], []
    if batch.status == Status.PREVIEWED:
        preview = import_batch_preview(batch=batch, user=user)
        parsed = preview.parsed
        problems = [(check.row, check.errors) for check in preview.invalid]
    else:
        parsed = parse_csv(batch.text, batch.kind)
        by_number = {row.number: row for row in parsed.rows}
        problems = [(by_number[item["row"]], item["errors"]) for item in batch.report if item["row"] in by_number]
    header = [_("Row"), _("Problems"), *parsed.header]
    return header, [[str(row.number), " ".join(errors), *row.cells] for row, errors in problems]
