"""Exports: the hourly allowance per user, counted atomically, and the opportunity export's job.

Every export (the opportunity list's file, a dashboard table) counts against one allowance of
settings.EXPORTS_PER_HOUR per user (QUALITY S24). Taking one is a count and a record under a lock per user,
so concurrent requests cannot all see room for one more (QUALITY S36).

The opportunity list is exported by a background job into ExportChunk rows, which the person who asked
downloads when it is ready, for settings.EXPORT_KEEP_HOURS: a slow client downloads a finished file instead
of holding a query and a web worker open, and the audit row, written when the file is complete, records
exactly the rows it holds (QUALITY R19). The job is safe to run twice: each run takes a new attempt number,
and a run superseded by a later one stops writing.
"""

import csv
import io
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from reps.models import AuditAction, AuditEvent, User, person_name
from reps.services import audit_record

from ..models import ExportChunk, ExportJob, Opportunity
from ..opportunities.filters import OpportunityFilterForm

CHUNK_BYTES = 1024 * 1024
ROWS_PER_READ = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
Status = ExportJob.Status
PENDING = (Status.QUEUED, Status.RUNNING)


class ExportRefused(Exception):
    """An export the allowance or the row limit refuses; str(error) is the message for the user."""


def neutralise(value) -> str:
    """A cell a spreadsheet will not run as a formula (QUALITY S23): such text gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# --- the hourly allowance ------------------------------------------------------------------------
def exports_this_hour(user: User) -> int:
    """Exports audited in the last hour, and the user's export jobs of the last hour still writing."""
    since = timezone.now() - timedelta(hours=1)
    pending = ExportJob.objects.filter(created_by=user, status__in=PENDING, created_at__gte=since).count()
    return pending + AuditEvent.objects.filter(action=AuditAction.EXPORTED, actor=user, at__gte=since).count()


def export_refusal(user: User, *, rows: int | None = None) -> str | None:
    """Why the user may not export now, or None: more than EXPORT_MAX_ROWS `rows` (when the export's size is
    known; a file is refused, never cut), or the hourly allowance used up. A first look before the work, not a
    reservation: export_job_create asks again under the user's lock."""
    if rows is not None and rows > settings.EXPORT_MAX_ROWS:
        return _("%(count)d rows match; an export holds at most %(max)d. Narrow the filter and try again.") % {
            "count": rows,
            "max": settings.EXPORT_MAX_ROWS,
        }
    used = exports_this_hour(user)
    if used < settings.EXPORTS_PER_HOUR:
        return None
    return _("You have exported %(n)d times in the last hour. Please wait a while.") % {"n": used}


def _lock_exports_of(user: User) -> None:
    """One user's exports take their turn until commit (SQLite's IMMEDIATE transactions already do)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"funnel.exports:{user.pk}"])


def _take_one(user: User, rows: int | None = None) -> None:
    _lock_exports_of(user)
    refusal = export_refusal(user, rows=rows)
    if refusal:
        raise ExportRefused(refusal)


@transaction.atomic
def export_record(*, request, detail: dict) -> None:
    """Records an export the response itself delivers (a dashboard table), if the allowance has room."""
    _take_one(request.user)
    audit_record(action=AuditAction.EXPORTED, request=request, detail=detail)


@transaction.atomic
def export_job_create(*, by: User, filters: str, rows: int) -> ExportJob:
    """Takes one export from the allowance for a job that writes the opportunity list's file of `rows` rows;
    ExportRefused when the file would be too long or the allowance is used up.

    The caller starts the job (funnel.tasks.export_job_run_task) with the request's address.
    """
    _take_one(by, rows)
    return ExportJob.objects.create(created_by=by, filters=filters, rows_total=rows)


# --- the rows ------------------------------------------------------------------------------------
def export_header(user: User) -> list[str]:
    """The columns, the creation time's named with the reader's time zone (the file's times are theirs)."""
    return [
        _("ID"), _("Opportunity"), _("Customer"), _("Owner"), _("Pipeline"), _("Stage"), _("Status"),
        _("Amount"), _("Probability (%)"), _("Expected close"), _("Source"), _("Campaign"), _("Next step"),
        _("Created (%(zone)s)") % {"zone": user.time_zone},
    ]  # fmt: skip


def export_queryset(user: User, filters: str):
    """The opportunities the filters pick among those the user may see now, in the list's order, as rows.

    The probability is the deal's own override if it has one, as the list and the weighted totals read it.
    """
    form = OpportunityFilterForm(QueryDict(filters), user=user)
    opportunities = form.apply(Opportunity.objects.visible_to(user))
    return opportunities.annotate(export_probability=Coalesce("probability_override", "stage__probability"))


# The owner's name parts come last: _row joins them into the name the pages show (person_name).
EXPORT_FIELDS = [
    "pk", "name", "account__name", "owner__first_name", "pipeline__name", "stage__name", "status",
    "amount", "export_probability", "expected_close_date", "source__name", "campaign__name", "next_step", "created_at",
    "owner__last_name", "owner__username",
]  # fmt: skip
OWNER, CREATED = 3, 13


def _row(values: tuple, zone: ZoneInfo) -> list:
    """One deal as the list page shows it: the owner's name, not their login; the time in the reader's zone."""
    *row, last_name, username = values
    row[OWNER] = person_name(row[OWNER], last_name, username)
    row[CREATED] = timezone.localtime(row[CREATED], zone).strftime("%Y-%m-%d %H:%M")
    return row


def export_rows(user: User, filters: str) -> Iterator[list]:
    """The rows in order, read ROWS_PER_READ at a time by id, so no cursor stays open between writes."""
    opportunities = export_queryset(user, filters)
    zone = ZoneInfo(user.time_zone)
    ids = list(opportunities.values_list("pk", flat=True))
    for start in range(0, len(ids), ROWS_PER_READ):
        batch = ids[start : start + ROWS_PER_READ]
        by_id = {row[0]: _row(row, zone) for row in opportunities.filter(pk__in=batch).values_list(*EXPORT_FIELDS)}
        yield [by_id[pk] for pk in batch if pk in by_id]


# --- the job -------------------------------------------------------------------------------------
class _Superseded(Exception):
    """A later run of the same job has taken over."""


def _claim(job_id: int) -> ExportJob | None:
    """Starts a new attempt of a queued or running job; None if it has finished."""
    claimed = ExportJob.objects.filter(pk=job_id, status__in=PENDING).update(
        status=Status.RUNNING, attempt=F("attempt") + 1, rows_written=0, size=0
    )
    return ExportJob.objects.select_related("created_by").get(pk=job_id) if claimed else None


class _ChunkWriter:
    """Writes CSV rows into the job's chunks of about CHUNK_BYTES, with the progress."""

    def __init__(self, job: ExportJob):
        self.job, self.index, self.rows, self.size = job, 0, 0, 0
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer)
        self.buffer.write("\ufeff")  # so Excel opens UTF-8 Chinese text correctly

    def write(self, rows: list[list]) -> None:
        self.csv.writerows([neutralise(value) for value in row] for row in rows)
        self.rows += len(rows)
        if self.buffer.tell() >= CHUNK_BYTES:
            self.flush()
        self._progress()

    def flush(self) -> None:
        data = self.buffer.getvalue().encode("utf-8")
        if data:
            ExportChunk.objects.create(job=self.job, attempt=self.job.attempt, index=self.index, data=data)
            self.index, self.size = self.index + 1, self.size + len(data)
        self.buffer.seek(0)
        self.buffer.truncate()

    def _progress(self) -> None:
        mine = ExportJob.objects.filter(pk=self.job.pk, attempt=self.job.attempt, status=Status.RUNNING)
        if not mine.update(rows_written=self.rows):
            raise _Superseded


def export_job_run(job_id: int, ip: str | None = None) -> ExportJob | None:
    """The export job: writes the file, then marks it ready and audits it (rows and bytes it holds)."""
    job = _claim(job_id)
    if job is None:
        return None
    user = job.created_by
    try:
        with translation.override(user.language):
            _write_file(job, user)
    except _Superseded:
        return None
    except ExportRefused as error:
        ExportJob.objects.filter(pk=job.pk, attempt=job.attempt).update(
            status=Status.FAILED, error=str(error), finished_at=timezone.now()
        )
        return ExportJob.objects.get(pk=job.pk)
    _finish(job, user, ip)
    export_jobs_expire()
    return ExportJob.objects.get(pk=job.pk)


def _write_file(job: ExportJob, user: User) -> None:
    count = export_queryset(user, job.filters).count()
    if count > settings.EXPORT_MAX_ROWS:
        raise ExportRefused(
            _("%(count)d rows match; an export holds at most %(max)d. Narrow the filter and try again.")
            % {"count": count, "max": settings.EXPORT_MAX_ROWS}
        )
    ExportJob.objects.filter(pk=job.pk, attempt=job.attempt).update(rows_total=count)
    writer = _ChunkWriter(job)
    writer.csv.writerow(export_header(user))
    for rows in export_rows(user, job.filters):
        writer.write(rows)
    writer.flush()
    job.rows_written, job.size = writer.rows, writer.size


@transaction.atomic
def _finish(job: ExportJob, user: User, ip: str | None) -> None:
    _lock_exports_of(user)  # the job leaves the pending count as its audit row enters it, in one step
    finished = ExportJob.objects.filter(pk=job.pk, attempt=job.attempt, status=Status.RUNNING).update(
        status=Status.READY, rows_written=job.rows_written, size=job.size, finished_at=timezone.now()
    )
    if not finished:
        return
    ExportChunk.objects.filter(job=job).exclude(attempt=job.attempt).delete()
    audit_record(
        action=AuditAction.EXPORTED,
        actor=user,
        obj=job,
        ip=ip,
        detail={"rows": job.rows_written, "bytes": job.size, "filters": job.filters},
    )


def export_jobs_expire() -> int:
    """Deletes the files of exports older than settings.EXPORT_KEEP_HOURS; their records stay."""
    cutoff = timezone.now() - timedelta(hours=settings.EXPORT_KEEP_HOURS)
    old = ExportJob.objects.filter(Q(status=Status.READY, finished_at__lt=cutoff) | Q(created_at__lt=cutoff))
    old = old.exclude(status=Status.EXPIRED)
    ids = list(old.values_list("pk", flat=True)[:1000])
    ExportChunk.objects.filter(job__in=ids).delete()
    return ExportJob.objects.filter(pk__in=ids).update(status=Status.EXPIRED)


def export_job_expires_at(job: ExportJob) -> datetime:
    return (job.finished_at or job.created_at) + timedelta(hours=settings.EXPORT_KEEP_HOURS)


def export_job_expired(job: ExportJob) -> bool:
    return job.status == Status.EXPIRED or export_job_expires_at(job) < timezone.now()


def export_job_fail(job_id: int) -> None:
    """Marks an export its job could not finish; the user may start another."""
    ExportJob.objects.filter(pk=job_id, status__in=PENDING).update(
        status=Status.FAILED,
        finished_at=timezone.now(),
        error=_("The export stopped because of an unexpected error. Please try again."),
    )


def export_file(job: ExportJob) -> Iterator[bytes]:
    """The ready file's bytes, one chunk read at a time."""
    chunks = ExportChunk.objects.filter(job=job, attempt=job.attempt)
    for index in itertools.count():
        data = chunks.filter(index=index).values_list("data", flat=True).first()
        if data is None:
            return
        yield bytes(data)
