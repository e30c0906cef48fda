"""No English left on screen in 简体中文: over the Chinese demo, as a rep, a manager and an admin, every page reached
by links (tests/zh_crawl.py), and the renderings no link reaches: an import refused for its columns, a
correction to a submitted day, a stage's gate refusing a move, and the alert digest e-mail."""

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from activity_log import services as log_services
from activity_log.models import Activity
from funnel.health.digest import digest_alerts, digest_message
from funnel.models import Opportunity, Stage, StageKind
from reps.models import User

from .zh_crawl import crawl, english_runs

pytestmark = pytest.mark.django_db


@pytest.fixture
def chinese_demo(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    call_command("seed_demo", language="zh-hans", force=True, password="demo-password-2026", stdout=StringIO())
    call_command("scan_funnel", stdout=StringIO())
    # A correction to a submitted day, so that the log pages show one.
    activity = Activity.objects.filter(daily_log__rep__username="rep", daily_log__submitted_at__isnull=False).first()
    changed = {field: getattr(activity, field) for field in log_services.ACTIVITY_FIELDS}
    changed.update(outcome=activity.outcome + "（补充：客户已确认预算）", next_date=None)
    log_services.activity_amend(activity=activity, by=activity.daily_log.rep, data=changed, reason="补充预算信息")
    return {user.username: user for user in User.objects.all()}


def report(found: dict) -> list[str]:
    return [f"{route} {url}: {runs}" for route, pages in sorted(found.items()) for url, runs in pages if runs]


@pytest.mark.parametrize("username", ["rep", "manager", "admin"])
def test_every_page_a_role_reaches_in_chinese_shows_no_english(chinese_demo, client_for, username):
    logins = {user.username for user in chinese_demo.values()}  # people's logins are data, typed as they are
    found = crawl(client_for(chinese_demo[username]), allowed=logins)
    assert len(found) >= (20 if username == "rep" else 25)  # the crawl did reach the app's pages
    assert not report(found), "\n".join(report(found))


def test_an_import_refused_for_its_columns_names_them_in_chinese(chinese_demo, client_for):
    upload = SimpleUploadedFile("客户.csv", "名称,颜色\n华信,红\n".encode(), content_type="text/csv")
    response = client_for(chinese_demo["rep"]).post(
        reverse("transfer:import_start"), {"kind": "customers", "file": upload}
    )
    page = response.content.decode()
    assert "可用的列为：名称、负责人、行业、城市、地址、电话、官网、备注、销售区域。" in page
    assert not english_runs(page)


def test_a_gate_refusal_reads_as_one_chinese_sentence(chinese_demo, client_for):
    rep = chinese_demo["rep"]
    deal = Opportunity.objects.filter(owner=rep, status=StageKind.OPEN, stage__order__lt=4).first()
    gate = Stage.objects.get(pipeline=deal.pipeline, name="谈判签约")
    gate.required_fields = ["amount", "expected_close_date", "contact"]
    gate.save()
    Opportunity.objects.filter(pk=deal.pk).update(contact=None, expected_close_date=None)
    response = client_for(rep).post(
        reverse("opportunities:move", args=[deal.pk]), {"stage": gate.pk, "version": deal.version}
    )
    page = response.content.decode()
    assert "进入“谈判签约”前，请填写预计成交日期、联系人，并确认检查清单：" in page
    assert not english_runs(page)


def test_the_alert_digest_reads_in_chinese(chinese_demo):
    manager = chinese_demo["manager"]
    alerts = digest_alerts(manager, timezone.now())
    assert alerts
    with translation.override("zh-hans"):
        message = digest_message(manager, alerts)
    assert message.body.startswith("张伟，您好：")
    assert "【" in message.body and "查看全部预警：http" in message.body
    assert not english_runs(f"<pre>{message.body}</pre>")
