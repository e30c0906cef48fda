"""Prints the time and peak memory of the opportunity export's job, and the size of the file it writes.

    python manage.py bench_export --user admin --filters "status=all"

The export is recorded (audit row, job) like one made from the page; its file expires as usual.
"""

import resource
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from funnel.models import ExportChunk
from funnel.transfer import exports
from reps.models import User


class Command(BaseCommand):
    help = "Benchmark the opportunity export's job: rows, bytes, chunks, time and peak memory."

    def add_arguments(self, parser):
        parser.add_argument("--user", default="admin")
        parser.add_argument("--filters", default="status=all", help="The list's query string.")

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}: run seed_demo first.")
        rows = exports.export_queryset(user, options["filters"]).count()
        job = exports.ExportJob.objects.create(created_by=user, filters=options["filters"], rows_total=rows)
        base, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter()
        job = exports.export_job_run(job.pk)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
        chunks = ExportChunk.objects.filter(job=job, attempt=job.attempt).count()
        self.stdout.write(
            f"database: {connection.vendor}; export #{job.pk} {job.status}: {job.rows_written:,} rows, "
            f"{job.size:,} bytes in {chunks} chunks, {seconds * 1000:,.0f} ms; peak memory +{peak:,.0f} MB"
            + (f"; {job.error}" if job.error else "")
        )
