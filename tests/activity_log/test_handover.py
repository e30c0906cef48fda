"""Handover (交接, issue 14): what moves and what stays, all or nothing, who may give and receive, the pages."""

from decimal import Decimal

import pytest
from django.utils import timezone

from activity_log.handover import services as handover_services
from activity_log.handover.services import HandoverError, handover_confirm, package, receivers
from activity_log.models import ActivityKind, PlanItem, PlanItemStatus
from activity_log.services import activity_record, daily_log_get, local_today
from funnel.models import Account, Opportunity
from reps.models import AuditAction, AuditEvent, Handover, HandoverItem, HandoverReceipt, Role
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(cast, stages, team1):
    """R1's book: customer A (two contacts, an open deal, a won deal, a visit, a plan item for today and a done
    one), customer B (nothing else), and an open deal at R2's customer C. R4 is a second rep of T1."""
    rep, teammate = cast["rep"], cast["teammate"]
    a, b = AccountFactory(owner=rep, name="Acme"), AccountFactory(owner=rep, name="Beta")
    c = AccountFactory(owner=teammate, name="Cedar")
    contacts = [ContactFactory(account=a, name="Ann"), ContactFactory(account=a, name="Bo")]
    open_a = OpportunityFactory(owner=rep, account=a, stage=stages["Proposal"], name="Open A", next_step="Call")
    won_a = OpportunityFactory(owner=rep, account=a, stage=stages["Won"], name="Won A", closed_at=timezone.now())
    open_c = OpportunityFactory(owner=rep, account=c, stage=stages["Qualified"], name="Open C")
    teammates_deal = OpportunityFactory(owner=teammate, account=c, stage=stages["Qualified"], name="R2's own")
    kind = ActivityKind.objects.get(name="Visit")
    visit = activity_record(rep=rep, data={"kind": kind, "account": a, "when": timezone.now(), "outcome": "Met"})
    log = daily_log_get(rep=rep, day=local_today(rep))
    planned = PlanItem.objects.create(daily_log=log, kind=kind, account=a, goal="Demo")
    done = PlanItem.objects.create(daily_log=log, kind=kind, account=a, status=PlanItemStatus.DONE)
    r4 = UserFactory(username="r4", role=Role.REP, team=team1)
    return {**cast, "a": a, "b": b, "c": c, "contacts": contacts, "open_a": open_a, "won_a": won_a,
            "open_c": open_c, "teammates_deal": teammates_deal, "visit": visit, "planned": planned,
            "done": done, "r4": r4}  # fmt: skip


def owner(obj):
    return type(obj).objects.get(pk=obj.pk).owner


def test_the_package_lists_customers_deals_plan_items_and_last_activity(book):
    customers = {customer.account.name: customer for customer in package(book["rep"])}
    assert set(customers) == {"Acme", "Beta", "Cedar"}
    acme = customers["Acme"]
    assert [deal.name for deal in acme.opportunities] == ["Open A"]  # the won deal is not in the package
    assert acme.plan_items == [book["planned"]] and acme.contacts == 2 and acme.last_activity is not None
    assert customers["Cedar"].owned is False and customers["Beta"].opportunities == []


def test_a_handover_moves_exactly_the_book_and_nothing_else(book):
    rep, teammate, r4 = book["rep"], book["teammate"], book["r4"]
    handover = handover_confirm(
        from_user=rep, by=book["manager"], assignments={book["a"].pk: teammate, book["b"].pk: r4, book["c"].pk: r4}
    )
    assert owner(book["a"]) == teammate and owner(book["b"]) == r4
    assert owner(book["c"]) == teammate  # R2's customer: only R1's deal there moved
    assert owner(book["open_a"]) == teammate and owner(book["open_c"]) == r4
    assert owner(book["won_a"]) == rep  # closed deals keep their owner for history
    assert owner(book["teammates_deal"]) == teammate
    assert PlanItem.objects.get(pk=book["planned"].pk).daily_log.rep == teammate
    assert PlanItem.objects.get(pk=book["done"].pk).daily_log.rep == rep  # cleared: stays
    assert book["visit"].__class__.objects.get(pk=book["visit"].pk).daily_log.rep == rep  # activities stay
    moved = set(HandoverItem.objects.filter(handover=handover).values_list("object_type", "object_id", "to_user"))
    assert moved == {
        ("funnel.account", book["a"].pk, teammate.pk), ("funnel.account", book["b"].pk, r4.pk),
        ("funnel.contact", book["contacts"][0].pk, teammate.pk),
        ("funnel.contact", book["contacts"][1].pk, teammate.pk),
        ("funnel.opportunity", book["open_a"].pk, teammate.pk), ("funnel.opportunity", book["open_c"].pk, r4.pk),
        ("activity_log.planitem", book["planned"].pk, teammate.pk),
    }  # fmt: skip
    assert set(HandoverReceipt.objects.values_list("receiver", flat=True)) == {teammate.pk, r4.pk}
    changes = AuditEvent.objects.filter(action=AuditAction.OWNER_CHANGED, detail__handover=handover.pk)
    assert changes.count() == 4 and AuditEvent.objects.filter(action=AuditAction.HANDED_OVER).count() == 1
    assert Opportunity.objects.get(pk=book["open_a"].pk).version == book["open_a"].version + 1


def test_a_failure_halfway_leaves_the_old_state(book, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("injected after the deals and customers moved")

    monkeypatch.setattr(handover_services, "_move_plan_items", broken)
    with pytest.raises(RuntimeError):
        handover_confirm(from_user=book["rep"], by=book["manager"], assignments={book["a"].pk: book["teammate"]})
    assert owner(book["a"]) == book["rep"] and owner(book["open_a"]) == book["rep"]
    assert not Handover.objects.exists() and not HandoverItem.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.OWNER_CHANGED).exists()


def test_a_manager_cannot_hand_over_another_teams_book_or_to_another_team(book):
    with pytest.raises(HandoverError):
        handover_confirm(from_user=book["rep"], by=book["other_manager"], assignments={book["a"].pk: book["other_rep"]})
    with pytest.raises(HandoverError):
        handover_confirm(from_user=book["rep"], by=book["manager"], assignments={book["a"].pk: book["other_rep"]})
    with pytest.raises(HandoverError):
        handover_confirm(from_user=book["rep"], by=book["rep"], assignments={book["a"].pk: book["teammate"]})
    assert owner(book["a"]) == book["rep"] and not Handover.objects.exists()


def test_an_inactive_rep_is_never_offered_or_accepted(book):
    book["r4"].is_active = False
    book["r4"].save()
    assert set(receivers(book["manager"], book["rep"])) == {book["teammate"]}
    assert set(receivers(book["admin"], book["rep"])) == {book["teammate"], book["other_rep"]}
    with pytest.raises(HandoverError):
        handover_confirm(from_user=book["rep"], by=book["manager"], assignments={book["a"].pk: book["r4"]})


def test_a_customer_outside_the_package_is_refused(book):
    with pytest.raises(HandoverError):
        handover_confirm(from_user=book["rep"], by=book["manager"],
                         assignments={AccountFactory(owner=book["teammate"]).pk: book["r4"]})  # fmt: skip
    assert not Handover.objects.exists()


# --- the pages -------------------------------------------------------------------------------------


def test_the_manager_hands_over_on_the_page_per_customer_and_all_at_once(client_for, book):
    client = client_for(book["manager"])
    url = f"/log/handover/new/?from={book['rep'].pk}"
    page = client.get(url)
    assert page.status_code == 200 and b"Open A" in page.content and b"Won A" not in page.content
    assert {p.username for p in page.context["receivers"]} == {"r2", "r4"}
    data = {"from": book["rep"].pk, "all": book["r4"].pk, f"to-{book['a'].pk}": book["teammate"].pk}
    response = client.post("/log/handover/new/", data)
    handover = Handover.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/log/handover/{handover.pk}/"
    assert owner(book["a"]) == book["teammate"] and owner(book["b"]) == book["r4"]
    listing = client.get("/log/handover/")
    assert b'data-testid="handover-waiting"' in listing.content  # nobody has acknowledged yet


def test_a_tampered_receiver_is_a_form_error_and_nothing_moves(client_for, book):
    data = {"from": book["rep"].pk, f"to-{book['a'].pk}": book["other_rep"].pk}
    response = client_for(book["manager"]).post("/log/handover/new/", data)
    assert response.status_code == 400 and not Handover.objects.exists()
    assert b"A receiver must be an active rep of your teams." in response.content


def test_another_teams_book_is_404_for_a_manager(client_for, book):
    assert client_for(book["other_manager"]).get(f"/log/handover/new/?from={book['rep'].pk}").status_code == 404
    assert client_for(book["manager"]).get("/log/handover/new/")["Location"] == "/log/handover/"  # nobody named


def test_the_receiver_sees_it_on_home_and_acknowledges(client_for, book):
    handover = handover_confirm(from_user=book["rep"], by=book["manager"], assignments={book["a"].pk: book["teammate"]})
    client = client_for(book["teammate"])
    assert b'data-testid="home-handover"' in client.get("/").content
    detail = client.get(f"/log/handover/{handover.pk}/")
    assert detail.status_code == 200 and b"Acme" in detail.content
    response = client.post(f"/log/handover/{handover.pk}/acknowledge/", follow=True)
    assert b"Acknowledged." in response.content
    assert HandoverReceipt.objects.get().acknowledged_at is not None
    assert b'data-testid="home-handover"' not in client.get("/").content
    assert b"already acknowledged" in client.post(f"/log/handover/{handover.pk}/acknowledge/", follow=True).content


def test_only_receivers_and_the_givers_managers_see_a_handover(client_for, book):
    handover = handover_confirm(from_user=book["rep"], by=book["manager"], assignments={book["a"].pk: book["teammate"]})
    url = f"/log/handover/{handover.pk}/"
    assert client_for(book["manager"]).get(url).status_code == 200
    assert client_for(book["admin"]).get(url).status_code == 200
    assert client_for(book["rep"]).get(url).status_code == 200  # the giver: visible to themself
    assert client_for(book["other_manager"]).get(url).status_code == 404
    assert client_for(book["other_rep"]).get(url).status_code == 404
    assert client_for(book["r4"]).get(url).status_code == 404  # a teammate who received nothing
    assert client_for(book["r4"]).post(f"{url}acknowledge/").status_code == 404


def test_the_handover_pages_read_a_fixed_number_of_queries(client_for, book, stages, django_assert_max_num_queries):
    for index in range(10):
        account = AccountFactory(owner=book["rep"], name=f"More {index}")
        OpportunityFactory(owner=book["rep"], account=account, stage=stages["Proposal"], amount=Decimal(10))
    client = client_for(book["manager"])
    with django_assert_max_num_queries(16):
        assert client.get(f"/log/handover/new/?from={book['rep'].pk}").status_code == 200
    assignments = {account.pk: book["teammate"] for account in Account.objects.filter(owner=book["rep"])}
    handover = handover_confirm(from_user=book["rep"], by=book["manager"], assignments=assignments)
    with django_assert_max_num_queries(12):
        assert client.get(f"/log/handover/{handover.pk}/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/log/handover/").status_code == 200


# --- orphans and deactivation ---------------------------------------------------------------------


def test_the_orphans_report_lists_deactivated_owners_and_hands_over_in_one_click(client_for, book):
    book["rep"].is_active = False
    book["rep"].save()
    client = client_for(book["manager"])
    report = client.get("/log/handover/orphans/")
    (orphan,) = report.context["owners"]
    assert orphan == book["rep"] and (orphan.customers, orphan.open_deals) == (2, 2)
    assert b'data-testid="orphan-handover"' in report.content
    assert client_for(book["other_manager"]).get("/log/handover/orphans/").context["owners"] == []
    response = client.post("/log/handover/new/", {"from": book["rep"].pk, "all": book["r4"].pk})
    assert response.status_code == 302
    assert owner(book["a"]) == book["r4"] and owner(book["open_c"]) == book["r4"]
    assert client.get("/log/handover/orphans/").context["owners"] == []


def test_deactivating_someone_with_a_book_in_django_admin_asks_for_a_handover_first(client_for, book):
    from tests.reps.test_django_admin_writes import user_change

    response = user_change(client_for(book["admin"]), book["rep"], is_active=None)
    assert response.status_code == 200 and book["rep"].__class__.objects.get(pk=book["rep"].pk).is_active
    assert b"Hand the book over first" in response.content
    assert f"/log/handover/new/?from={book['rep'].pk}".encode() in response.content
    empty = UserFactory(username="r9", role=Role.REP, team=book["rep"].team)
    assert user_change(client_for(book["admin"]), empty, is_active=None).status_code == 302


def test_a_receiver_sees_only_their_own_part(client_for, book):
    assignments = {book["a"].pk: book["teammate"], book["b"].pk: book["r4"]}
    handover = handover_confirm(from_user=book["rep"], by=book["manager"], assignments=assignments)
    page = client_for(book["r4"]).get(f"/log/handover/{handover.pk}/")
    assert b"Beta" in page.content and b"Acme" not in page.content
    assert [receipt.receiver for receipt in page.context["receipts"]] == [book["r4"]]
