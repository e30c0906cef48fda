"""The funnel by hand: a customer and its deal created on a phone, the deal dragged across the board
through a stage gate; an admin reordering stages and changing a stage's probability."""

import datetime
import re
from decimal import Decimal

from playwright.sync_api import Locator, Page, expect

from funnel.models import Account, Opportunity, Stage, StageChange

# The script may not have run yet when the page has loaded (it is deferred): no Sortable yet means "not bound".
BOARD_BOUND = (
    "() => !!window.Sortable"
    " && [...document.querySelectorAll('#board .board-cards')].every((list) => Sortable.get(list))"
)


def stages_by_name(pipeline) -> dict[str, Stage]:
    return {stage.name: stage for stage in pipeline.stages.all()}


def column(page: Page, stage: Stage) -> Locator:
    return page.locator(f"#board .board-cards[data-stage='{stage.pk}']")


def card_in(page: Page, stage: Stage, opportunity: Opportunity) -> Locator:
    return column(page, stage).locator(f".board-card[data-id='{opportunity.pk}']")


def touch_drag(page: Page, source: Locator, target: Locator) -> None:
    """A finger on a phone: press and hold the card past SortableJS's 200 ms delay, slide, lift."""
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    end = target.bounding_box()
    assert start and end
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    width = page.viewport_size["width"]
    assert end["x"] < width - 16, "the target column is off screen: the finger cannot reach it"
    x1 = min(end["x"] + end["width"] / 2, width - 8)  # columns are wider than a phone: aim at what shows
    y1 = end["y"] + min(end["height"] / 2, 24)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    page.wait_for_timeout(350)
    steps = 12
    for step in range(1, steps + 1):
        x, y = x0 + (x1 - x0) * step / steps, y0 + (y1 - y0) * step / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        page.wait_for_timeout(20)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def drag_card(page: Page, opportunity: Opportunity, to: Stage) -> None:
    """Drops the card on the target column once SortableJS is bound (again, after every swap)."""
    page.wait_for_function(BOARD_BOUND)
    card = page.locator(f"#board .board-card[data-id='{opportunity.pk}']")
    with page.expect_response(re.compile(rf"/board/{opportunity.pk}/move/$")):
        touch_drag(page, card, column(page, to))


def open_nav_link(page: Page, path: str) -> None:
    """Follows a main-menu link by its address: the labels are Chinese here, and the menu folds on a phone."""
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
    page.locator(f"#main-nav a[href='{path}']").click()
    expect(page).to_have_url(re.compile(re.escape(path) + r"$"))


def test_rep_on_a_phone_in_chinese_creates_a_deal_and_drags_it_through_a_stage_gate(
    phone_page, live_server, pipeline, rep, password, login, screenshot
):
    stages = stages_by_name(pipeline)
    qualified, proposal, negotiation = stages["Qualified"], stages["Proposal"], stages["Negotiation"]
    proposal.required_fields = ["expected_close_date"]
    proposal.save()
    rep.language = "zh-hans"
    rep.save()
    page = phone_page

    login(page, live_server, rep, password)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    open_nav_link(page, "/customers/")
    page.locator("main a[href='/customers/new/']").first.click()
    page.locator("#id_name").fill("杭州西湖物流有限公司")
    page.locator("#id_city").fill("杭州")
    screenshot(page, "phone-zh-customer-form")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/customers/\d+/$"))
    account = Account.objects.get(name="杭州西湖物流有限公司")
    assert account.owner == rep
    expect(page.get_by_role("heading", level=1)).to_have_text(account.name)

    page.goto(live_server.url + "/opportunities/new/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.locator("#id_name").fill("西湖仓库货架")
    page.locator("#id_account").select_option(str(account.pk))
    page.locator("#id_amount").fill("250000")
    expect(page.locator("#id_stage")).to_have_value(str(qualified.pk))  # the default pipeline's first stage
    page.locator("#id_stage").select_option(str(qualified.pk))
    screenshot(page, "phone-zh-opportunity-form")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/opportunities/\d+/$"))
    opportunity = Opportunity.objects.get(name="西湖仓库货架")
    assert (opportunity.account, opportunity.owner, opportunity.stage) == (account, rep, qualified)
    assert opportunity.amount == Decimal("250000")
    assert opportunity.expected_close_date is None
    expect(page.get_by_test_id("stage-badge")).to_have_text(qualified.name)

    open_nav_link(page, "/board/")
    expect(card_in(page, qualified, opportunity)).to_be_visible()
    screenshot(page, "phone-zh-board")

    # Proposal needs an expected close date: the server refuses, the board comes back as it was.
    drag_card(page, opportunity, proposal)
    problem = page.get_by_test_id("board-problem")
    expect(problem).to_be_visible()
    expect(card_in(page, qualified, opportunity)).to_be_visible()
    expect(card_in(page, proposal, opportunity)).to_have_count(0)
    assert Opportunity.objects.get(pk=opportunity.pk).stage == qualified
    screenshot(page, "phone-zh-board-refused")

    problem.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/opportunities/{opportunity.pk}/\?move_to={proposal.pk}#actions$"))
    move_form = page.get_by_test_id("move-form")
    expect(move_form.locator("select[name=stage]")).to_have_value(str(proposal.pk))
    page.locator(f"main a[href='/opportunities/{opportunity.pk}/edit/']").click()
    close = datetime.date.today() + datetime.timedelta(days=45)
    page.locator("#id_expected_close_date").fill(close.isoformat())
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/opportunities/{opportunity.pk}/$"))
    assert Opportunity.objects.get(pk=opportunity.pk).expected_close_date == close

    open_nav_link(page, "/board/")
    drag_card(page, opportunity, proposal)
    expect(page.get_by_test_id("board-problem")).to_have_count(0)
    expect(card_in(page, proposal, opportunity)).to_be_visible()
    expect(card_in(page, qualified, opportunity)).to_have_count(0)
    screenshot(page, "phone-zh-board-moved")

    drag_card(page, opportunity, negotiation)
    expect(card_in(page, negotiation, opportunity)).to_be_visible()
    expect(card_in(page, proposal, opportunity)).to_have_count(0)

    opportunity.refresh_from_db()
    assert opportunity.stage == negotiation
    changes = list(StageChange.objects.filter(opportunity=opportunity).order_by("at", "pk"))
    assert [(change.from_stage, change.to_stage) for change in changes] == [
        (None, qualified),
        (qualified, proposal),
        (proposal, negotiation),
    ]
    assert all(change.by == rep for change in changes)


def stage_order(pipeline) -> list[str]:
    return list(pipeline.stages.order_by("order").values_list("name", flat=True))


def test_admin_reorders_stages_and_changes_a_probability_that_the_board_shows(
    page, live_server, pipeline, admin_user, password, login, screenshot
):
    login(page, live_server, admin_user, password)
    page.locator("#main-nav a[href='/settings/']").click()
    page.get_by_role("link", name=pipeline.name, exact=True).click()
    expect(page).to_have_url(live_server.url + f"/settings/pipelines/{pipeline.pk}/")
    rows = page.locator(".js-stage-list tr")
    expect(rows).to_have_count(5)

    # The buttons work without script: a plain form post and a redirect.
    page.get_by_role("button", name="Move “Proposal” up").click()
    expect(rows.nth(0)).to_contain_text("Proposal")
    expect(rows.nth(1)).to_contain_text("Qualified")
    expect(page.locator("main .alert-danger")).to_have_count(0)
    assert stage_order(pipeline) == ["Proposal", "Qualified", "Negotiation", "Won", "Lost"]
    expect(page.get_by_role("button", name="Move “Proposal” up")).to_be_disabled()

    # Drag Qualified back to the top by its handle: htmx posts the new order and swaps in the table.
    handle = rows.filter(has_text="Qualified").locator(".js-drag-handle")
    expect(handle).to_be_visible()  # shown only once SortableJS is bound
    with page.expect_response(re.compile(rf"/settings/pipelines/{pipeline.pk}/stages/order/$")):
        handle.drag_to(rows.filter(has_text="Proposal").locator(".js-drag-handle"))
    expect(page.locator("form.js-stage-order [role=status]")).to_have_text("Stage order saved.")
    assert stage_order(pipeline) == ["Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    expect(rows.nth(0)).to_contain_text("Qualified")
    screenshot(page, "desktop-admin-stages")

    negotiation = pipeline.stages.get(name="Negotiation")
    page.get_by_role("link", name="Negotiation", exact=True).click()
    expect(page).to_have_url(live_server.url + f"/settings/stages/{negotiation.pk}/")
    expect(page.locator("#id_probability")).to_have_value("80")
    page.locator("#id_probability").fill("75")
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(live_server.url + f"/settings/pipelines/{pipeline.pk}/")
    negotiation.refresh_from_db()
    assert negotiation.probability == 75
    expect(rows.filter(has_text="Negotiation")).to_contain_text("75%")

    page.locator("#main-nav a[href='/board/']").click()
    headers = page.locator("#board .board-column:not(.board-close) h2")
    expect(headers).to_have_count(3)  # the open stages, in their order (then the Won and Lost drop zones)
    expect(headers.nth(0)).to_contain_text("Qualified")
    expect(headers.nth(1)).to_contain_text("Proposal")
    expect(page.locator(f"#column-{negotiation.pk}")).to_have_text(re.compile(r"^Negotiation\s+75%$"))
    screenshot(page, "desktop-admin-board")
