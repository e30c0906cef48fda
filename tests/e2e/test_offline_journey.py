"""The offline-first phone (issue 16): a rep logs visits, clears the plan and moves a deal with no network;
nothing is lost, and each write reaches the server exactly once.

The browser context's offline switch does not reach a service worker's own fetches, so "offline" here is the
switch plus every request the worker makes aborted as a dropped connection (microsoft/playwright#2311).
"""

import zoneinfo
from datetime import datetime, time, timedelta

from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, Route, expect

from activity_log import services
from activity_log.models import Activity, PlanItem, PlanItemStatus
from funnel.models import Opportunity
from tests.e2e.test_daily_log_journey import kinds
from tests.factories import AccountFactory, OpportunityFactory, UserFactory

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "service_workers": "allow"}
SLOW_MS = 20_000  # a service worker's first install and the field pages' download, on a loaded machine
CACHED = """async (paths) => {
  const names = (await caches.keys()).filter((name) => name.startsWith("loudou-pages-"));
  const held = [];
  for (const name of names) {
    for (const request of await (await caches.open(name)).keys()) {
      const url = new URL(request.url);
      held.push(url.pathname + url.search);
    }
  }
  return paths.every((path) => held.includes(path));
}"""
QUEUED = (
    """async () => (await window.LoudouOutbox.list(document.getElementById("offline-state").dataset.user)).length"""
)


def _worker_offline(route: Route) -> None:
    if route.request.service_worker is not None:
        route.abort("internetdisconnected")
    else:
        route.fallback()


def go_offline(context: BrowserContext) -> None:
    context.set_offline(True)
    context.route("**/*", _worker_offline)


def go_online(context: BrowserContext) -> None:
    context.unroute("**/*", _worker_offline)
    context.set_offline(False)


def phone(new_context, **options) -> tuple[BrowserContext, Page]:
    context = new_context(**PHONE, **options)
    context.set_default_timeout(SLOW_MS)
    return context, context.new_page()


def open_day_until_cached(page: Page, live_server, *paths: str) -> None:
    """Opens the day online and waits until the worker holds the field pages (the phone is then ready to go)."""
    page.goto(live_server.url + "/log/")
    wanted = ["/log/", "/log/activity/new/", "/offline/book/", *paths]
    for _ in range(240):  # polled here: wait_for_function does not wait for an async predicate
        if page.evaluate(CACHED, wanted):
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"not cached: {wanted}")


def wait_until(page: Page, done) -> None:
    for _ in range(120):
        if done():
            return
        page.wait_for_timeout(250)
    raise AssertionError("not done in 30 s")


def phone_time(rep, day, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zoneinfo.ZoneInfo(rep.time_zone))


def log_visit_offline(page: Page, account, outcome: str, search: str = "") -> None:
    page.locator("[data-testid=log-activity]").click()
    form = page.locator("[data-testid=visit-form]")
    if search:  # the customer search answers from the cached book
        form.locator("input[name=account__q]").fill(search)
        expect(form.locator("select[name=account]")).to_have_value(str(account.pk))
    else:
        form.locator("select[name=account]").select_option(str(account.pk))
    form.locator("textarea[name=outcome]").fill(outcome)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{page.url.split('/log/')[0]}/log/")


def test_two_visits_and_a_cleared_plan_item_logged_offline_survive_a_reload_and_are_recorded_once(
    new_context, live_server, pipeline, rep, password, login, screenshot
):
    kinds()
    rep.language = "zh-hans"
    rep.save()
    westlake = AccountFactory(owner=rep, name="西湖物流")
    binjiang = AccountFactory(owner=rep, name="滨江电子")
    OpportunityFactory(owner=rep, account=binjiang, name="滨江二期产线")
    log = services.daily_log_get(rep=rep, day=services.local_today(rep))
    planned = PlanItem.objects.create(daily_log=log, kind=kinds()["Call"], account=westlake, goal="确认报价")
    context, page = phone(new_context, locale="zh-CN")
    login(page, live_server, rep, password)
    open_day_until_cached(page, live_server)

    now = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(rep.time_zone))
    # 40 minutes ago, but on the rep's today (just after their midnight, 40 minutes ago is yesterday's log)
    visited_at = max(now - timedelta(minutes=40), now.replace(hour=0, minute=0)).replace(second=0, microsecond=0)
    context.clock.set_fixed_time(visited_at)
    go_offline(context)
    page.reload()  # from the phone's cache
    expect(page.locator("[data-offline-banner]")).to_be_visible()
    log_visit_offline(page, westlake, "离线拜访一：确认了交货期")
    log_visit_offline(page, binjiang, "离线拜访二：演示了新产线", search="滨江")
    expect(page.locator("[data-testid=queued-visit]")).to_have_count(2)  # shown at once, in the day's list
    page.locator(f"[data-plan-item='{planned.pk}'] form[data-outbox=clear]:has(input[value=done]) button").click()
    expect(page.locator(f"[data-plan-item='{planned.pk}'] [data-outbox-state=waiting]")).to_be_visible()
    expect(page.locator(f"[data-plan-item='{planned.pk}'] form")).to_have_count(2)  # hidden while it waits
    expect(page.locator(f"[data-plan-item='{planned.pk}'] form").first).to_be_hidden()
    expect(page.locator("[data-testid=queued-visit] [data-outbox-state=waiting]")).to_have_count(2)
    expect(page.locator("[data-testid=outbox-count]")).to_have_text("3")
    screenshot(page, "offline-queued-zh")

    page.reload()  # still offline: the outbox is in IndexedDB, not in the page
    expect(page.locator("[data-testid=queued-visit]")).to_have_count(2)
    expect(page.locator("[data-testid=outbox-count]")).to_have_text("3")
    assert not Activity.objects.exists()

    go_online(context)
    expect(page.locator("[data-testid=queued-visit]")).to_have_count(0, timeout=SLOW_MS)
    expect(page.locator("#activities")).to_contain_text("离线拜访二：演示了新产线")
    expect(page.locator("[data-outbox-bar]")).to_be_hidden()
    recorded = Activity.objects.order_by("outcome")
    assert [activity.outcome for activity in recorded] == ["离线拜访一：确认了交货期", "离线拜访二：演示了新产线"]
    assert {activity.when for activity in recorded} == {visited_at}  # the phone's time, not the sync's
    assert [activity.account for activity in recorded] == [westlake, binjiang]
    planned.refresh_from_db()
    assert planned.status == PlanItemStatus.DONE
    assert page.evaluate(QUEUED) == 0


def test_a_resend_after_a_lost_answer_records_one_visit(new_context, live_server, pipeline, rep, password, login):
    kinds()
    account = AccountFactory(owner=rep, name="Harbour Freight")
    context, page = phone(new_context)
    login(page, live_server, rep, password)
    open_day_until_cached(page, live_server)
    go_offline(context)
    log_visit_offline(page, account, "Quoted the cold store")

    lost = []

    def answer_lost(route: Route) -> None:  # the server records it; its answer never reaches the phone
        route.fetch()
        lost.append(route.request.url)
        route.abort("connectionreset")

    context.route("**/log/activity/new/", answer_lost)
    go_online(context)  # the `online` event sends the outbox
    wait_until(page, lambda: lost)
    assert Activity.objects.count() == 1
    expect(page.locator("[data-testid=queued-visit]")).to_have_count(1)  # no answer: still waiting
    context.unroute("**/log/activity/new/", answer_lost)
    page.evaluate("window.dispatchEvent(new Event('online'))")  # sent again, as when the network returns
    expect(page.locator("#activities")).to_contain_text("Quoted the cold store", timeout=SLOW_MS)
    expect(page.locator("[data-testid=queued-visit]")).to_have_count(0)
    assert Activity.objects.count() == 1


def test_a_queued_move_refused_by_the_stage_gate_stays_with_its_reason(
    new_context, live_server, pipeline, rep, password, login, screenshot
):
    kinds()
    proposal = pipeline.stages.get(name="Proposal")
    proposal.checklist = "Budget confirmed by the customer"
    proposal.save()
    deal = OpportunityFactory(owner=rep, name="Cold store robots", stage=pipeline.stages.get(name="Qualified"))
    log = services.daily_log_get(rep=rep, day=services.local_today(rep))
    planned = PlanItem.objects.create(daily_log=log, kind=kinds()["Visit"], account=deal.account, opportunity=deal)
    context, page = phone(new_context)
    login(page, live_server, rep, password)
    open_day_until_cached(page, live_server, f"/opportunities/{deal.pk}/")

    go_offline(context)
    move = page.locator(f"[data-plan-item='{planned.pk}'] [data-testid=plan-move]")
    move.locator("select[name=stage]").select_option(str(proposal.pk))
    move.locator("button[type=submit]").click()
    expect(page.locator(f"[data-plan-item='{planned.pk}']")).to_contain_text("Waiting to send")
    go_online(context)

    item = page.locator("[data-testid=outbox-item]")
    page.locator("[data-outbox-toggle]").click()
    expect(item).to_contain_text("Not sent", timeout=20_000)  # sent when the page sees the network again
    expect(item).to_contain_text("Budget confirmed by the customer")
    screenshot(page, "offline-move-refused")
    page.reload()  # kept: a refusal is never dropped
    page.locator("[data-outbox-toggle]").click()
    expect(item).to_contain_text("Budget confirmed by the customer")
    assert Opportunity.objects.get(pk=deal.pk).stage_id != proposal.pk
    page.once("dialog", lambda dialog: dialog.accept())
    item.locator("button", has_text="Discard").click()
    expect(item).to_have_count(0)
    assert page.evaluate(QUEUED) == 0


def sign_out(page) -> None:
    """The user menu's Sign out, sent as its button sends it (the page's submit handler runs), without the
    phone menu's opening animations in the way."""
    page.locator("form[action='/accounts/logout/']").first.evaluate("(form) => form.requestSubmit()")


def test_sign_out_clears_the_cache_and_another_user_never_sees_or_sends_the_queue(
    new_context, live_server, pipeline, rep, password, login
):
    kinds()
    account = AccountFactory(owner=rep, name="Harbour Freight")
    other = UserFactory(team=rep.team, username="second.rep")
    other.set_password(password)
    other.save()
    context, page = phone(new_context)
    login(page, live_server, rep, password)
    open_day_until_cached(page, live_server)
    go_offline(context)
    log_visit_offline(page, account, "Visit of the first rep")
    go_online(context)
    context.route("**/log/activity/new/", lambda route: route.abort("internetdisconnected"))  # not sent yet
    page.reload()
    expect(page.locator("[data-testid=queued-visit]")).to_have_count(1)

    sign_out(page)
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    page.wait_for_function("async () => !(await caches.keys()).some((name) => name.startsWith('loudou-pages-'))")

    context.unroute("**/log/activity/new/")
    login(page, live_server, other, password)
    page.goto(live_server.url + "/log/")
    expect(page.locator("[data-testid=queued-visit]")).to_have_count(0)
    expect(page.locator("[data-outbox-bar]")).to_be_hidden()
    assert page.evaluate(QUEUED) == 0
    page.wait_for_timeout(1000)
    assert not Activity.objects.exists()  # the second user's page never sent the first one's visit

    sign_out(page)
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")  # signed out before signing in again
    login(page, live_server, rep, password)  # back: their own queue is sent
    page.goto(live_server.url + "/log/")
    expect(page.locator("#activities")).to_contain_text("Visit of the first rep")
    expect(page.locator("[data-testid=queued-visit]")).to_have_count(0)  # shown at once; sent a moment later
    assert Activity.objects.get().daily_log.rep == rep


def test_a_visit_logged_offline_at_2350_and_synced_at_0010_goes_to_that_day(
    new_context, live_server, pipeline, rep, password, login
):
    kinds()
    rep.time_zone = "Asia/Shanghai"
    rep.save()
    account = AccountFactory(owner=rep, name="Night Shift Ltd")
    today = services.local_today(rep)
    context, page = phone(new_context)
    login(page, live_server, rep, password)
    open_day_until_cached(page, live_server)

    go_offline(context)
    context.clock.set_fixed_time(phone_time(rep, today - timedelta(days=1), 23, 50))
    page.reload()
    log_visit_offline(page, account, "Late call at the plant")
    context.clock.set_fixed_time(phone_time(rep, today, 0, 10))
    go_online(context)  # the `online` event sends it
    wait_until(page, Activity.objects.exists)
    activity = Activity.objects.get()
    assert activity.daily_log.date == today - timedelta(days=1)
    assert activity.when == phone_time(rep, today - timedelta(days=1), 23, 50)
    assert activity.is_backdated  # flagged on yesterday's log, never silently


def test_a_refused_visit_is_fixed_from_the_outbox_and_sent(new_context, live_server, pipeline, rep, password, login):
    kinds()
    lost_customer = AccountFactory(owner=rep, name="Harbour Freight")
    kept_customer = AccountFactory(owner=rep, name="Inland Freight")
    context, page = phone(new_context)
    login(page, live_server, rep, password)
    open_day_until_cached(page, live_server)
    go_offline(context)
    log_visit_offline(page, lost_customer, "Agreed the pallet sizes")
    type(lost_customer).objects.filter(pk=lost_customer.pk).update(owner=UserFactory())  # handed over
    go_online(context)

    item = page.locator("[data-testid=outbox-item]")
    page.locator("[data-outbox-toggle]").click()
    expect(item.locator("[data-outbox-state=refused]")).to_be_visible(timeout=SLOW_MS)
    expect(item).to_contain_text("Customer")  # the server's reason, with the field it is about
    item.locator("button", has_text="Fix").click()
    form = page.locator("[data-testid=visit-form]")
    expect(form.locator("textarea[name=outcome]")).to_have_value("Agreed the pallet sizes")  # as typed
    expect(form.locator(".alert-danger")).to_contain_text("Customer")
    form.locator("select[name=account]").select_option(str(kept_customer.pk))
    form.locator("button[type=submit]").click()
    expect(page.locator("#activities")).to_contain_text("Agreed the pallet sizes")
    assert Activity.objects.get().account == kept_customer
    assert page.evaluate(QUEUED) == 0
