"""The dashboard's per-rep table on a 1,440 px desktop (issue 19): all its columns show, none clipped
behind a sideways scroll; its number headings wrap instead of widening the table."""

from decimal import Decimal

from playwright.sync_api import expect

from tests.factories import OpportunityFactory

WIDE = {"width": 1440, "height": 900}


def test_the_per_rep_table_fits_a_1440px_screen(new_context, live_server, cast, pipeline, password, login):
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    for owner, amount in (("rep", 1_250_000), ("teammate", 987_654_321)):
        OpportunityFactory(owner=cast[owner], stage=stages["Proposal"], amount=Decimal(amount))
    page = new_context(viewport=WIDE).new_page()
    login(page, live_server, cast["manager"], password)
    page.goto(live_server.url + "/dashboard/")
    table = page.get_by_test_id("rep-table")
    expect(table).to_be_visible()
    widths = table.evaluate("(t) => ({table: t.scrollWidth, box: t.parentElement.clientWidth})")
    assert widths["table"] <= widths["box"], f"the per-rep table is {widths['table']} px in a {widths['box']} px box"
    last = table.locator("thead th").last
    box = last.bounding_box()
    assert box and box["x"] + box["width"] <= WIDE["width"], "the last column is off screen"
