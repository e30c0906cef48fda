"""CSV transfer in the browser, on a phone in Chinese: an admin brings deals over from a file and watches
the import's progress until its result; a rep exports the list and downloads the file once it is written.

The jobs wait in the in-memory queue until the test runs them, so the pages are seen while they work."""

import csv
import io
import re

from playwright.sync_api import Page, expect

from funnel.models import ExportJob, ImportBatch, LostReason, Opportunity, Stage, StageKind
from funnel.transfer import exports as export_services
from funnel.transfer import imports
from tests.factories import AccountFactory, OpportunityFactory


def fits_the_screen(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_admin_on_a_phone_brings_deals_over_and_watches_the_import(
    phone_page, live_server, pipeline, admin_user, password, login, screenshot, settings, tmp_path
):
    settings.JOBS_INLINE = settings.CELERY_TASK_ALWAYS_EAGER = False
    Stage.objects.filter(name="Proposal").update(checklist="预算已确认")
    AccountFactory(owner=admin_user, name="华信钢铁")
    LostReason.objects.create(name="价格")
    admin_user.language = "zh-hans"
    admin_user.save()
    upload = tmp_path / "商机.csv"
    upload.write_text(
        "名称,客户,阶段,金额,关闭日期,丢单原因\n"
        "高炉改造,华信钢铁,Proposal,1200000,,\n"
        "冷轧线,华信钢铁,Won,800000,2025-03-01,\n"
        "仓库货架,华信钢铁,Lost,90000,2025-04-02,价格\n"
        "无名客户,不存在的客户,,,,\n",
        encoding="utf-8",
    )
    page = phone_page
    login(page, live_server, admin_user, password)
    page.goto(live_server.url + "/transfer/import/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.locator("input[name=kind][value=opportunities]").check()
    page.locator("input[type=file]").set_input_files(str(upload))
    page.locator("main form[enctype] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/transfer/import/\d+/$"))
    batch = ImportBatch.objects.get()
    expect(page.get_by_test_id("import-rows").locator("tr.table-danger")).to_have_count(1)
    assert fits_the_screen(page)
    screenshot(page, "phone-zh-import-preview")

    page.locator("main button[name=mode][value=valid]").click()
    expect(page.get_by_test_id("import-progress")).to_be_visible()
    expect(page.locator("#import-progress progress")).to_have_attribute("value", "0")
    screenshot(page, "phone-zh-import-progress")
    imports.import_batch_run(batch.pk)  # as the worker would; the page polls and then shows the result
    expect(page.get_by_test_id("import-result")).to_be_visible()
    expect(page.get_by_test_id("import-skipped").locator("tbody tr")).to_have_count(1)
    assert fits_the_screen(page)
    screenshot(page, "phone-zh-import-result")
    statuses = dict(Opportunity.objects.values_list("name", "status"))
    assert statuses == {"高炉改造": StageKind.OPEN, "冷轧线": StageKind.WON, "仓库货架": StageKind.LOST}


def test_rep_on_a_phone_exports_the_list_and_downloads_the_file_once_written(
    phone_page, live_server, pipeline, rep, password, login, screenshot, settings
):
    settings.JOBS_INLINE = settings.CELERY_TASK_ALWAYS_EAGER = False
    OpportunityFactory(owner=rep, name="华信 高炉", probability_override=55)
    OpportunityFactory.create_batch(2, owner=rep)
    rep.language = "zh-hans"
    rep.save()
    page = phone_page
    login(page, live_server, rep, password)
    page.goto(live_server.url + "/opportunities/")
    page.locator("main a[href^='/opportunities/export/']").click()
    expect(page.get_by_test_id("export-count")).to_contain_text("3")
    assert fits_the_screen(page)
    screenshot(page, "phone-zh-export-start")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/transfer/export/\d+/$"))
    expect(page.get_by_test_id("export-progress")).to_be_visible()
    assert fits_the_screen(page)
    screenshot(page, "phone-zh-export-progress")
    export_services.export_job_run(ExportJob.objects.get().pk, "127.0.0.1")
    expect(page.get_by_test_id("export-ready")).to_be_visible()
    assert fits_the_screen(page)
    screenshot(page, "phone-zh-export-ready")
    with page.expect_download() as download:
        page.locator("main a[href$='/download/']").click()
    with open(download.value.path(), encoding="utf-8-sig") as file:
        rows = list(csv.reader(io.StringIO(file.read())))
    assert len(rows) == 4
    assert ["华信 高炉", "55"] in [[row[1], row[8]] for row in rows[1:]]  # the deal's own probability
