"""The daily log's rules: local days, plan and clearance, locking, amendments, back-dating, effects."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activity_log import services
from activity_log.models import Activity, ActivityKind, Amendment, DailyLog, PlanItem, PlanItemStatus
from funnel.models import Opportunity, Stage
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

pytestmark = pytest.mark.django_db
SHANGHAI, NEW_YORK, UTC = ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"), ZoneInfo("UTC")


@pytest.fixture
def visit():
    return ActivityKind.objects.get(name="Visit")


@pytest.fixture
def deal(rep, pipeline):
    return OpportunityFactory(owner=rep)


def record(rep, deal, visit, when=None, **extra):
    data = {
        "kind": visit,
        "account": deal.account,
        "opportunity": deal,
        "when": when or timezone.now(),
        "outcome": "ok",
    }
    return services.activity_record(rep=rep, data={**data, **extra.pop("data", {})}, **extra)


def test_default_activity_kinds_exist():
    assert list(ActivityKind.objects.values_list("name", flat=True)) == [
        "Visit", "Call", "Meeting", "Demo", "E-mail", "Other"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("utc_moment", "local_day"),
    [
        (datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), "2026-03-01"),  # 23:59:59 in Shanghai
        (datetime(2026, 3, 1, 16, 0, 0, tzinfo=UTC), "2026-03-02"),  # 00:00:00 in Shanghai
        (datetime(2026, 3, 1, 16, 30, 0, tzinfo=UTC), "2026-03-02"),  # 00:30, UTC still says 1 March
        (datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC), "2026-03-02"),  # 07:59:59 in Shanghai
    ],
)
def test_activity_lands_on_the_reps_local_day(rep, deal, visit, utc_moment, local_day):
    """QUALITY R13: bucket by the rep's local date, never the UTC date."""
    with time_machine.travel(utc_moment + timedelta(minutes=1), tick=False):
        activity = record(rep, deal, visit, when=utc_moment)
    assert str(activity.daily_log.date) == local_day


@pytest.mark.parametrize(("day", "hours"), [("2026-03-08", 23), ("2026-11-01", 25), ("2026-06-01", 24)])
def test_dst_days_have_their_real_length(teammate, day, hours):
    """QUALITY R14: a New York day is 23 or 25 hours on DST changes, and every minute lands once."""
    teammate.time_zone = "America/New_York"
    start = datetime.fromisoformat(day).replace(tzinfo=NEW_YORK).astimezone(UTC)
    end = services.day_end(teammate, datetime.fromisoformat(day).date()).astimezone(UTC)
    assert (end - start).total_seconds() == hours * 3600
    minutes = int((end - start).total_seconds() // 60)
    days = {services.local_date(teammate, start + timedelta(minutes=m)) for m in range(minutes)}
    assert days == {datetime.fromisoformat(day).date()}


def test_plan_proposes_yesterdays_unfinished_items_and_todays_follow_ups(rep, deal, visit):
    with time_machine.travel(datetime(2026, 3, 2, 2, 0, tzinfo=UTC), tick=False):  # 10:00 in Shanghai
        yesterday = services.daily_log_get(rep=rep, day=services.local_today(rep))
        carried = services.plan_item_add(rep=rep, log=yesterday, data={"kind": visit, "account": deal.account})
        services.plan_item_clear(item=carried, by=rep, done=False, reason="Customer travelling")
        done = services.plan_item_add(rep=rep, log=yesterday, data={"kind": visit, "account": deal.account})
        services.plan_item_clear(item=done, by=rep, done=True)
        record(rep, deal, visit, data={"next_step": "Send the quotation", "next_date": datetime(2026, 3, 3).date()})
    with time_machine.travel(datetime(2026, 3, 3, 1, 0, tzinfo=UTC), tick=False):
        today = services.daily_log_get(rep=rep, day=services.local_today(rep))
        plan = list(today.plan.all())
    assert [(item.carried_from_id, item.follows_up_id is not None) for item in plan] == [
        (carried.pk, False),
        (None, True),
    ]
    assert plan[1].goal == "Send the quotation"
    # Opening the day again proposes nothing twice.
    assert services.plan_propose(log=today) == []


def yesterday_with(rep, visit, day, n: int) -> None:
    """`n` unfinished plan items on the rep's log of the day before `day`, and `n` visits with a next step due on
    `day`: each with its own customer, deal and contact."""
    yesterday = DailyLog.objects.create(rep=rep, date=day - timedelta(days=1))
    for position in range(1, n + 1):
        deal = OpportunityFactory(owner=rep)
        contact = ContactFactory(account=deal.account)
        links = {"kind": visit, "account": deal.account, "opportunity": deal, "contact": contact}
        PlanItem.objects.create(daily_log=yesterday, position=position, goal=f"Goal {position}", **links)
        Activity.objects.create(
            daily_log=yesterday, when=timezone.now(), outcome="ok", next_step=f"Step {position}", next_date=day, **links
        )


def test_proposing_a_plan_costs_the_same_queries_for_1_and_12_items(rep, visit, pipeline):
    """plan_propose read each carried item's kind, customer, deal and contact one by one (up to 4 queries an
    item); it copies their ids now, so its queries do not grow with the items."""
    queries = {}
    for n, day in ((1, date(2026, 3, 3)), (12, date(2026, 3, 10))):
        yesterday_with(rep, visit, day, n)
        today = DailyLog.objects.create(rep=rep, date=day)
        with CaptureQueriesContext(connection) as captured:
            proposed = services.plan_propose(log=today)
        queries[n] = len(captured)
        assert len(proposed) == 2 * n
        plan = list(today.plan.order_by("position").select_related("kind", "account", "opportunity", "contact"))
        assert [item.goal for item in plan] == [f"Goal {i}" for i in range(1, n + 1)] + [
            f"Step {i}" for i in range(1, n + 1)
        ]
        assert all(item.kind == visit and item.contact.account_id == item.account_id for item in plan)
        assert all(item.opportunity.account_id == item.account_id for item in plan)
    assert queries[12] == queries[1]  # 7: the last log, the items already proposed, the last position, the
    # unfinished items, the follow-ups due, the deals' next steps due (activity_log.schedule), one INSERT


def test_recording_an_activity_restarts_the_stall_clock_and_the_last_contact(rep, deal, visit):
    moment = timezone.now() - timedelta(hours=1)
    record(rep, deal, visit, when=moment)
    deal.refresh_from_db()
    deal.account.refresh_from_db()
    assert deal.last_activity_at == moment == deal.account.last_contact_at
    record(rep, deal, visit, when=moment - timedelta(days=3))  # an older one does not turn the clock back
    deal.refresh_from_db()
    assert deal.last_activity_at == moment


def test_double_submit_creates_one_activity(rep, deal, visit):
    """QUALITY R9."""
    first = record(rep, deal, visit, idempotency_key="k-123")
    second = record(rep, deal, visit, idempotency_key="k-123")
    assert first.pk == second.pk
    assert Activity.objects.count() == 1


def test_rep_cannot_log_against_a_customer_outside_their_book(rep, cast, visit, pipeline):
    """QUALITY S9."""
    foreign = OpportunityFactory(owner=cast["teammate"])
    with pytest.raises(services.LogError):
        services.activity_record(
            rep=rep, data={"kind": visit, "account": foreign.account, "when": timezone.now(), "outcome": "x"}
        )
    own_account = AccountFactory(owner=rep)
    with pytest.raises(services.LogError):  # a foreign deal under an own customer
        services.activity_record(
            rep=rep,
            data={
                "kind": visit,
                "account": own_account,
                "opportunity": foreign,
                "when": timezone.now(),
                "outcome": "x",
            },
        )
    with pytest.raises(services.LogError):  # a contact of another customer
        services.activity_record(
            rep=rep,
            data={
                "kind": visit,
                "account": own_account,
                "contact": ContactFactory(),
                "when": timezone.now(),
                "outcome": "x",
            },
        )
    assert not Activity.objects.exists()


def test_activity_for_a_past_day_is_marked_back_dated(rep, deal, visit):
    assert record(rep, deal, visit, when=timezone.now() - timedelta(days=2)).is_backdated
    assert not record(rep, deal, visit).is_backdated


def test_activity_in_the_future_is_refused(rep, deal, visit):
    with pytest.raises(services.LogError):
        record(rep, deal, visit, when=timezone.now() + timedelta(hours=2))


def test_activity_can_move_its_opportunity_through_the_funnel_gates(rep, deal, visit):
    proposal = Stage.objects.get(name="Proposal")
    proposal.required_fields = ["expected_close_date"]
    proposal.save()
    with pytest.raises(Exception, match="Expected close date"):
        record(rep, deal, visit, move_to=proposal, move_version=deal.version)
    assert not Activity.objects.exists()  # nothing half-written
    moved = Stage.objects.get(name="Negotiation")
    record(rep, deal, visit, move_to=moved, move_version=deal.version)
    assert Opportunity.objects.get(pk=deal.pk).stage == moved


def test_submit_requires_a_cleared_plan_and_a_summary(rep, deal, visit):
    log = services.daily_log_get(rep=rep, day=services.local_today(rep))
    item = services.plan_item_add(rep=rep, log=log, data={"kind": visit, "account": deal.account})
    with pytest.raises(services.LogError, match="Clear your plan"):
        services.daily_log_submit(log=log, by=rep, summary="Good day")
    with pytest.raises(services.LogError, match="Say why"):
        services.plan_item_clear(item=item, by=rep, done=False, reason="  ")
    services.plan_item_clear(item=item, by=rep, done=False, reason="Moved to Friday")
    with pytest.raises(services.LogError, match="summary"):
        services.daily_log_submit(log=log, by=rep, summary="")
    submitted = services.daily_log_submit(log=log, by=rep, summary="Good day", support_needed="Pricing approval")
    assert submitted.is_submitted and not submitted.is_late


def test_submitted_day_is_locked(rep, deal, visit):
    log = services.daily_log_get(rep=rep, day=services.local_today(rep))
    services.daily_log_submit(log=log, by=rep, summary="Done")
    with pytest.raises(services.LogError):
        services.daily_log_submit(log=log, by=rep, summary="Again")
    with pytest.raises(services.LogError):
        services.plan_item_add(rep=rep, log=log, data={"kind": visit, "account": deal.account})
    with pytest.raises(services.LogError, match="reason"):
        record(rep, deal, visit)
    added = record(rep, deal, visit, amend_reason="Forgot the evening call")
    assert Amendment.objects.get(activity=added).reason == "Forgot the evening call"


def test_correcting_a_submitted_activity_keeps_old_and_new_values(rep, deal, visit):
    activity = record(rep, deal, visit, data={"outcome": "Met the buyer"})
    services.daily_log_submit(log=activity.daily_log, by=rep, summary="Done")
    data = {field: getattr(activity, field) for field in services.ACTIVITY_FIELDS}
    with pytest.raises(services.LogError, match="say why"):
        services.activity_amend(activity=activity, by=rep, data={**data, "outcome": "Met the CFO"}, reason="")
    services.activity_amend(activity=activity, by=rep, data={**data, "outcome": "Met the CFO"}, reason="Wrong person")
    amendment = Amendment.objects.get(activity=activity)
    assert amendment.changes == {"outcome": ["Met the buyer", "Met the CFO"]}
    activity.refresh_from_db()
    assert activity.outcome == "Met the CFO"


def test_late_submission_is_flagged(rep):
    day = datetime(2026, 3, 2).date()
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI), tick=False):
        log = services.daily_log_get(rep=rep, day=day)
    with time_machine.travel(datetime(2026, 3, 3, 1, 59, tzinfo=SHANGHAI), tick=False):
        on_time = services.daily_log_submit(log=log, by=rep, summary="Made it")
    assert not on_time.is_late
    with time_machine.travel(datetime(2026, 3, 3, 10, 0, tzinfo=SHANGHAI), tick=False):
        other = services.daily_log_get(rep=rep, day=datetime(2026, 3, 1).date())
        assert services.daily_log_submit(log=other, by=rep, summary="Late").is_late


def test_only_the_reps_manager_reviews_and_the_rep_reads_the_comments(cast, visit):
    rep, manager = cast["rep"], cast["manager"]
    log = services.daily_log_get(rep=rep, day=services.local_today(rep))
    with pytest.raises(services.LogError):
        services.daily_log_mark_reviewed(log=log, by=manager)  # not submitted yet
    services.daily_log_submit(log=log, by=rep, summary="Done", support_needed="A discount")
    with pytest.raises(services.LogError):
        services.daily_log_comment(log=log, by=cast["other_manager"], body="Hi")
    with pytest.raises(services.LogError):
        services.daily_log_mark_reviewed(log=log, by=rep)
    services.daily_log_comment(log=log, by=manager, body="Approved up to 5%", answers_support=True)
    services.daily_log_mark_reviewed(log=log, by=manager)
    assert services.comments_mark_read(log=log, by=rep) == 1
    log.refresh_from_db()
    assert log.reviewed_by == manager


def test_daily_log_visibility_follows_the_one_rule(cast):
    logs = {name: services.daily_log_get(rep=user, day=services.local_today(user)) for name, user in cast.items()}
    assert set(DailyLog.objects.visible_to(cast["rep"])) == {logs["rep"]}
    assert set(DailyLog.objects.visible_to(cast["manager"])) == {logs["rep"], logs["teammate"], logs["manager"]}
    assert DailyLog.objects.visible_to(cast["admin"]).count() == len(cast)
    assert not PlanItem.objects.exclude(status=PlanItemStatus.PLANNED).exists()


def test_a_deals_next_step_due_today_is_in_the_days_plan_once(cast, visit, pipeline):
    """A dated next step is one scheduled activity, whether written on a visit or on the deal (issue 18)."""
    rep = cast["rep"]
    day = datetime(2026, 3, 3).date()
    due = OpportunityFactory(owner=rep, name="Due", next_step="Demo the crane", next_step_date=day)
    OpportunityFactory(owner=rep, name="Later", next_step="Later", next_step_date=day + timedelta(days=1))
    OpportunityFactory(owner=cast["teammate"], name="Theirs", next_step="Theirs", next_step_date=day)
    won = OpportunityFactory(owner=rep, name="Won", next_step="Closed", next_step_date=day)
    Opportunity.objects.filter(pk=won.pk).update(status="won")
    followed = OpportunityFactory(owner=rep, name="Followed", next_step="On the deal", next_step_date=day)
    yesterday = DailyLog.objects.create(rep=rep, date=day - timedelta(days=1))
    Activity.objects.create(daily_log=yesterday, kind=visit, account=followed.account, opportunity=followed,
                            when=timezone.now(), outcome="ok", next_step="From the visit", next_date=day)  # fmt: skip
    today = DailyLog.objects.create(rep=rep, date=day)
    services.plan_propose(log=today)
    plan = list(today.plan.order_by("position"))
    assert [(item.opportunity_id, item.goal) for item in plan] == [
        (followed.pk, "From the visit"),
        (due.pk, "Demo the crane"),
    ]
    assert plan[1].account_id == due.account_id and plan[1].kind == ActivityKind.objects.order_by("order").first()
    assert services.plan_propose(log=today) == []  # opening the day again proposes nothing twice
