"""The shell around every page: sign-in and sign-out, the language switcher, the navbar on a phone, role-based links."""

import re

from django.utils import translation
from playwright.sync_api import Page, expect

from reps.models import User
from tests.factories import OpportunityFactory

CJK = re.compile(r"[\u4e00-\u9fff]")


def zh(english: str) -> str:
    """The 简体中文 catalog's text for `english`; fails if it is not translated (compilemessages first)."""
    with translation.override("zh-hans"):
        chinese = translation.gettext(english)
    assert chinese != english and CJK.search(chinese), f"{english!r} has no Chinese translation"
    return chinese


def nav_link(page: Page, name: str):
    return page.locator("#main-nav").get_by_role("link", name=name, exact=True)


def test_rep_switches_to_chinese_and_it_is_remembered_after_signing_out(
    page, new_context, live_server, rep, password, login, screenshot
):
    login(page, live_server, rep, password)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("My funnel")
    expect(page.get_by_test_id("kpi-open-count")).to_have_text("0")

    page.get_by_test_id("language-select").select_option("zh-hans")  # submits itself

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("My funnel"))
    expect(nav_link(page, zh("Home"))).to_be_visible()
    expect(nav_link(page, zh("Opportunities"))).to_be_visible()
    expect(nav_link(page, "Home")).to_have_count(0)
    expect(nav_link(page, "Opportunities")).to_have_count(0)
    expect(page.get_by_test_id("language-select")).to_have_value("zh-hans")
    screenshot(page, "desktop-home-zh-hans")

    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name=zh("Sign out"), exact=True).click()

    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("Sign in to Loudou"))
    expect(page.get_by_role("button", name=zh("Sign in"), exact=True)).to_be_visible()

    login(page, live_server, rep, password)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("My funnel"))

    # The preference lives on the profile, not only in this browser's cookie.
    assert User.objects.get(pk=rep.pk).language == "zh-hans"
    elsewhere = new_context().new_page()
    elsewhere.goto(live_server.url + "/accounts/login/")
    expect(elsewhere.locator("html")).to_have_attribute("lang", "en")
    login(elsewhere, live_server, rep, password)
    expect(elsewhere.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(elsewhere.get_by_role("heading", level=1)).to_have_text(zh("My funnel"))


def test_rep_on_a_phone_opens_the_menu_and_sees_only_their_opportunities(
    phone_page, live_server, pipeline, rep, other_rep, password, login, screenshot
):
    page = phone_page
    mine = [
        OpportunityFactory(owner=rep, name="Hangzhou warehouse racking"),
        OpportunityFactory(owner=rep, name="Suzhou plant conveyor retrofit"),
    ]
    theirs = OpportunityFactory(owner=other_rep, name="Chengdu cold store (other team)")

    login(page, live_server, rep, password)
    expect(page.get_by_test_id("kpi-open-count")).to_have_text("2")
    toggler = page.locator(".navbar-toggler")
    expect(toggler).to_be_visible()
    expect(nav_link(page, "Opportunities")).to_be_hidden()

    toggler.click()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    nav_link(page, "Opportunities").click()

    expect(page).to_have_url(live_server.url + "/opportunities/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Opportunities")
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(2)
    for opportunity in mine:
        expect(page.get_by_role("link", name=opportunity.name, exact=True)).to_be_visible()
    expect(page.get_by_text(theirs.name)).to_have_count(0)
    screenshot(page, "phone-opportunities")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a 390px-wide phone"


def test_on_a_phone_the_language_switches_without_opening_the_menu(
    phone_page, live_server, rep, password, login, screenshot
):
    rep.language = "zh-hans"
    rep.save()
    page = phone_page
    login(page, live_server, rep, password)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator(".navbar-toggler")).to_have_attribute("aria-expanded", "false")
    switcher = page.get_by_test_id("language-select-phone")
    expect(switcher).to_be_visible()
    expect(switcher.locator("option[value=en]")).to_have_text("English")  # each language named in itself
    screenshot(page, "phone-home-zh-hans")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the top bar scrolls sideways by {overflow}px on a 390px-wide phone"

    switcher.select_option("en")  # submits itself
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("My funnel")
    assert User.objects.get(pk=rep.pk).language == "en"


def test_manager_sees_team_link_and_their_reps(page, live_server, manager, rep, teammate, other_rep, password, login):
    login(page, live_server, manager, password)
    expect(page.get_by_role("heading", level=1)).to_have_text("My team's funnel")

    nav_link(page, "Team").click()

    expect(page).to_have_url(live_server.url + "/team/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My team")
    people = page.locator("main table tbody")
    for person in (rep, teammate):
        expect(people).to_contain_text(f"@{person.username}")
    expect(people).not_to_contain_text(f"@{other_rep.username}")


def test_rep_has_no_team_link(page, live_server, rep, password, login):
    login(page, live_server, rep, password)

    expect(nav_link(page, "Opportunities")).to_be_visible()
    expect(nav_link(page, "Team")).to_have_count(0)
    assert page.goto(live_server.url + "/team/").status == 403
