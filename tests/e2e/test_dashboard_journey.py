"""The dashboard (issue 5): a manager reading in 简体中文 opens the team dashboard, sees the funnel drawn,
narrows it to one rep of the team, clicks a stage's count and lands on exactly those opportunities; the
same on a 375 px phone. A rep reads their stalled deals and next steps due on the home page."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.factories import OpportunityFactory

PHONE_375 = {"width": 375, "height": 812}
# window.Chart: the vendored script may not have run yet when the test first asks.
FUNNEL_BARS = "() => window.Chart?.getChart(document.getElementById('funnel-chart'))?.data.datasets[0].data"


@pytest.fixture
def world(pipeline, cast):
    """Team T1: R1 has one deal in Qualified and two in Proposal, R2 three in Proposal and one in
    Negotiation. T2's R3 has a deal in Proposal, which M1 never sees."""
    stages = {stage.name: stage for stage in pipeline.stages.all()}

    def deals(owner, stage, *names):
        for name in names:
            OpportunityFactory(owner=cast[owner], stage=stages[stage], name=name, amount=Decimal(120000))

    deals("rep", "Qualified", "滨江冷链仓库")
    deals("rep", "Proposal", "萧山新线", "余杭物流园")
    deals("teammate", "Proposal", "嘉兴货架改造", "宁波港二期", "绍兴纺织仓")
    deals("teammate", "Negotiation", "湖州立体库")
    deals("other_rep", "Proposal", "Ningbo port racks")
    cast["manager"].language = "zh-hans"
    cast["manager"].save()
    return {**cast, "stages": stages}


def stage_row(page: Page, stage_name: str):
    return page.get_by_test_id("funnel-table").locator("tbody tr").filter(has_text=stage_name)


def expect_funnel_drawn(page: Page, counts: list[int]) -> None:
    """The canvas holds a Chart.js funnel: one bar per open stage, centred on zero, as wide as its count."""
    canvas = page.locator("#funnel-chart")
    expect(canvas).to_be_visible()
    page.wait_for_function(f"() => Array.isArray(({FUNNEL_BARS})())")
    assert page.evaluate(FUNNEL_BARS) == [[-count / 2, count / 2] for count in counts]
    box = canvas.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100


def expect_only(page: Page, names: list[str], rep_name: str, stage_name: str) -> None:
    """The list shows exactly these deals, all the rep's, all in the stage."""
    expect(page.get_by_test_id("result-count")).to_have_text(f"{len(names)} 个商机")
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(len(names))
    for row in rows.all():
        expect(row).to_contain_text(stage_name)
    assert sorted(page.locator("main table tbody tr td a[href^='/opportunities/']").all_inner_texts()) == sorted(names)
    owners = page.locator("main table tbody tr td:nth-child(6)")  # hidden on small screens, present in the page
    assert set(owners.all_text_contents()) == {rep_name}


def test_manager_in_chinese_filters_to_a_rep_and_follows_a_stage_count(
    page, live_server, world, password, login, screenshot
):
    manager, teammate = world["manager"], world["teammate"]
    login(page, live_server, manager, password)
    page.goto(live_server.url + "/dashboard/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_contain_text("仪表盘")
    # The team's funnel: Qualified 1, Proposal 5 (not R3's), Negotiation 1.
    expect(stage_row(page, "Proposal").get_by_test_id("stage-count")).to_have_text("5")
    expect_funnel_drawn(page, [1, 5, 1])
    screenshot(page, "desktop-zh-dashboard-team")

    page.locator("summary", has_text="筛选").first.click()
    page.locator("#id_owner").select_option(str(teammate.pk))
    page.get_by_role("button", name="确定").click()
    expect(page).to_have_url(re.compile(rf"owner={teammate.pk}"))
    expect(stage_row(page, "Proposal").get_by_test_id("stage-count")).to_have_text("3")
    expect(stage_row(page, "Qualified").get_by_test_id("stage-count")).to_have_text("0")
    expect_funnel_drawn(page, [0, 3, 1])
    screenshot(page, "desktop-zh-dashboard-one-rep")

    stage_row(page, "Proposal").get_by_test_id("stage-count").click()
    proposal = world["stages"]["Proposal"]
    expect(page).to_have_url(re.compile(rf"/opportunities/\?.*owner={teammate.pk}.*stage={proposal.pk}"))
    expect_only(page, ["嘉兴货架改造", "宁波港二期", "绍兴纺织仓"], str(teammate), "Proposal")
    expect(page.locator("main")).not_to_contain_text("Ningbo port racks")
    screenshot(page, "desktop-zh-dashboard-stage-list")


def test_the_dashboard_reads_on_a_375px_phone_and_its_counts_still_lead_to_the_deals(
    new_context, live_server, world, password, login, screenshot
):
    page = new_context(viewport=PHONE_375, is_mobile=True, has_touch=True).new_page()
    manager, rep = world["manager"], world["rep"]
    login(page, live_server, manager, password)
    page.goto(f"{live_server.url}/dashboard/?owner={rep.pk}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect_funnel_drawn(page, [1, 2, 0])
    # Nothing but the wide tables (which scroll in their own box) may push the page sideways.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE_375["width"]
    chart = page.locator("#funnel-chart").bounding_box()
    assert chart and chart["x"] >= 0 and chart["x"] + chart["width"] <= PHONE_375["width"]
    page.locator("label[for=funnel-by-amount]").click()  # width by amount: 金额
    page.wait_for_function(f"() => ({FUNNEL_BARS})()[1][1] === 120000")
    expect(page.locator("#funnel-by-amount")).to_be_checked()
    page.wait_for_timeout(400)  # the toggle's and the chart's transitions, for the screenshot
    screenshot(page, "phone-zh-dashboard")

    stage_row(page, "Qualified").get_by_test_id("stage-count").click()
    expect(page).to_have_url(re.compile(rf"/opportunities/\?.*owner={rep.pk}"))
    expect_only(page, ["滨江冷链仓库"], str(rep), "Qualified")
    screenshot(page, "phone-zh-dashboard-stage-list")


def test_rep_on_a_phone_reads_their_stalled_deals_and_next_steps_at_home(
    new_context, live_server, world, password, login, screenshot
):
    rep, stages = world["rep"], world["stages"]
    stages["Qualified"].stall_days = 14
    stages["Qualified"].save()
    today = timezone.localdate()
    month_ago = timezone.now() - timedelta(days=30)
    OpportunityFactory(owner=rep, stage=stages["Qualified"], name="钱塘仓储", stage_entered_at=month_ago,
                       next_step="带客户参观样板库", next_step_date=today - timedelta(days=3))  # fmt: skip
    OpportunityFactory(owner=rep, stage=stages["Proposal"], name="临平新厂", next_step="发送报价",
                       next_step_date=today + timedelta(days=2))  # fmt: skip
    rep.language = "zh-hans"
    rep.save()
    page = new_context(viewport=PHONE_375, is_mobile=True, has_touch=True).new_page()
    login(page, live_server, rep, password)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    steps = page.get_by_test_id("home-next-step")
    expect(steps).to_have_count(2)
    expect(steps.first).to_contain_text("带客户参观样板库")  # the overdue one first, marked
    expect(steps.first.get_by_test_id("overdue")).to_have_text("已逾期")
    expect(steps.nth(1)).to_contain_text("发送报价")
    stalled = page.get_by_test_id("home-stalled-row")
    expect(stalled).to_have_count(1)
    expect(stalled.first).to_contain_text("钱塘仓储")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE_375["width"]
    screenshot(page, "phone-zh-home-panels")

    page.get_by_test_id("home-stalled-all").click()
    expect(page).to_have_url(re.compile(r"/opportunities/\?stalled=1$"))
    expect(page.get_by_test_id("result-count")).to_have_text("1 个商机")
    expect(page.locator("main table tbody tr")).to_contain_text("钱塘仓储")
