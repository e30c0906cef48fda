"""The board without a mouse, in 简体中文: a rep tabs to a card, moves it two stages with →, then opens its
Move menu and sends it to Won, which opens the won form with the focus in it, and closes the deal."""

import re

from django.utils import timezone
from playwright.sync_api import Page, expect

from funnel.models import Opportunity, Stage, StageChange, StageKind
from tests.factories import OpportunityFactory

MAX_TABS = 80


def tab_to(page: Page, selector: str) -> None:
    """Presses Tab until the element matching `selector` has the focus, as a keyboard user would."""
    for _ in range(MAX_TABS):
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never took the focus after {MAX_TABS} presses of Tab")


def test_rep_in_chinese_moves_a_card_two_stages_and_closes_it_as_won_by_keyboard(
    page, live_server, pipeline, rep, password, login, screenshot
):
    rep.language = "zh-hans"
    rep.last_login = timezone.now()  # not a first sign-in: the profile's language stands
    rep.save()
    stages = {stage.name: stage for stage in Stage.objects.filter(pipeline=pipeline)}
    deal = OpportunityFactory(owner=rep, pipeline=pipeline, stage=stages["Qualified"], name="西湖仓库货架")
    card = f".board-card[data-id='{deal.pk}']"

    login(page, live_server, rep, password)
    page.goto(live_server.url + "/board/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_test_id("drop-won")).to_be_visible()
    expect(page.get_by_test_id("drop-lost")).to_be_visible()

    tab_to(page, card)
    for name in ("Proposal", "Negotiation"):
        with page.expect_response(re.compile(rf"/board/{deal.pk}/move/$")):
            page.keyboard.press("ArrowRight")
        moved = page.locator(f".board-cards[data-stage='{stages[name].pk}'] {card}")
        expect(moved).to_be_focused()  # the card keeps the focus in its new column
        expect(page.locator("#board-live")).to_contain_text(deal.name)
        expect(page.locator("#board-live")).to_contain_text(name)
    screenshot(page, "desktop-zh-board-keyboard")
    assert Opportunity.objects.get(pk=deal.pk).stage == stages["Negotiation"]

    # The Move menu: a dialog listing every open stage (the card's own disabled), then won and lost.
    tab_to(page, f"{card} [data-move-menu]")
    page.keyboard.press("Enter")
    dialog = page.locator("#board-move")
    expect(dialog).to_be_visible()
    expect(dialog.locator(f"[data-to-stage='{stages['Negotiation'].pk}']")).to_be_disabled()
    expect(dialog.locator(f"[data-to-stage='{stages['Qualified'].pk}']")).to_be_focused()
    screenshot(page, "desktop-zh-board-move-menu")
    tab_to(page, "#board-move a[data-close='won']")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/opportunities/{deal.pk}/\?close=won$"))
    expect(page.locator("#won_note")).to_be_focused()
    page.keyboard.type("签约完成")
    tab_to(page, f"form[action='/opportunities/{deal.pk}/won/'] button[type=submit]")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/opportunities/{deal.pk}/$"))
    expect(page.get_by_test_id("stage-badge")).to_have_text(stages["Won"].name)

    deal.refresh_from_db()
    assert (deal.status, deal.close_note) == (StageKind.WON, "签约完成")
    changes = StageChange.objects.filter(opportunity=deal).order_by("at", "pk")
    assert [change.to_stage.name for change in changes][-3:] == ["Proposal", "Negotiation", "Won"]
    assert all(change.by == rep for change in changes)
