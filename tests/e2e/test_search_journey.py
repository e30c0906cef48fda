"""Find a customer from the top bar on a phone, in 简体中文, and log a visit from its page; the suggestions are
a combobox the keyboard walks (arrow keys, Enter), and another rep's customer never shows."""

import re

from django.utils import timezone
from playwright.sync_api import expect

from activity_log.models import Activity, ActivityKind
from tests.factories import AccountFactory


def test_rep_on_a_phone_finds_a_customer_by_two_characters_and_logs_a_visit(
    phone_page, live_server, rep, other_rep, password, login, screenshot
):
    visit = ActivityKind.objects.get_or_create(name="Visit", defaults={"order": 0})[0]  # flushed with the data
    port = AccountFactory(owner=rep, name="浙江宁波港集团")
    AccountFactory(owner=rep, name="宁波钢铁")
    AccountFactory(owner=other_rep, name="宁波化工")  # another team's: never suggested
    rep.language = "zh-hans"
    rep.last_login = timezone.now()  # not a first sign-in: the profile's language stands
    rep.save()
    page = phone_page
    login(page, live_server, rep, password)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    box = page.get_by_test_id("global-search")
    box.fill("宁波")
    options = page.locator("#global-search-list [role=option]")
    expect(box).to_have_attribute("aria-expanded", "true")
    # Names that start with 宁波 first, then those that hold it; then the link to every result.
    expect(options).to_have_text(["宁波钢铁", "浙江宁波港集团", re.compile("宁波")])
    expect(page.locator("#global-search-list")).not_to_contain_text("宁波化工")
    box.press("ArrowDown")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.nth(0).get_attribute("id"))
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    screenshot(page, "phone-zh-search-suggestions")
    box.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/customers/{port.pk}/")

    page.get_by_test_id("log-visit").click()
    expect(page.locator("#id_account")).to_have_value(str(port.pk))
    page.locator("#id_kind").select_option(str(visit.pk))
    page.locator("#id_outcome").fill("与采购经理确认了码头设备需求。")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/customers/{port.pk}/")  # back where the visit was logged from
    expect(page.locator("main [role=status]").first).to_have_text("活动已记录。")
    logged = Activity.objects.get(daily_log__rep=rep)
    assert (logged.account, logged.outcome) == (port, "与采购经理确认了码头设备需求。")
    screenshot(page, "phone-zh-search-visit-logged")


def test_the_results_page_lists_each_kind_and_pages_one(page, live_server, rep, password, login):
    for number in range(30):
        AccountFactory(owner=rep, name=f"宁波客户{number:02d}")
    login(page, live_server, rep, password)
    page.get_by_test_id("global-search").fill("宁波")
    page.get_by_test_id("global-search").press("Enter")  # no option chosen: the results page
    expect(page).to_have_url(re.compile(r"/search/\?q="))
    expect(page.get_by_test_id("search-count-customer")).to_have_text("30")
    page.get_by_test_id("search-group-customer").get_by_role("link", name="Show all 30").click()
    expect(page.get_by_test_id("search-group-customer").locator(".list-group-item")).to_have_count(25)
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_test_id("search-group-customer").locator(".list-group-item")).to_have_count(5)
