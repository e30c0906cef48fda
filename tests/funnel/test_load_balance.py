"""Load balance (负荷均衡, issue 14): each rep's load in one grouped query per column family, the suggestions, and
moves of customers between reps of one team, previewed, scoped to the manager's teams, done in one transaction by
the handover's mover and audited old → new owner."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from activity_log.balance import figures
from activity_log.balance.services import BalanceError, balance_move, move_preview
from activity_log.models import ActivityKind, PlanItem
from activity_log.services import activity_record, daily_log_get, local_today
from funnel.models import Account, Contact, Opportunity
from reps.models import AuditAction, AuditEvent, Handover, HandoverItem, Quota, Role
from reps.quotas import quarter_of
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db
PAGE, PREVIEW, MOVE = reverse("balance:page"), reverse("balance:preview"), reverse("balance:move")


@pytest.fixture
def team(cast, team1, stages):
    """T1: R1 holds three customers with four deals (one stalled), R2 one smaller deal, R4 nothing; R5 left."""
    rep, teammate = cast["rep"], cast["teammate"]
    r4 = UserFactory(username="r4", first_name="Jun", last_name="Wang", role=Role.REP, team=team1)
    gone = UserFactory(username="r5", role=Role.REP, team=team1, is_active=False)
    old = timezone.now() - timedelta(days=90)
    big = [AccountFactory(owner=rep, name=f"Big {n}", last_contact_at=timezone.now()) for n in range(3)]
    for account in big:
        OpportunityFactory(owner=rep, account=account, stage=stages["Negotiation"], amount=Decimal(100000))
    OpportunityFactory(owner=rep, account=big[0], stage=stages["Qualified"], stage_entered_at=old, name="Stuck")
    small = AccountFactory(owner=teammate, name="Small", last_contact_at=old)
    OpportunityFactory(owner=teammate, account=small, stage=stages["Negotiation"], amount=Decimal(50000))
    return {**cast, "r4": r4, "gone": gone, "big": big, "small": small, "team": team1}


def loads_by_name(team) -> dict:
    reps = [team["rep"], team["teammate"], team["r4"]]
    return {load.rep.username: load for load in figures.rep_loads(reps, timezone.now())}


# --- the figures and the suggestions ---------------------------------------------------------------------------


def test_each_reps_load_is_counted_from_their_own_records(team):
    kind = ActivityKind.objects.get(name="Visit")
    for days in (0, 1, 10, 40):  # the last one is older than four weeks
        when = timezone.now() - timedelta(days=days)
        activity_record(rep=team["rep"], data={"kind": kind, "account": team["big"][0], "when": when, "outcome": "x"})
    start, end = quarter_of(local_today(team["rep"]))
    Quota.objects.create(user=team["rep"], period_start=start, period_end=end, amount=1000, updated_by=team["admin"])
    loads = loads_by_name(team)
    r1, r2, r4 = loads["r1"], loads["r2"], loads["r4"]
    assert (r1.open_count, r1.weighted, r1.stalled) == (4, Decimal(240000) + Decimal(10000), 1)
    assert r1.weeks == [0, 0, 1, 2] and r1.per_week == Decimal("0.8")  # 40 days ago: not counted
    assert (r1.quota, r1.attainment) == (Decimal(1000), Decimal("0.0"))
    assert (r1.customers, r1.quiet, r2.customers, r2.quiet) == (3, 0, 1, 1)
    assert (r4.open_count, r4.weighted, r4.customers, r4.quota) == (0, 0, 0, None)
    assert r1.stalled_share == 25 and r4.stalled_share is None


def test_the_figures_read_the_same_few_queries_for_any_number_of_reps(team, django_assert_num_queries):
    reps = [team["rep"], team["teammate"], team["r4"]]
    start, end = quarter_of(local_today(team["rep"]))
    for rep in reps:
        Quota.objects.create(user=rep, period_start=start, period_end=end, amount=1000, updated_by=team["admin"])
    with django_assert_num_queries(7):  # deals (+ the stall rule's stages), activities, quotas (3), customers
        figures.rep_loads(reps[:1], timezone.now())
    more = reps + [UserFactory(role=Role.REP, team=team["team"]) for _ in range(10)]
    with django_assert_num_queries(7):
        figures.rep_loads(more, timezone.now())


def test_an_overloaded_rep_is_named_with_their_shares_and_who_has_room(team):
    loads = list(loads_by_name(team).values())
    found = figures.suggestions(loads)
    assert len(found) == 1
    assert found[0].overloaded == team["rep"] and found[0].room in (team["teammate"], team["r4"])
    assert found[0].text == (f"{team['rep']} holds 86% of the team's weighted pipeline and 100% of its stalled deals; "
                             f"{team['r4']}, {team['teammate']} have room.")  # fmt: skip
    assert [load.rep for load in loads if load.overloaded] == [team["rep"]]


def test_an_even_team_and_a_team_of_one_get_no_suggestion(team, stages):
    for account in (AccountFactory(owner=team["teammate"]), AccountFactory(owner=team["r4"])):
        for _ in range(3):
            OpportunityFactory(owner=account.owner, account=account, stage=stages["Negotiation"],
                               amount=Decimal(100000))  # fmt: skip
    Opportunity.objects.filter(name="Stuck").delete()
    assert figures.suggestions(list(loads_by_name(team).values())) == []
    assert figures.suggestions(figures.rep_loads([team["rep"]], timezone.now())) == []


# --- who may balance which team --------------------------------------------------------------------------------


def test_the_page_shows_the_managers_team_its_suggestion_and_links(client_for, team):
    response = client_for(team["manager"]).get(PAGE)
    page = response.content.decode()
    assert response.status_code == 200 and response.context["team"] == team["team"]
    assert {load.rep for load in response.context["loads"]} == {team["rep"], team["teammate"], team["r4"]}
    assert str(team["gone"]) not in page  # an inactive rep is no row and no receiver
    assert "has room" in page and 'data-testid="balance-suggestion"' in page
    assert PAGE in client_for(team["manager"]).get(reverse("insights:dashboard")).content.decode()
    assert PAGE in client_for(team["manager"]).get(reverse("planning:quota_grid")).content.decode()


def test_a_rep_is_refused_every_balance_url_get_and_post(client_for, team):
    client = client_for(team["rep"])
    for url in (PAGE, PREVIEW, MOVE):
        assert client.get(url).status_code == 403
        assert client.post(url, {"team": team["team"].pk}).status_code == 403
    assert client_for(team["rep"]).get(reverse("insights:dashboard")).content.decode().count(PAGE) == 0


def test_anonymous_visitors_are_sent_to_sign_in(client, team):
    for url in (PAGE, PREVIEW, MOVE):
        assert client.get(url).status_code == 302


def test_a_manager_cannot_open_another_team_or_its_reps(client_for, team, team2):
    client = client_for(team["manager"])
    assert client.get(PAGE, {"team": team2.pk}).status_code == 404
    assert client.get(PAGE, {"team": team["team"].pk, "from": team["other_rep"].pk}).status_code == 404
    params = {"team": team2.pk, "from": team["other_rep"].pk, "to": team["other_manager"].pk}
    assert client.get(PREVIEW, params).status_code == 404


def test_an_admin_chooses_any_team_and_a_manager_of_two_teams_too(client_for, team, team2):
    page = client_for(team["admin"]).get(PAGE, {"team": team2.pk})
    assert page.status_code == 200 and page.context["team"] == team2
    assert [option.name for option in page.context["teams"]] == ["T1", "T2"]
    team2.manager = team["manager"]
    team2.save(update_fields=["manager"])
    assert client_for(team["manager"]).get(PAGE, {"team": team2.pk}).status_code == 200


def test_a_manager_without_a_team_is_told_so(client_for, team):
    lone = UserFactory(role=Role.MANAGER)
    response = client_for(lone).get(PAGE)
    assert response.status_code == 200 and 'data-testid="balance-no-team"' in response.content.decode()


# --- the move ----------------------------------------------------------------------------------------------------


def plan_item_for(team, account):
    log = daily_log_get(rep=team["rep"], day=local_today(team["rep"]))
    return PlanItem.objects.create(daily_log=log, kind=ActivityKind.objects.get(name="Visit"), account=account)


def test_the_preview_lists_exactly_what_will_move(client_for, team):
    a, b = team["big"][0], team["big"][1]
    ContactFactory(account=a, name="Ann")
    item = plan_item_for(team, a)
    params = {"team": team["team"].pk, "from": team["rep"].pk, "to": team["r4"].pk, "pick": [a.pk, b.pk]}
    response = client_for(team["manager"]).get(PREVIEW, params)
    page = response.content.decode()
    assert response.status_code == 200
    assert "2 customers will move, with 1 contact, 3 open opportunities, 1 open plan item." in page
    assert "Ann" in page and "Stuck" in page and str(item.kind) in page and "Big 2" not in page
    preview = move_preview(from_user=team["rep"], account_ids=[a.pk, team["small"].pk])
    assert [customer.account for customer in preview.customers] == [a]  # R2's customer is not R1's to move


def test_a_confirmed_move_takes_customers_contacts_open_deals_and_plan_items_audited(client_for, team, stages):
    a, b = team["big"][0], team["big"][1]
    contact = ContactFactory(account=a, name="Ann")
    item = plan_item_for(team, a)
    won = OpportunityFactory(owner=team["rep"], account=a, stage=stages["Won"], closed_at=timezone.now())
    data = {"team": team["team"].pk, "from": team["rep"].pk, "to": team["r4"].pk, "pick": [a.pk, b.pk]}
    response = client_for(team["manager"]).post(MOVE, data, follow=True)
    said = f"Moved from {team['rep']} to {team['r4']}: 2 customers, 1 contact, 3 open opportunities, 1 open plan item."
    assert said in response.content.decode()
    assert set(Account.objects.filter(owner=team["r4"]).values_list("pk", flat=True)) == {a.pk, b.pk}
    assert Opportunity.objects.filter(owner=team["r4"]).count() == 3
    assert Opportunity.objects.get(pk=won.pk).owner == team["rep"]  # closed deals keep their owner
    assert PlanItem.objects.get(pk=item.pk).daily_log.rep == team["r4"]
    assert Contact.objects.get(pk=contact.pk).account.owner == team["r4"]
    handover = Handover.objects.get()
    assert (handover.from_user, handover.by) == (team["rep"], team["manager"])
    assert HandoverItem.objects.filter(handover=handover, to_user=team["r4"]).count() == 7
    changes = AuditEvent.objects.filter(action=AuditAction.OWNER_CHANGED, detail__handover=handover.pk)
    assert changes.count() == 5 and all(e.detail["owner"] == [team["rep"].pk, team["r4"].pk] for e in changes)


def test_a_manager_cannot_move_another_teams_customers_or_to_another_teams_rep(client_for, team, stages):
    far = AccountFactory(owner=team["other_rep"], name="Far")
    client = client_for(team["manager"])
    data = {"team": team["team"].pk, "from": team["other_rep"].pk, "to": team["r4"].pk, "pick": [far.pk]}
    assert client.post(MOVE, data).status_code == 404
    data = {"team": team["team"].pk, "from": team["rep"].pk, "to": team["other_rep"].pk, "pick": [team["big"][0].pk]}
    response = client.post(MOVE, data, follow=True)
    assert "another active rep of T1" in response.content.decode()
    with pytest.raises(BalanceError):
        balance_move(team=team["team"], from_user=team["rep"], account_ids=[team["big"][0].pk],
                     to_user=team["other_rep"], by=team["admin"])  # fmt: skip
    with pytest.raises(BalanceError):
        balance_move(team=team["other_rep"].team, from_user=team["other_rep"], account_ids=[far.pk],
                     to_user=team["other_manager"], by=team["manager"])  # fmt: skip
    assert Account.objects.get(pk=far.pk).owner == team["other_rep"] and not Handover.objects.exists()
    assert Account.objects.filter(owner=team["rep"]).count() == 3


def test_never_to_an_inactive_rep_nor_a_customer_the_giver_does_not_own(client_for, team):
    for to, pick in ((team["gone"], team["big"][0]), (team["r4"], team["small"])):
        with pytest.raises(BalanceError):
            balance_move(team=team["team"], from_user=team["rep"], account_ids=[pick.pk], to_user=to,
                         by=team["manager"])  # fmt: skip
    params = {"team": team["team"].pk, "from": team["rep"].pk, "to": team["gone"].pk, "pick": [team["big"][0].pk]}
    assert client_for(team["manager"]).get(PREVIEW, params).status_code == 400
    assert not Handover.objects.exists() and Account.objects.get(pk=team["small"].pk).owner == team["teammate"]


def test_nothing_ticked_shows_the_form_again_and_moves_nothing(client_for, team):
    params = {"team": team["team"].pk, "from": team["rep"].pk, "to": team["r4"].pk}
    response = client_for(team["manager"]).get(PREVIEW, params)
    assert response.status_code == 400 and "Tick at least one customer" in response.content.decode()
    response = client_for(team["manager"]).post(MOVE, params, follow=True)
    assert "Choose at least one customer" in response.content.decode() and not Handover.objects.exists()


def test_the_customers_page_by_page_keeping_the_ticked_ones(client_for, team):
    for n in range(30):
        AccountFactory(owner=team["rep"], name=f"Zed {n:02}")
    client = client_for(team["manager"])
    first = client.get(PAGE, {"team": team["team"].pk, "from": team["rep"].pk, "pick": [team["big"][0].pk]})
    assert len(first.context["customers"]) == 25 and first.context["next_cursor"]
    after = {"team": team["team"].pk, "from": team["rep"].pk, "pick": [team["big"][0].pk],
             "after": first.context["next_cursor"]}  # fmt: skip
    second = client.get(PAGE, after)
    assert [row.name for row in second.context["customers"]] == [f"Zed {n:02}" for n in range(22, 30)]
    assert second.context["kept"] == [team["big"][0].pk]  # ticked on page 1: carried as a hidden field


def test_the_pages_read_a_fixed_number_of_queries(client_for, team, django_assert_max_num_queries):
    client = client_for(team["manager"])
    params = {"team": team["team"].pk, "from": team["rep"].pk, "to": team["r4"].pk,
              "pick": [account.pk for account in team["big"]]}  # fmt: skip
    client.get(PAGE)
    with django_assert_max_num_queries(22) as few:
        client.get(PAGE, params)
    with django_assert_max_num_queries(22) as few_preview:
        client.get(PREVIEW, params)
    for _ in range(20):
        account = AccountFactory(owner=team["rep"])
        OpportunityFactory(owner=team["rep"], account=account)
        ContactFactory(account=account)
        UserFactory(role=Role.REP, team=team["team"])
    params["pick"] = list(Account.objects.filter(owner=team["rep"]).values_list("pk", flat=True))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(PAGE, params)
    with django_assert_max_num_queries(len(few_preview.captured_queries)):
        client.get(PREVIEW, params)


# --- the handover's start: a person picker ----------------------------------------------------------------------


def test_the_handover_starts_from_a_person_picker_within_the_managers_people(client_for, team):
    client, url = client_for(team["manager"]), reverse("log:handover_list")
    assert 'name="from__q"' in client.get(url).content.decode()  # the picker's search box, not a full <select>
    response = client.get(url, {"from": team["rep"].pk})
    assert response.status_code == 302 and response.url == f"{reverse('log:handover_new')}?from={team['rep'].pk}"
    typed = client.get(url, {"from": "", "from__q": team["gone"].username})  # without script: the typed name
    assert typed.status_code == 302 and typed.url.endswith(f"?from={team['gone'].pk}")  # deactivated people too
    for outside in (team["other_rep"], team["manager"]):  # another team's rep; one's own book
        assert client.get(url, {"from": outside.pk}).status_code == 400
