"""CSV export: the user's filter and scope exactly, formula cells neutralised, written by a job into a file
its creator alone downloads, audited with what the file holds, limited per hour atomically (S5, S23, S24)."""

import csv
import io
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from funnel.models import ExportChunk, ExportJob
from funnel.transfer import exports as export_services
from funnel.transfer.exports import neutralise
from reps.models import AuditAction, AuditEvent
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db
DANGEROUS = ['=HYPERLINK("http://x/?"&A1)', "=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"]


def start(client, **params):
    """Posts the export page's button; the job runs when the request commits (here, at once)."""
    url = reverse("transfer:export_start")
    query = "&".join(f"{name}={value}" for name, value in params.items())
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"{url}?{query}" if query else url)


def download(client, job: ExportJob):
    return client.get(reverse("transfer:export_download", args=[job.pk]))


def read(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/csv")
    data = b"".join(response.streaming_content)
    assert len(data) == int(response["Content-Length"])
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def export(client, **params) -> list[list[str]]:
    response = start(client, **params)
    assert response.status_code == 302, response.status_code
    job = ExportJob.objects.latest("pk")
    assert response["Location"] == reverse("transfer:export_job", args=[job.pk])
    return read(download(client, job))


def test_export_holds_exactly_the_visible_filtered_rows(client_for, cast, pipeline):
    OpportunityFactory(owner=cast["rep"], name="mine A")
    OpportunityFactory(owner=cast["rep"], name="mine B")
    OpportunityFactory(owner=cast["teammate"], name="teammate's")
    OpportunityFactory(owner=cast["other_rep"], name="other team's")
    rows = export(client_for(cast["rep"]), team=cast["other_rep"].team.pk, owner=cast["teammate"].pk)
    assert sorted(row[1] for row in rows[1:]) == ["mine A", "mine B"]
    rows = export(client_for(cast["manager"]), q="mine")
    assert sorted(row[1] for row in rows[1:]) == ["mine A", "mine B"]


def test_export_page_says_how_many_rows_the_filter_picks(client_for, rep, pipeline):
    OpportunityFactory.create_batch(3, owner=rep)
    page = client_for(rep).get(reverse("transfer:export_start")).content.decode()
    assert "Your filter picks 3 opportunities." in page and "Export to CSV" in page
    assert not ExportJob.objects.exists() and not AuditEvent.objects.filter(action=AuditAction.EXPORTED).exists()


def test_export_neutralises_formula_cells(client_for, rep, pipeline):
    for name in DANGEROUS:
        OpportunityFactory(owner=rep, name=name, account__name=name)
    rows = export(client_for(rep))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r", "\0")]
    assert '\'=HYPERLINK("http://x/?"&A1)' in cells


def test_neutralise_leaves_ordinary_text_alone():
    assert (neutralise("华信钢铁"), neutralise(None), neutralise(1200)) == ("华信钢铁", "", "1200")
    assert neutralise("-5") == "'-5"


def test_export_probability_is_the_deals_override_when_it_has_one(client_for, rep, stages):
    """Issue 10.7: the column read the stage's probability while the list and weighted totals use the override."""
    OpportunityFactory(owner=rep, name="overridden", stage=stages["Proposal"], probability_override=55)
    OpportunityFactory(owner=rep, name="stage's", stage=stages["Proposal"])
    rows = export(client_for(rep))
    column = rows[0].index("Probability (%)")
    assert {row[1]: row[column] for row in rows[1:]} == {"overridden": "55", "stage's": "40"}


def test_export_is_audited_with_the_rows_and_bytes_of_its_file(client_for, rep, pipeline):
    OpportunityFactory.create_batch(3, owner=rep)
    client = client_for(rep)
    rows = export(client)
    job = ExportJob.objects.get()
    event = AuditEvent.objects.get(action=AuditAction.EXPORTED)
    assert (event.actor, event.object_type, event.object_id, event.ip) == (
        rep,
        "funnel.exportjob",
        str(job.pk),
        "127.0.0.1",
    )
    assert event.detail == {"rows": 3, "bytes": job.size, "filters": ""} and len(rows) == 4


def test_the_audit_records_the_rows_the_file_holds_not_the_count_when_asked(client_for, rep, pipeline, settings):
    """Issue 11.10: the audit said every row was sent while a slow client got 60% of them."""
    settings.JOBS_INLINE = False  # the job runs later, after one more deal was created
    OpportunityFactory.create_batch(2, owner=rep)
    client = client_for(rep)
    client.post(reverse("transfer:export_start"))
    job = ExportJob.objects.get()
    assert (job.status, job.rows_total) == ("queued", 2)
    OpportunityFactory(owner=rep)
    export_services.export_job_run(job.pk, "10.0.0.7")
    assert len(read(download(client, job))) == 1 + 3
    event = AuditEvent.objects.get(action=AuditAction.EXPORTED)
    assert (event.detail["rows"], event.ip) == (3, "10.0.0.7")


def test_a_large_file_is_kept_in_chunks_and_downloaded_whole(client_for, rep, pipeline, monkeypatch):
    monkeypatch.setattr(export_services, "CHUNK_BYTES", 300)
    monkeypatch.setattr(export_services, "ROWS_PER_READ", 7)
    OpportunityFactory.create_batch(40, owner=rep)
    rows = export(client_for(rep))
    job = ExportJob.objects.get()
    assert ExportChunk.objects.filter(job=job).count() > 5
    assert len(rows) == 41 and len({row[0] for row in rows[1:]}) == 40
    assert (job.status, job.rows_written, job.rows_total) == ("ready", 40, 40)


def test_an_export_job_run_twice_writes_one_file_and_one_audit_row(client_for, rep, pipeline, settings):
    settings.JOBS_INLINE = False
    OpportunityFactory.create_batch(3, owner=rep)
    client = client_for(rep)
    client.post(reverse("transfer:export_start"))
    job = ExportJob.objects.get()
    export_services.export_job_run(job.pk)
    assert export_services.export_job_run(job.pk) is None  # finished: a second run does nothing
    assert AuditEvent.objects.filter(action=AuditAction.EXPORTED).count() == 1
    assert len(read(download(client, job))) == 4


def test_a_run_replaced_by_a_rerun_stops_and_the_rerun_writes_the_file(client_for, rep, pipeline, settings):
    """A worker killed mid-export leaves its attempt behind; the rerun starts a new attempt and wins."""
    settings.JOBS_INLINE = False
    OpportunityFactory.create_batch(3, owner=rep)
    client = client_for(rep)
    client.post(reverse("transfer:export_start"))
    job = ExportJob.objects.get()
    first = export_services._claim(job.pk)
    ExportChunk.objects.create(job=job, attempt=first.attempt, index=0, data=b"half a file")
    ready = export_services.export_job_run(job.pk)
    assert (ready.status, ready.attempt) == ("ready", 2)
    with pytest.raises(export_services._Superseded):
        export_services._ChunkWriter(first).write([[1, "late row"]])
    assert not ExportChunk.objects.filter(attempt=first.attempt).exists()
    assert len(read(download(client, ready))) == 4


def test_export_is_limited_per_hour_together_with_the_dashboards_exports(client_for, rep, pipeline, settings):
    settings.EXPORTS_PER_HOUR = 3
    client = client_for(rep)
    export(client)
    export(client)
    assert client.get(reverse("insights:dashboard_export"), {"table": "reps"}).status_code == 200
    refused = start(client)
    assert refused.status_code == 302 and refused["Location"].startswith(reverse("opportunities:list"))
    assert client.get(reverse("insights:dashboard_export"), {"table": "reps"}).status_code == 302
    assert (
        "You have exported 3 times in the last hour." in client.get(reverse("transfer:export_start")).content.decode()
    )
    assert AuditEvent.objects.filter(action=AuditAction.EXPORTED).count() == 3
    assert ExportJob.objects.count() == 2


def test_an_export_still_being_written_counts_against_the_hour(client_for, rep, pipeline, settings):
    settings.EXPORTS_PER_HOUR, settings.JOBS_INLINE = 1, False
    client = client_for(rep)
    client.post(reverse("transfer:export_start"))
    assert ExportJob.objects.get().status == "queued"
    assert start(client).status_code == 302 and ExportJob.objects.count() == 1


def test_export_over_the_row_limit_is_refused_not_cut(client_for, rep, pipeline, settings):
    settings.EXPORT_MAX_ROWS = 2
    OpportunityFactory.create_batch(3, owner=rep)
    client = client_for(rep)
    assert "3 rows match" in client.get(reverse("transfer:export_start")).content.decode()
    response = client.post(reverse("transfer:export_start"), follow=True)
    assert "3 rows match" in response.content.decode()
    assert not ExportJob.objects.exists()


def test_the_service_refuses_a_file_over_the_row_limit_whoever_calls_it(rep, settings):
    """The size limit is the service's (funnel.transfer.exports), not only the page's: a caller that skips the
    page's first look still gets no job, and the allowance is not spent."""
    settings.EXPORT_MAX_ROWS = 2
    with pytest.raises(export_services.ExportRefused, match="3 rows match"):
        export_services.export_job_create(by=rep, filters="", rows=3)
    assert not ExportJob.objects.exists()
    assert export_services.export_refusal(rep, rows=2) is None
    assert export_services.export_job_create(by=rep, filters="", rows=2).rows_total == 2


def test_the_job_page_shows_progress_then_the_download(client_for, rep, pipeline, settings):
    settings.JOBS_INLINE = False
    OpportunityFactory.create_batch(4, owner=rep)
    client = client_for(rep)
    client.post(reverse("transfer:export_start"))
    job = ExportJob.objects.get()
    progress_url = reverse("transfer:export_job_progress", args=[job.pk])
    page = client.get(reverse("transfer:export_job", args=[job.pk])).content.decode()
    assert "Waiting for the export to start…" in page and f'hx-get="{progress_url}"' in page
    ExportJob.objects.filter(pk=job.pk).update(status="running", rows_total=4, rows_written=2)
    partial = client.get(progress_url, headers={"HX-Request": "true"}).content.decode()
    assert "Writing: 2 of 4 rows." in partial and 'value="50"' in partial
    ExportJob.objects.filter(pk=job.pk).update(status="queued")
    export_services.export_job_run(job.pk)
    assert client.get(progress_url, headers={"HX-Request": "true"}).headers["HX-Refresh"] == "true"
    page = client.get(reverse("transfer:export_job", args=[job.pk])).content.decode()
    assert "The file is ready: 4 opportunities." in page
    assert reverse("transfer:export_download", args=[job.pk]) in page


@pytest.mark.parametrize("viewer", ["teammate", "manager", "admin"])
def test_an_export_is_private_to_its_creator(client_for, cast, pipeline, viewer):
    OpportunityFactory(owner=cast["rep"], name="Secret deal")
    export(client_for(cast["rep"]))
    job = ExportJob.objects.get()
    client = client_for(cast[viewer])
    for name in ("export_job", "export_job_progress", "export_download"):
        response = client.get(reverse(f"transfer:{name}", args=[job.pk]))
        assert response.status_code == 404 and b"Secret deal" not in response.content
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, object_id=str(job.pk)).count() == 3


def test_an_export_expires_and_its_file_is_deleted(client_for, rep, pipeline, settings):
    OpportunityFactory(owner=rep)
    client = client_for(rep)
    export(client)
    job = ExportJob.objects.get()
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(hours=25))
    assert download(client, job).status_code == 404
    assert "This export has expired" in client.get(reverse("transfer:export_job", args=[job.pk])).content.decode()
    assert export_services.export_jobs_expire() == 1
    assert not ExportChunk.objects.exists() and ExportJob.objects.get().status == "expired"


def test_a_failed_job_says_so_and_does_not_count_against_the_hour(client_for, rep, pipeline, settings, monkeypatch):
    from funnel.tasks import export_job_run_task

    settings.EXPORTS_PER_HOUR, settings.JOBS_INLINE = 1, False
    client = client_for(rep)
    client.post(reverse("transfer:export_start"))
    job = ExportJob.objects.get()
    monkeypatch.setattr(export_services, "export_rows", lambda user, filters: 1 / 0)
    export_job_run_task.apply(args=[job.pk])
    assert "unexpected error" in client.get(reverse("transfer:export_job", args=[job.pk])).content.decode()
    assert export_services.export_refusal(rep) is None


# --- the hourly limit under concurrent requests (issue 11.7) -------------------------------------------
def at_once(count: int, request) -> list[int]:
    """`count` requests by one user at the same moment, each on its own thread and connection."""
    barrier, statuses = threading.Barrier(count), []

    def one():
        try:
            client = Client()
            client.force_login(request.user)
            barrier.wait(timeout=30)
            statuses.append(request(client))
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["opportunities", "dashboard"])
def test_25_exports_at_once_get_exactly_the_hours_allowance(rep, pipeline, settings, kind):
    """25 concurrent exports by one user: 13 passed a limit of 10 when each request counted, then recorded."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    settings.JOBS_INLINE = settings.CELERY_TASK_ALWAYS_EAGER = False  # the jobs wait in the in-memory queue
    OpportunityFactory(owner=rep)

    def request(client) -> int:
        if kind == "dashboard":
            return client.get(reverse("insights:dashboard_export"), {"table": "reps"}).status_code
        location = client.post(reverse("transfer:export_start"))["Location"]
        return 200 if location.startswith("/transfer/export/") else 302

    request.user = rep
    statuses = at_once(25, request)
    assert sorted(statuses) == [200] * 10 + [302] * 15
    assert export_services.exports_this_hour(rep) == 10
