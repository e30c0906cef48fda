"""The offline-first phone's server side (issue 16): the manifest, the service worker's file and headers, the
outbox's state and book, and the writes an outbox sends: each recorded once per idempotency key, its answer
JSON the outbox keeps (done, or the reasons it was refused)."""

import json
import zoneinfo
from datetime import datetime, time, timedelta

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from activity_log import services
from activity_log.models import Activity, ActivityKind, Amendment, OutboxReceipt, PlanItem, PlanItemStatus
from activity_log.offline.answers import HEADER
from activity_log.offline.views import user_key
from funnel.models import Opportunity, StageChange
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

pytestmark = pytest.mark.django_db
NOW = {f"HTTP_{HEADER.upper().replace('-', '_')}": "now"}
LATER = {f"HTTP_{HEADER.upper().replace('-', '_')}": "later"}


def answer(response) -> dict:
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


@pytest.fixture
def deal(rep, pipeline):
    return OpportunityFactory(owner=rep, name="Warehouse robots")


@pytest.fixture
def planned(rep, deal):
    log = services.daily_log_get(rep=rep, day=services.local_today(rep))
    visit = ActivityKind.objects.get(name="Visit")
    return PlanItem.objects.create(daily_log=log, kind=visit, account=deal.account, opportunity=deal)


def visit_post(deal, key="k1", **extra):
    return {
        "kind": ActivityKind.objects.get(name="Visit").pk,
        "account": deal.account.pk,
        "opportunity": deal.pk,
        "when": timezone.localtime(timezone=zoneinfo.ZoneInfo(deal.owner.time_zone)).strftime(
            "%Y-%m-%dT%H:%M"
        ),  # their zone
        "outcome": "Met the plant manager",
        "idempotency_key": key,
        **extra,
    }


# --- the shell ----------------------------------------------------------------------------------------------


def test_the_manifest_opens_the_reps_day_and_names_icons_that_exist(client):
    response = client.get(reverse("offline:manifest"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert (manifest["start_url"], manifest["display"], manifest["scope"]) == ("/log/", "standalone", "/")
    assert "漏斗" in manifest["name"] and "Loudou" in manifest["name"]
    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix(settings.STATIC_URL).lstrip("/")), icon["src"]
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}


def test_the_service_worker_is_served_from_the_root_uncached_with_its_version(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert body.startswith('const LOUDOU_VERSION = "') and 'const LOUDOU_OUTBOX_SCRIPT = "/static/js/outbox.js"' in body
    assert 'addEventListener("fetch"' in body


def test_every_page_links_the_manifest_and_carries_the_users_key_not_their_id(client_for, rep, other_rep):
    page = client_for(rep).get(reverse("log:today")).content.decode()
    assert 'rel="manifest" href="/manifest.webmanifest"' in page
    assert f'data-user="{user_key(rep)}"' in page
    assert user_key(rep) != user_key(other_rep) and len(user_key(rep)) == 32


def test_signed_out_pages_carry_no_users_key(client):
    page = client.get(reverse("reps:login")).content.decode()
    assert 'data-user=""' in page


# --- what the outbox asks before it sends ------------------------------------------------------------------


def test_state_names_the_signed_in_users_key_with_a_fresh_csrf_token(client_for, rep):
    response = client_for(rep).get(reverse("offline:state"))
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    data = answer(response)
    assert data["user"] == user_key(rep) and len(data["csrf"]) >= 32


def test_state_signed_out_is_403_with_the_reason(client):
    response = client.get(reverse("offline:state"))
    assert response.status_code == 403
    assert answer(response)["user"] == "" and "signed out" in answer(response)["reason"]


def test_the_book_holds_the_users_own_customers_deals_and_contacts_only(client_for, rep, other_rep, pipeline):
    mine = OpportunityFactory(owner=rep, name="Mine", account__name="Own customer")
    ContactFactory(account=mine.account, name="Own contact")
    theirs = OpportunityFactory(owner=other_rep, name="Theirs", account__name="Their customer")
    ContactFactory(account=theirs.account, name="Their contact")
    book = answer(client_for(rep).get(reverse("offline:book")))
    assert [row[1] for row in book["customers"]] == ["Own customer"]
    assert [row[:3] for row in book["opportunities"]] == [[mine.pk, "Mine", mine.account_id]]
    assert [row[1] for row in book["contacts"]] == ["Own contact"]
    assert book["user"] == user_key(rep)


def test_a_manager_s_book_holds_the_team_s_customers(client_for, rep, manager, other_rep, pipeline):
    AccountFactory(owner=rep, name="Team customer")
    AccountFactory(owner=other_rep, name="Other team's customer")
    book = answer(client_for(manager).get(reverse("offline:book")))
    assert [row[1] for row in book["customers"]] == ["Team customer"]


def test_the_book_is_three_queries_however_large(client_for, rep, pipeline, django_assert_max_num_queries):
    for number in range(30):
        ContactFactory(account=OpportunityFactory(owner=rep).account, name=f"Contact {number}")
    client = client_for(rep)
    client.get(reverse("offline:book"))
    with django_assert_max_num_queries(8):  # session, user, then one query per kind of record
        book = answer(client.get(reverse("offline:book")))
    assert len(book["customers"]) == len(book["contacts"]) == 30


# --- the visit form, sent from the outbox ---------------------------------------------------------------------


def test_a_visit_sent_twice_from_the_outbox_is_recorded_once(client_for, rep, deal):
    client = client_for(rep)
    first = client.post(reverse("log:activity_new"), visit_post(deal), **LATER)
    second = client.post(reverse("log:activity_new"), visit_post(deal), **LATER)
    assert first.status_code == second.status_code == 200
    assert answer(first) == answer(second) == {"ok": True, "url": f"/log/day/{services.local_today(rep)}/"}
    assert Activity.objects.count() == 1


def test_a_refused_visit_answers_its_reasons_and_records_nothing(client_for, rep, deal):
    response = client_for(rep).post(reverse("log:activity_new"), visit_post(deal, outcome=""), **LATER)
    assert response.status_code == 422
    data = answer(response)
    assert data["ok"] is False and any(reason.startswith("Outcome:") for reason in data["reasons"])
    assert not Activity.objects.exists()


def test_a_visit_sent_now_leaves_the_message_for_the_page_the_phone_opens(client_for, rep, deal):
    client = client_for(rep)
    client.post(reverse("log:activity_new"), visit_post(deal, key="now"), **NOW)
    client.post(reverse("log:activity_new"), visit_post(deal, key="later"), **LATER)
    page = client.get(reverse("log:today")).content.decode()
    assert page.count("Activity recorded.") == 1


def test_a_signed_out_send_is_sent_to_the_sign_in_page_and_records_nothing(client, deal):
    response = client.post(reverse("log:activity_new"), visit_post(deal), **LATER)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Activity.objects.exists()


def _yesterday_at(rep, hour: int, minute: int) -> datetime:
    zone = zoneinfo.ZoneInfo(rep.time_zone)
    return datetime.combine(services.local_today(rep) - timedelta(days=1), time(hour, minute), tzinfo=zone)


def test_a_visit_logged_offline_at_2350_and_sent_after_midnight_goes_to_yesterdays_log(client_for, shanghai_rep, deal):
    rep = shanghai_rep
    when = _yesterday_at(rep, 23, 50)
    post = visit_post(deal, when=when.strftime("%Y-%m-%dT%H:%M"))
    response = client_for(rep).post(reverse("log:activity_new"), post, **LATER)
    assert answer(response)["ok"]
    activity = Activity.objects.get()
    assert activity.daily_log.date == services.local_today(rep) - timedelta(days=1)
    assert activity.when == when and activity.is_backdated


def test_a_visit_sent_from_the_outbox_to_a_submitted_day_is_an_amendment_flagged_offline(client_for, rep, deal):
    yesterday = services.daily_log_get(rep=rep, day=services.local_today(rep) - timedelta(days=1))
    services.daily_log_submit(log=yesterday, by=rep, summary="Done for the day")
    post = visit_post(deal, when=_yesterday_at(rep, 23, 50).strftime("%Y-%m-%dT%H:%M"))
    typed = client_for(rep).post(reverse("log:activity_new"), {**post, "idempotency_key": "typed"})
    assert typed.status_code == 422  # the page's form still asks the rep for a reason
    response = client_for(rep).post(reverse("log:activity_new"), post, **LATER)
    assert answer(response)["ok"]
    amendment = Amendment.objects.get()
    assert amendment.daily_log == yesterday and amendment.changes == {"added": Activity.objects.get().pk}
    assert "offline" in amendment.reason


# --- a plan item's done / carry over, and a deal's move, from the day page ------------------------------------


def test_a_plan_item_cleared_twice_under_one_key_is_cleared_once(client_for, rep, planned):
    client = client_for(rep)
    url = reverse("log:plan_clear", args=[planned.pk])
    first = client.post(url, {"action": "carry", "reason": "Customer away", "idempotency_key": "c1"}, **LATER)
    services.daily_log_submit(log=planned.daily_log, by=rep, summary="Day done")
    resent = client.post(url, {"action": "carry", "reason": "Customer away", "idempotency_key": "c1"}, **LATER)
    assert answer(first)["ok"] and answer(resent)["ok"]  # the resend after a lost answer is not "submitted"
    planned.refresh_from_db()
    assert (planned.status, planned.carry_reason) == (PlanItemStatus.CARRIED_OVER, "Customer away")
    assert OutboxReceipt.objects.filter(key="c1", user=rep, kind="clear").count() == 1


def test_a_refused_clear_keeps_no_receipt_so_the_fixed_resend_clears(client_for, rep, planned):
    client = client_for(rep)
    url = reverse("log:plan_clear", args=[planned.pk])
    refused = client.post(url, {"action": "carry", "reason": "", "idempotency_key": "c2"}, **LATER)
    assert refused.status_code == 422 and answer(refused)["reasons"] == ["Say why it is carried over."]
    fixed = client.post(url, {"action": "carry", "reason": "Next week", "idempotency_key": "c2"}, **LATER)
    assert answer(fixed)["ok"]
    planned.refresh_from_db()
    assert planned.status == PlanItemStatus.CARRIED_OVER


def test_a_clear_without_script_still_redirects_to_the_plan(client_for, rep, planned):
    response = client_for(rep).post(reverse("log:plan_clear", args=[planned.pk]), {"action": "done"})
    assert response.status_code == 302 and response["Location"].endswith("#plan")
    planned.refresh_from_db()
    assert planned.status == PlanItemStatus.DONE


def test_another_users_key_is_refused(client_for, rep, teammate, planned):
    OutboxReceipt.objects.create(key="theirs", user=teammate, kind="clear", url="/log/")
    response = client_for(rep).post(
        reverse("log:plan_clear", args=[planned.pk]), {"action": "done", "idempotency_key": "theirs"}, **LATER
    )
    assert response.status_code == 422
    planned.refresh_from_db()
    assert planned.status == PlanItemStatus.PLANNED


def test_a_move_resent_after_a_lost_answer_moves_the_deal_once(client_for, rep, planned, stages):
    deal = planned.opportunity
    post = {"stage": stages["Proposal"].pk, "version": deal.version, "idempotency_key": "m1"}
    client = client_for(rep)
    url = reverse("log:plan_move", args=[planned.pk])
    first, resent = client.post(url, post, **LATER), client.post(url, post, **LATER)
    assert answer(first)["ok"] and answer(resent)["ok"]  # not a conflict: the version moved with the first
    deal.refresh_from_db()
    assert deal.stage == stages["Proposal"]
    assert StageChange.objects.filter(opportunity=deal, to_stage=stages["Proposal"]).count() == 1


def test_the_same_move_sent_again_without_its_key_is_a_conflict(client_for, rep, planned, stages):
    post = {"stage": stages["Proposal"].pk, "version": planned.opportunity.version}
    client = client_for(rep)
    url = reverse("log:plan_move", args=[planned.pk])
    client.post(url, post, **LATER)
    again = client.post(url, post, **LATER)
    assert again.status_code == 409 and "changed" in answer(again)["reasons"][0]


def test_a_move_refused_by_the_stage_gate_answers_the_gate(client_for, rep, planned, stages):
    stages["Proposal"].checklist = "Budget confirmed"
    stages["Proposal"].save()
    post = {"stage": stages["Proposal"].pk, "version": planned.opportunity.version, "idempotency_key": "m2"}
    response = client_for(rep).post(reverse("log:plan_move", args=[planned.pk]), post, **LATER)
    assert response.status_code == 422
    assert "Budget confirmed" in " ".join(answer(response)["reasons"])
    assert Opportunity.objects.get(pk=planned.opportunity_id).stage == stages["Qualified"]
    assert not OutboxReceipt.objects.exists()


def test_a_move_without_script_redirects_with_its_message(client_for, rep, planned, stages):
    post = {"stage": stages["Negotiation"].pk, "version": planned.opportunity.version, "idempotency_key": "m3"}
    client = client_for(rep)
    response = client.post(reverse("log:plan_move", args=[planned.pk]), post)
    assert response.status_code == 302
    assert "“Warehouse robots” moved to “Negotiation”." in client.get(response["Location"]).content.decode()


def test_a_plan_item_whose_deal_is_no_longer_the_reps_is_not_moved(client_for, rep, other_rep, planned, stages):
    Opportunity.objects.filter(pk=planned.opportunity_id).update(owner=other_rep)
    post = {"stage": stages["Proposal"].pk, "version": planned.opportunity.version, "idempotency_key": "m4"}
    response = client_for(rep).post(reverse("log:plan_move", args=[planned.pk]), post, **LATER)
    assert response.status_code == 422
    assert Opportunity.objects.get(pk=planned.opportunity_id).stage == stages["Qualified"]


def test_another_reps_plan_item_is_not_found(client_for, teammate, planned, stages):
    post = {"stage": stages["Proposal"].pk, "version": planned.opportunity.version}
    assert client_for(teammate).post(reverse("log:plan_move", args=[planned.pk]), post).status_code == 404


def test_the_day_offers_each_planned_deals_move_with_fresh_keys(client_for, rep, planned, stages):
    page = client_for(rep).get(reverse("log:today")).content.decode()
    assert f'action="/log/plan/{planned.pk}/move/"' in page and 'data-outbox="move"' in page
    assert "Now in “Qualified”: move to…" in page
    assert f'<option value="{stages["Proposal"].pk}">Proposal · ' in page and ">Lost · " not in page
    again = client_for(rep).get(reverse("log:today")).content.decode()
    key = 'name="idempotency_key" value="'
    assert page.split(key)[1][:32] != again.split(key)[1][:32]


def test_the_day_with_planned_deals_costs_the_same_queries_for_one_or_ten(
    client_for, rep, planned, pipeline, django_assert_max_num_queries
):
    client = client_for(rep)
    client.get(reverse("log:today"))
    with django_assert_max_num_queries(30) as one:
        client.get(reverse("log:today"))
    for _ in range(9):
        deal = OpportunityFactory(owner=rep)
        PlanItem.objects.create(daily_log=planned.daily_log, kind=planned.kind, account=deal.account, opportunity=deal)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(reverse("log:today")).content.decode()
    assert page.count('data-outbox="move"') == 10


def test_the_book_words_the_pickers_empty_choice_in_the_users_language(client_for, rep):
    rep.language = "zh-hans"
    rep.save(update_fields=["language"])
    book = answer(client_for(rep).get(reverse("offline:book"), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert book["choose"] == "请选择"
