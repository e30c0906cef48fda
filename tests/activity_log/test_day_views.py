"""The rep's day pages: plan, log an activity from a phone, clear, submit; scope and double taps."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from activity_log import services
from activity_log.models import Activity, ActivityKind, DailyLog, PlanItem
from funnel.models import Opportunity, Stage
from reps.models import AuditAction, AuditEvent
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(rep, pipeline):
    return OpportunityFactory(owner=rep, name="Warehouse robots")


def activity_post(deal, **extra):
    return {
        "kind": ActivityKind.objects.get(name="Visit").pk,
        "account": deal.account.pk,
        "opportunity": deal.pk,
        "when": timezone.localtime(timezone=ZoneInfo(deal.owner.time_zone)).strftime("%Y-%m-%dT%H:%M"),  # in their zone
        "outcome": "Met the plant manager",
        "idempotency_key": "abc123",
        **extra,
    }


def test_today_page_opens_the_day_with_its_plan(client_for, rep):
    response = client_for(rep).get(reverse("log:today"))
    assert response.status_code == 200
    assert DailyLog.objects.filter(rep=rep, date=services.local_today(rep)).exists()


def test_logging_a_visit_takes_one_post_and_lands_on_the_day(client_for, rep, deal):
    response = client_for(rep).post(reverse("log:activity_new"), activity_post(deal))
    assert response.status_code == 302
    activity = Activity.objects.get()
    assert (activity.daily_log.rep, activity.opportunity) == (rep, deal)
    assert "Met the plant manager" in client_for(rep).get(response.url).content.decode()


def test_a_double_tap_records_one_activity(client_for, rep, deal):
    """QUALITY R9."""
    client = client_for(rep)
    first = client.post(reverse("log:activity_new"), activity_post(deal))
    second = client.post(reverse("log:activity_new"), activity_post(deal))
    assert first.status_code == second.status_code == 302
    assert Activity.objects.count() == 1


def test_invalid_activity_reshows_what_was_typed(client_for, rep, deal):
    response = client_for(rep).post(reverse("log:activity_new"), activity_post(deal, outcome="", place="Ningbo port"))
    assert response.status_code == 422
    assert 'value="Ningbo port"' in response.content.decode()
    assert not Activity.objects.exists()


def test_rep_cannot_log_against_another_teams_customer(client_for, rep, cast, pipeline):
    """QUALITY S9: a foreign customer is not a valid choice; nothing is created."""
    foreign = OpportunityFactory(owner=cast["other_rep"])
    response = client_for(rep).post(reverse("log:activity_new"), activity_post(foreign))
    assert response.status_code == 422
    assert set(response.context["form"].errors) >= {"account"}
    assert not Activity.objects.exists()


def test_gate_failure_when_moving_keeps_the_input_and_records_nothing(client_for, rep, deal):
    proposal = Stage.objects.get(name="Proposal")
    proposal.required_fields = ["expected_close_date"]
    proposal.save()
    seen = {"move_to": proposal.pk, "move_version": deal.version, "move_opportunity": deal.pk}
    response = client_for(rep).post(reverse("log:activity_new"), activity_post(deal, **seen))
    assert response.status_code == 422
    assert "Expected close date" in response.content.decode()
    assert not Activity.objects.exists()
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Qualified"


def test_plan_item_is_logged_then_cleared_and_the_day_submitted(client_for, rep, deal):
    client = client_for(rep)
    client.get(reverse("log:today"))
    log = DailyLog.objects.get(rep=rep)
    visit = ActivityKind.objects.get(name="Visit")
    assert (
        client.post(reverse("log:plan_add", args=[log.pk]), {"kind": visit.pk, "account": deal.account.pk}).status_code
        == 302
    )
    second = client.post(
        reverse("log:plan_add", args=[log.pk]), {"kind": visit.pk, "account": deal.account.pk, "goal": "Demo"}
    )
    assert second.status_code == 302
    first_item, second_item = PlanItem.objects.order_by("position")
    client.post(reverse("log:activity_new"), activity_post(deal, plan_item=first_item.pk))
    refused = client.post(reverse("log:submit", args=[log.pk]), {"summary": "Good day"})
    assert refused.status_code == 422
    assert "Clear your plan" in refused.content.decode()
    client.post(reverse("log:plan_clear", args=[second_item.pk]), {"action": "carry", "reason": "Customer away"})
    assert client.post(reverse("log:submit", args=[log.pk]), {"summary": "Good day"}).status_code == 302
    log.refresh_from_db()
    assert log.is_submitted
    assert list(PlanItem.objects.order_by("position").values_list("status", flat=True)) == ["done", "carried"]


def test_another_reps_log_and_plan_items_answer_404(client_for, cast, deal):
    log = services.daily_log_get(rep=cast["teammate"], day=services.local_today(cast["teammate"]))
    item = services.plan_item_add(
        rep=cast["teammate"],
        log=log,
        data={"kind": ActivityKind.objects.first(), "account": AccountFactory(owner=cast["teammate"])},
    )
    client = client_for(cast["rep"])
    assert client.post(reverse("log:plan_add", args=[log.pk]), {}).status_code == 404
    assert client.post(reverse("log:plan_clear", args=[item.pk]), {"action": "done"}).status_code == 404
    assert client.post(reverse("log:submit", args=[log.pk]), {"summary": "x"}).status_code == 404
    assert client.get(reverse("log:detail", args=[log.pk])).status_code == 404
    assert PlanItem.objects.get(pk=item.pk).status == "planned"


def denials(model: str, pk: int) -> int:
    return AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, object_type=model, object_id=str(pk)).count()


def test_the_visit_form_for_another_reps_plan_item_answers_404_with_an_audit_row(client_for, cast, deal):
    """A foreign ?plan_item= was silently dropped (a blank form); now it is refused like any foreign id."""
    kind = ActivityKind.objects.first()
    theirs_log = services.daily_log_get(rep=cast["teammate"], day=services.local_today(cast["teammate"]))
    theirs = services.plan_item_add(
        rep=cast["teammate"], log=theirs_log, data={"kind": kind, "account": AccountFactory(owner=cast["teammate"])}
    )
    mine_log = services.daily_log_get(rep=cast["rep"], day=services.local_today(cast["rep"]))
    mine = services.plan_item_add(rep=cast["rep"], log=mine_log, data={"kind": kind, "account": deal.account})
    client = client_for(cast["rep"])

    assert client.get(reverse("log:activity_new"), {"plan_item": theirs.pk}).status_code == 404
    assert client.post(reverse("log:activity_new"), activity_post(deal, plan_item=theirs.pk)).status_code == 404
    assert denials("activity_log.planitem", theirs.pk) == 2
    assert not Activity.objects.exists()
    assert client.get(reverse("log:activity_new"), {"plan_item": 10**9}).status_code == 404  # none: no audit row
    assert denials("activity_log.planitem", 10**9) == 0

    own = client.get(reverse("log:activity_new"), {"plan_item": mine.pk})
    assert own.status_code == 200
    assert own.context["form"].initial["account"] == deal.account_id
    assert denials("activity_log.planitem", mine.pk) == 0


def test_the_visit_form_for_a_customer_outside_the_reps_book_answers_404_with_an_audit_row(client_for, cast, deal):
    theirs = AccountFactory(owner=cast["teammate"])
    client = client_for(cast["rep"])
    assert client.get(reverse("log:activity_new"), {"account": theirs.pk}).status_code == 404
    assert denials("funnel.account", theirs.pk) == 1

    own = client.get(reverse("log:activity_new"), {"account": deal.account.pk})
    assert own.status_code == 200
    assert own.context["form"].initial["account"] == deal.account_id
    assert client.get(reverse("log:activity_new"), {"account": "not-an-id"}).status_code == 200  # no id: no customer


def test_manager_reads_a_team_members_log_but_not_another_teams(client_for, cast):
    own_team = services.daily_log_get(rep=cast["rep"], day=services.local_today(cast["rep"]))
    other_team = services.daily_log_get(rep=cast["other_rep"], day=services.local_today(cast["other_rep"]))
    client = client_for(cast["manager"])
    assert client.get(reverse("log:detail", args=[own_team.pk])).status_code == 200
    assert client.get(reverse("log:detail", args=[other_team.pk])).status_code == 404


def test_customer_search_offers_only_the_reps_book(client_for, rep, cast, pipeline):
    AccountFactory(owner=rep, name="Huaxin Steel")
    AccountFactory(owner=cast["teammate"], name="Huaxin Chemicals")
    body = client_for(rep).get(reverse("search:pick", args=["customer"]), {"q": "huaxin"}).content.decode()
    assert "Huaxin Steel" in body and "Huaxin Chemicals" not in body


def test_customer_choices_list_only_that_customers_deals(client_for, rep, deal, pipeline):
    OpportunityFactory(owner=rep, name="Elsewhere deal")
    url = reverse("search:pick", args=["opportunity"])
    body = client_for(rep).get(url, {"field": "opportunity", "account": deal.account.pk}).content.decode()
    assert "Warehouse robots" in body and "Elsewhere deal" not in body


def test_days_far_in_the_future_or_malformed_are_404(client_for, rep):
    client = client_for(rep)
    far = (services.local_today(rep) + timedelta(days=5)).isoformat()
    assert client.get(reverse("log:day", args=[far])).status_code == 404
    assert client.get(reverse("log:day", args=["yesterday"])).status_code == 404


def test_past_day_without_a_log_offers_a_back_dated_entry_and_creates_nothing(client_for, rep):
    past = (services.local_today(rep) - timedelta(days=3)).isoformat()
    response = client_for(rep).get(reverse("log:day", args=[past]))
    assert "back-dated" in response.content.decode()
    assert not DailyLog.objects.exists()


@pytest.mark.parametrize("activities", [1, 20])
def test_day_page_query_count_does_not_grow(client_for, rep, deal, activities, django_assert_num_queries):
    for index in range(activities):
        services.activity_record(
            rep=rep,
            data={"kind": ActivityKind.objects.first(), "account": deal.account, "opportunity": deal,
                  "when": timezone.now() - timedelta(minutes=index), "outcome": "x"},
        )  # fmt: skip
    client = client_for(rep)
    client.get(reverse("log:today"))
    # session, user + team, log + plan + activities + amendments + comments, mark read, the plan form's kinds and
    # its customer picker's first customers (its deals and contacts wait for a customer; the day's own are offered
    # from the log already read), ...
    with django_assert_num_queries(10):  # the session was renewed by the first request: no write
        client.get(reverse("log:today"))


def test_opportunity_page_shows_its_activities_beside_its_stage_changes(client_for, rep, cast, deal):
    services.activity_record(
        rep=rep, data={"kind": ActivityKind.objects.first(), "account": deal.account, "opportunity": deal,
                       "when": timezone.now() - timedelta(hours=1), "outcome": "Walked the site"},
    )  # fmt: skip
    page = client_for(rep).get(reverse("opportunities:detail", args=[deal.pk])).content.decode()
    assert "Walked the site" in page
    # The manager sees the team member's activity too; the page of another team's deal stays 404.
    assert (
        "Walked the site"
        in client_for(cast["manager"]).get(reverse("opportunities:detail", args=[deal.pk])).content.decode()
    )


def test_home_shows_todays_log_and_the_managers_new_comments(client_for, cast):
    rep, manager = cast["rep"], cast["manager"]
    yesterday = services.daily_log_get(rep=rep, day=services.local_today(rep) - timedelta(days=1))
    services.daily_log_submit(log=yesterday, by=rep, summary="Done", support_needed="A discount")
    services.daily_log_comment(log=yesterday, by=manager, body="Approved up to 5%", answers_support=True)
    page = client_for(rep).get(reverse("funnel:home")).content.decode()
    assert "Approved up to 5%" in page
    assert "Not started yet." in page
    client_for(rep).get(reverse("log:day", args=[yesterday.date.isoformat()]))  # reading marks it read
    assert "Approved up to 5%" not in client_for(rep).get(reverse("funnel:home")).content.decode()


def test_reaching_for_another_reps_log_is_audited(client_for, cast):
    from reps.models import AuditAction, AuditEvent

    log = services.daily_log_get(rep=cast["teammate"], day=services.local_today(cast["teammate"]))
    client = client_for(cast["rep"])
    assert client.get(reverse("log:detail", args=[log.pk])).status_code == 404
    assert client.post(reverse("log:submit", args=[log.pk]), {"summary": "x"}).status_code == 404
    denied = AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor=cast["rep"], object_id=str(log.pk))
    assert denied.count() == 2
