"""Prints the time and peak memory of a CSV import through its pages: the upload (read, checked, stored
or refused) and the import itself, for one file size per run (peak memory is a per-process high-water mark).

    python manage.py bench_import --rows 5000                       # customers, one column
    python manage.py bench_import --rows 2600000                    # a 5 MB file of one-letter rows
    python manage.py bench_import --rows 5000 --kind opportunities

It writes real rows into the configured database (named "bench-import <stamp> <n>") and leaves them.
"""

import resource
import time
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from funnel.models import Account, ImportBatch, Pipeline, Stage, StageKind
from reps.models import Role, User


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = "Benchmark one CSV import (upload, then import) and print time and peak memory."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=5000)
        parser.add_argument("--kind", choices=["customers", "opportunities"], default="customers")

    def handle(self, *args, **options):
        settings.JOBS_INLINE = True  # the import job runs inside the timed request, whatever the queue
        rows, kind = options["rows"], options["kind"]
        user = self.importer()
        text = self.file(kind, rows)
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        self.stdout.write(f"database: {connection.vendor}; {kind}, {rows:,} rows, {len(text.encode()):,} bytes")
        before = ImportBatch.objects.filter(created_by=user).order_by("-pk").values_list("pk", flat=True).first()
        upload = SimpleUploadedFile("bench.csv", text.encode(), content_type="text/csv")
        del text
        base = peak_mb()
        started = time.perf_counter()
        response = client.post(reverse("transfer:import_start"), {"kind": kind, "file": upload})
        upload_ms = (time.perf_counter() - started) * 1000
        self.stdout.write(
            f"upload: HTTP {response.status_code} in {upload_ms:,.0f} ms; peak memory +{peak_mb() - base:,.0f} MB"
        )
        batch = ImportBatch.objects.filter(created_by=user).order_by("-pk").first()
        if response.status_code != 302 or batch is None or batch.pk == before:
            self.stdout.write("refused at upload (nothing stored)")
            return
        base, started = peak_mb(), time.perf_counter()
        client.post(reverse("transfer:import_confirm", args=[batch.pk]), {"mode": "valid"})
        batch.refresh_from_db()
        import_ms = (time.perf_counter() - started) * 1000
        self.stdout.write(
            f"import: {batch.status}, {batch.imported_count:,} imported, {batch.skipped_count:,} skipped "
            f"in {import_ms:,.0f} ms; peak memory +{peak_mb() - base:,.0f} MB"
        )

    def importer(self) -> User:
        user, _ = User.objects.get_or_create(
            username="bench_importer", defaults={"role": Role.ADMIN, "is_staff": True, "is_superuser": True}
        )
        if not Pipeline.objects.filter(is_active=True).exists():
            pipeline = Pipeline.objects.create(name="Bench import", is_default=True)
            for order, (name, probability, kind) in enumerate(
                [("Qualified", 10, StageKind.OPEN), ("Won", 100, StageKind.WON), ("Lost", 0, StageKind.LOST)], 1
            ):
                Stage.objects.create(pipeline=pipeline, order=order, name=name, probability=probability, kind=kind)
        Account.objects.get_or_create(name="Bench import customer", owner=user)
        return user

    def file(self, kind: str, rows: int) -> str:
        stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
        if kind == "opportunities":
            return "name,customer,amount\n" + "".join(
                f"bench-import {stamp} {n},Bench import customer,{Decimal(1000 + n)}\n" for n in range(rows)
            )
        if rows > 100_000:  # the abuse case: a 5 MB file of tiny rows
            return "name\n" + "x\n" * rows
        return "name\n" + "".join(f"bench-import {stamp} {n}\n" for n in range(rows))
