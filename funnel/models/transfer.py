"""CSV import batches and export jobs, each private to the person who started it."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .pipelines import Pipeline


class ImportBatch(models.Model):
    """An uploaded CSV file between its preview and its import; private to the person who uploaded it.

    Batches are kept after import (the error report is read from them); old ones may be deleted freely.
    """

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        OPPORTUNITIES = "opportunities", _("Opportunities")

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        QUEUED = "queued", _("Waiting to import")
        IMPORTING = "importing", _("Importing")
        IMPORTED = "imported", _("Imported")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    text = models.TextField(_("file content"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    imported_count = models.PositiveIntegerField(_("rows imported"), default=0)
    skipped_count = models.PositiveIntegerField(_("rows skipped"), default=0)
    # The skipped rows' numbers and reasons, as found at import: [{"row": 7, "errors": ["…"]}, …].
    report = models.JSONField(_("skipped rows"), default=list, blank=True)
    # The import job's progress: rows of the file taken so far (committed chunk by chunk), of rows_total.
    all_or_nothing = models.BooleanField(_("only if every row is valid"), default=False)
    rows_total = models.PositiveIntegerField(_("rows in the file"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    progress_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    # Why the last import of this file was refused as a whole (nothing imported); empty otherwise.
    error = models.TextField(_("refused because"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self) -> str:
        return self.filename or f"{self.get_kind_display()} #{self.pk}"


class ExportJob(models.Model):
    """A CSV export of the opportunity list, written by a background job into ExportChunk rows, then
    downloaded by the person who asked for it (nobody else) until it expires."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Writing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    filters = models.TextField(_("filters"), blank=True)  # the list's query string
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    # Each run of the job counts up; chunks carry their run's number, so a rerun never mixes with a
    # run it replaced (a worker killed mid-export runs the job again).
    attempt = models.PositiveIntegerField(_("attempt"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["created_by", "created_at"], name="exportjob_user_created")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class ExportChunk(models.Model):
    """One piece (about a megabyte) of an export's file, in order."""

    job = models.ForeignKey(ExportJob, verbose_name=_("export"), on_delete=models.CASCADE, related_name="chunks")
    attempt = models.PositiveIntegerField(_("attempt"))
    index = models.PositiveIntegerField(_("index"))
    data = models.BinaryField(_("data"))

    class Meta:
        verbose_name = _("export chunk")
        verbose_name_plural = _("export chunks")
        constraints = [
            models.UniqueConstraint(fields=["job", "attempt", "index"], name="exportchunk_job_attempt_index")
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.attempt}.{self.index}"
