"""Funnel-health alerts (issue 6): a deal idle past its stage's stall days, found by the scan; the team's
manager, in 简体中文, sees the count in the menu, opens the inbox, visits the deal and acknowledges the
alert with a reason. The rep reads the alert about their own deal but cannot acknowledge it; the other
team's manager never sees it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from funnel.health.services import scan_funnel
from funnel.models import Alert, AlertKind
from tests.factories import OpportunityFactory

ALERTS_PATH = "/alerts/"


@pytest.fixture
def world(pipeline, cast):
    """Team T1's rep R1 has one deal 30 days in Qualified (stall after 14) and one 3 days in; T2's rep R3
    has a stalled deal of their own. Then the scan runs, as Celery beat would run it."""
    qualified = pipeline.stages.get(name="Qualified")
    qualified.stall_days = 14
    qualified.save()
    now = timezone.now()
    stalled = OpportunityFactory(
        owner=cast["rep"], name="滨江冷链仓库", stage=qualified, stage_entered_at=now - timedelta(days=30)
    )
    fresh = OpportunityFactory(
        owner=cast["rep"], name="萧山新线", stage=qualified, stage_entered_at=now - timedelta(days=3)
    )
    elsewhere = OpportunityFactory(
        owner=cast["other_rep"], name="Ningbo port racks", stage=qualified, stage_entered_at=now - timedelta(days=30)
    )

    result = scan_funnel()

    # Only the two stalled deals are findings: no gap, empty cup, blockage or missing log in this world.
    assert {kind: counts[0] for kind, counts in result.items() if counts[0]} == {AlertKind.STALLED.value: 2}
    ours = Alert.objects.get(kind=AlertKind.STALLED, opportunity=stalled)
    theirs = Alert.objects.get(kind=AlertKind.STALLED, opportunity=elsewhere)
    assert (ours.rep, ours.stage, ours.resolved_at, ours.acknowledged_at) == (cast["rep"], qualified, None, None)
    assert theirs.rep == cast["other_rep"]
    assert not Alert.objects.filter(opportunity=fresh).exists()
    return {**cast, "stalled": stalled, "elsewhere": elsewhere, "ours": ours, "theirs": theirs}


def nav_badge(page: Page):
    return page.get_by_test_id("nav-alerts").locator(".badge")


def alert_rows(page: Page):
    return page.get_by_test_id("alert")


def csrf_token(context: BrowserContext) -> str:
    """The CSRF cookie (named __Host-csrftoken under HTTPS), which Django also accepts as the form token."""
    tokens = [cookie["value"] for cookie in context.cookies() if cookie["name"].endswith("csrftoken")]
    assert tokens, "no CSRF cookie after signing in"
    return tokens[0]


def post_acknowledge(page: Page, live_server, alert: Alert, reason: str):
    """A hand-made acknowledgement, as if the form were there: a POST with a valid CSRF token."""
    return page.request.post(
        f"{live_server.url}{ALERTS_PATH}{alert.pk}/acknowledge/",
        form={"csrfmiddlewaretoken": csrf_token(page.context), "reason": reason},
        max_redirects=0,
    )


def test_manager_in_chinese_follows_a_stalled_deal_alert_and_acknowledges_it(
    page, live_server, world, password, login, screenshot
):
    manager, deal, alert = world["manager"], world["stalled"], world["ours"]
    manager.language = "zh-hans"
    manager.save()

    login(page, live_server, manager, password)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    # One alert in M1's teams (T2's is not counted); the hidden words are for screen readers.
    expect(nav_badge(page)).to_have_text("1 条待处理")

    page.get_by_test_id("nav-alerts").click()
    expect(page).to_have_url(live_server.url + ALERTS_PATH)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("预警")
    rows = alert_rows(page)
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text("停滞商机")
    expect(row).to_contain_text(str(world["rep"]))
    expect(row).not_to_contain_text(world["elsewhere"].name)
    screenshot(page, "desktop-zh-alerts-inbox")

    row.get_by_role("link", name=deal.name, exact=True).click()
    expect(page).to_have_url(live_server.url + f"/opportunities/{deal.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(deal.name)

    page.go_back()
    expect(page).to_have_url(live_server.url + ALERTS_PATH)
    form = alert_rows(page).first.locator(f"form[action^='{ALERTS_PATH}{alert.pk}/acknowledge/']")
    expect(form).to_be_visible()
    reason = "客户下周一签约，已电话确认"
    form.locator(f"#reason-{alert.pk}").fill(f"  {reason}  ")
    form.locator("button[type=submit]:not([formaction])").click()  # the other button snoozes

    expect(page).to_have_url(re.compile(re.escape(live_server.url + ALERTS_PATH) + r"\??$"))
    expect(page.locator("main [role=status]")).to_have_text("预警已确认处理。")
    expect(alert_rows(page)).to_have_count(0)
    expect(page.locator("main")).to_contain_text("暂无预警，没有需要您关注的事项。")
    expect(nav_badge(page)).to_have_count(0)  # counted afresh, not the session's cached 1
    screenshot(page, "desktop-zh-alerts-acknowledged")

    alert.refresh_from_db()
    assert alert.acknowledged_by == manager
    assert alert.ack_reason == reason
    assert alert.acknowledged_at is not None
    assert alert.resolved_at is None and alert.snoozed_until is None  # set aside, not resolved
    world["theirs"].refresh_from_db()
    assert world["theirs"].acknowledged_at is None

    # Still there under "acknowledged", with who and why, and no form to act on it again.
    page.goto(live_server.url + ALERTS_PATH + "?state=acknowledged")
    rows = alert_rows(page)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"{manager}已确认处理：{reason}")  # no space between a name and Chinese
    expect(rows.first.locator("form")).to_have_count(0)


def test_rep_reads_the_alert_about_their_deal_and_the_other_team_never_sees_it(
    new_context, live_server, world, password, login
):
    rep, deal, alert = world["rep"], world["stalled"], world["ours"]

    page = new_context().new_page()
    login(page, live_server, rep, password)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(nav_badge(page)).to_have_text("1 need attention")
    page.get_by_test_id("nav-alerts").click()
    expect(page).to_have_url(live_server.url + ALERTS_PATH)
    rows = alert_rows(page)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Stalled opportunity")
    expect(rows.first.get_by_role("link", name=deal.name, exact=True)).to_have_attribute(
        "href", f"/opportunities/{deal.pk}/"
    )
    expect(page.locator("main form[method=post]")).to_have_count(0)
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    # Nor does a hand-made POST get through: reps read their alerts, managers act on them.
    answer = post_acknowledge(page, live_server, alert, "not mine to close")
    assert answer.status == 403, answer.status
    assert "CSRF verification failed" not in answer.text()  # refused by the view, not by a bad token

    outsider = new_context().new_page()
    login(outsider, live_server, world["other_manager"], password)
    expect(nav_badge(outsider)).to_have_text("1 need attention")  # R3's alert only
    outsider.get_by_test_id("nav-alerts").click()
    rows = alert_rows(outsider)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(world["elsewhere"].name)
    expect(outsider.locator("main")).not_to_contain_text(deal.name)
    expect(outsider.locator(f"form[action^='{ALERTS_PATH}{alert.pk}/']")).to_have_count(0)
    # Nor under another state, nor with R1 named as the rep (not one of M2's reps: the filter is ignored).
    outsider.goto(f"{live_server.url}{ALERTS_PATH}?state=acknowledged")
    expect(outsider.locator("main")).not_to_contain_text(deal.name)
    outsider.goto(f"{live_server.url}{ALERTS_PATH}?rep={rep.pk}")
    expect(outsider.locator("main")).not_to_contain_text(deal.name)
    answer = post_acknowledge(outsider, live_server, alert, "not my team")
    assert answer.status == 404, answer.status

    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledged_at, alert.ack_reason) == (None, None, "")
