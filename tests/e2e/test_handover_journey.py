"""Handover (交接, issue 14): a manager in 简体中文 hands a departing rep's book over to two reps, one customer
each; a receiver, on a phone, sees "handed over to you" on their home page, opens it and acknowledges it; the
manager's list then shows who has not acknowledged yet."""

import re

import pytest
from playwright.sync_api import expect

from activity_log.models import ActivityKind, PlanItem
from activity_log.services import daily_log_get, local_today
from funnel.models import Account, Opportunity
from reps.models import HandoverReceipt, Role
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory, UserFactory


@pytest.fixture
def world(pipeline, cast, team1):
    """R1 is leaving: two customers (宁波港务 with a contact, an open deal and a plan item for today; 杭州地铁
    with an open deal). R2 and R4 are the other reps of T1."""
    rep = cast["rep"]
    proposal = pipeline.stages.get(name="Proposal")
    port, metro = AccountFactory(owner=rep, name="宁波港务"), AccountFactory(owner=rep, name="杭州地铁")
    ContactFactory(account=port, name="王经理")
    OpportunityFactory(owner=rep, account=port, stage=proposal, name="码头货架", next_step="报价")
    OpportunityFactory(owner=rep, account=metro, stage=proposal, name="站台冷链")
    log = daily_log_get(rep=rep, day=local_today(rep))
    PlanItem.objects.create(
        daily_log=log,
        kind=ActivityKind.objects.get_or_create(name="Visit", defaults={"order": 0})[
            0
        ],  # a flush removes the migration's kinds
        account=port,
        goal="拜访",
    )
    r4 = UserFactory(username="r4", role=Role.REP, team=team1, first_name="军", last_name="王")
    return {**cast, "port": port, "metro": metro, "r4": r4}


def test_manager_hands_over_to_two_reps_and_a_receiver_acknowledges_on_a_phone(
    new_context, live_server, world, password, login, screenshot
):
    manager, rep, teammate, r4 = world["manager"], world["rep"], world["teammate"], world["r4"]
    for person in (manager, teammate):
        person.language = "zh-hans"
        person.save()

    page = new_context().new_page()
    login(page, live_server, manager, password)
    page.goto(f"{live_server.url}/log/handover/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_test_id("handover-start").locator("select[name=from]").select_option(str(rep.pk))
    page.get_by_test_id("handover-start").locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/log/handover/new/\?from={rep.pk}$"))
    customers = page.get_by_test_id("handover-customer")
    expect(customers).to_have_count(2)
    expect(page.locator("main")).to_contain_text("码头货架")
    page.locator(f"#id_to-{world['port'].pk}").select_option(str(teammate.pk))
    page.locator(f"#id_to-{world['metro'].pk}").select_option(str(r4.pk))
    screenshot(page, "desktop-zh-handover-package")
    page.get_by_test_id("handover-confirm").click()
    expect(page).to_have_url(re.compile(r"/log/handover/\d+/$"))
    expect(page.get_by_test_id("handover-waiting")).to_have_count(2)

    assert Account.objects.get(pk=world["port"].pk).owner == teammate
    assert Account.objects.get(pk=world["metro"].pk).owner == r4
    assert set(Opportunity.objects.filter(status="open").values_list("owner__username", flat=True)) == {"r2", "r4"}
    assert PlanItem.objects.get(goal="拜访").daily_log.rep == teammate

    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    login(phone, live_server, teammate, password)
    panel = phone.get_by_test_id("home-handover")
    expect(panel).to_be_visible()
    panel.get_by_role("link").first.click()
    expect(phone.locator("main")).to_contain_text("宁波港务")
    expect(phone.locator("main")).not_to_contain_text("杭州地铁")  # R4's part is not shown to R2
    screenshot(phone, "phone-zh-handover-received")
    phone.get_by_test_id("handover-ack").click()
    expect(phone.get_by_test_id("handover-acknowledged")).to_be_visible()
    phone.goto(f"{live_server.url}/")
    expect(phone.get_by_test_id("home-handover")).to_have_count(0)

    receipts = dict(HandoverReceipt.objects.values_list("receiver__username", "acknowledged_at"))
    assert receipts["r2"] is not None and receipts["r4"] is None
    page.goto(f"{live_server.url}/log/handover/")
    expect(page.get_by_test_id("handover-waiting")).to_have_count(1)  # R4 has not acknowledged yet
