"""A scheduled activity's time of day (issue 18): typed on the visit form, the deal form and the reschedule form,
carried from a visit to its deal, shown and sorted on the day's plan and the home page, a timed event in the
calendar feed (its start in UTC, DST included), listed in the morning e-mail; and the reason of a reschedule
beside the next step on the deal's page."""

from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from activity_log import services
from activity_log.calendar import services as calendar_services
from activity_log.models import Activity, ActivityKind, PlanItem
from activity_log.reminders import send_morning_reminders
from funnel.models import Opportunity
from funnel.opportunities import services as funnel_services
from reps.models import AuditEvent
from tests.factories import OpportunityFactory
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)
NOON_TUESDAY = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def deal(rep, pipeline):
    return OpportunityFactory(owner=rep, name="Crane", account__name="宁波港集团", next_step="Old step",
                              next_step_date=date(2026, 2, 20), next_step_time=time(8, 0))  # fmt: skip


def visit(deal, **extra) -> dict:
    return {"kind": ActivityKind.objects.get(name="Visit").pk, "account": deal.account_id, "opportunity": deal.pk,
            "when": "2026-03-03T10:00", "outcome": "Walked the site", "idempotency_key": "v1", **extra}  # fmt: skip


# --- typed on the forms, carried to the deal -------------------------------------------------------------


def test_a_visits_next_step_goes_to_its_deal_with_its_day_and_time(client_for, rep, deal):
    with time_machine.travel(NOON_TUESDAY, tick=False):
        response = client_for(rep).post("/log/activity/new/", visit(deal, next_step="Demo", next_date="2026-03-05",
                                                                     next_time="14:30"))  # fmt: skip
    assert response.status_code == 302
    assert Activity.objects.get().next_time == time(14, 30)
    deal.refresh_from_db()
    assert (deal.next_step, deal.next_step_date, deal.next_step_time) == ("Demo", date(2026, 3, 5), time(14, 30))


def test_a_next_step_without_a_time_takes_the_deals_old_time_away(client_for, rep, deal):
    with time_machine.travel(NOON_TUESDAY, tick=False):
        client_for(rep).post("/log/activity/new/", visit(deal, next_step="Call", next_date="2026-03-05"))
    deal.refresh_from_db()
    assert (deal.next_step_date, deal.next_step_time) == (date(2026, 3, 5), None)


def test_a_time_without_a_date_is_refused_on_the_visit_form(client_for, rep, deal):
    with time_machine.travel(NOON_TUESDAY, tick=False):
        response = client_for(rep).post("/log/activity/new/", visit(deal, next_step="Demo", next_time="14:30"))
    assert response.status_code == 422 and "Give the next step&#x27;s date too." in response.content.decode()
    assert not Activity.objects.exists()


def test_the_deal_form_keeps_a_time_and_wants_its_date(client_for, rep, deal):
    client = client_for(rep)
    url = reverse("opportunities:edit", args=[deal.pk])
    data = form_data(client.get(url))
    assert data["next_step_time"] == "08:00"  # shown as typed, to the minute
    client.post(url, {**data, "next_step_time": "16:45"})
    assert Opportunity.objects.get(pk=deal.pk).next_step_time == time(16, 45)
    data = form_data(client.get(url))
    response = client.post(url, {**data, "next_step_date": "", "next_step_time": "09:00"})
    assert "Give the next step&#x27;s date too." in response.content.decode()
    assert Opportunity.objects.get(pk=deal.pk).next_step_date == date(2026, 2, 20)


def test_a_correction_of_the_time_reads_as_a_clock(rep, deal):
    with time_machine.travel(NOON_TUESDAY, tick=False):
        data = {"kind": ActivityKind.objects.get(name="Visit"), "account": deal.account, "when": NOON_TUESDAY,
                "outcome": "Met", "next_step": "Demo", "next_date": date(2026, 3, 5),
                "next_time": time(9, 0)}  # fmt: skip
        activity = services.activity_record(rep=rep, data=data)
        services.daily_log_submit(log=activity.daily_log, by=rep, summary="Done")
        services.activity_amend(activity=activity, by=rep, data={**data, "next_time": time(14, 30)}, reason="Moved")
    (line,) = activity.daily_log.amendments.get().change_lines
    assert (line.old, line.new) == ("09:00", "14:30")


# --- rescheduled, and why ---------------------------------------------------------------------------------


def reschedule(client, deal, **data):
    payload = {"next_step_date": "2026-03-10", "reason": "Customer travelling", "version": deal.version} | data
    return client.post(reverse("opportunities:reschedule", args=[deal.pk]), payload, follow=True)


def test_a_reschedule_moves_the_day_and_the_time_and_keeps_both_in_the_audit(client_for, rep, deal):
    response = reschedule(client_for(rep), deal, next_step_time="15:00")
    assert "is moved to 03/10/2026 15:00" in response.content.decode()
    deal.refresh_from_db()
    assert (deal.next_step_date, deal.next_step_time, deal.version) == (date(2026, 3, 10), time(15, 0), 2)
    assert AuditEvent.objects.get(object_id=str(deal.pk)).detail == {
        "next_step_date": ["2026-02-20", "2026-03-10"], "next_step_time": ["08:00", "15:00"],
        "reason": "Customer travelling"}  # fmt: skip
    again = reschedule(client_for(rep), deal, next_step_time="15:00")
    assert "Nothing to save" in again.content.decode() and AuditEvent.objects.count() == 1


def test_a_reschedule_without_a_time_makes_it_an_all_day_step(client_for, rep, deal):
    reschedule(client_for(rep), deal)
    assert Opportunity.objects.get(pk=deal.pk).next_step_time is None


def test_the_deals_page_says_why_the_step_was_moved(client_for, rep, deal):
    client = client_for(rep)
    page = client.get(reverse("opportunities:detail", args=[deal.pk])).content.decode()
    assert 'data-testid="rescheduled"' not in page and "Old step · 02/20/2026 08:00" in page
    reschedule(client, deal)
    page = client.get(reverse("opportunities:detail", args=[deal.pk])).content.decode()
    assert "Moved from 02/20/2026 to 03/10/2026: Customer travelling" in page


def test_a_managers_reschedule_is_shown_too_and_a_later_change_of_day_ends_the_note(client_for, rep, manager, deal):
    reschedule(client_for(manager), deal)
    page = client_for(rep).get(reverse("opportunities:detail", args=[deal.pk])).content.decode()
    assert "Customer travelling" in page
    deal.refresh_from_db()
    funnel_services.opportunity_update(opportunity=deal, by=rep, version=deal.version,
                                       data={"next_step_date": date(2026, 3, 12)})  # fmt: skip
    page = client_for(rep).get(reverse("opportunities:detail", args=[deal.pk])).content.decode()
    assert "Customer travelling" not in page


@pytest.mark.parametrize("moved", [False, True])
def test_the_note_costs_one_query_whether_moved_or_not(client_for, rep, deal, moved, django_assert_num_queries):
    client = client_for(rep)
    if moved:
        reschedule(client, deal)
    client.get(reverse("opportunities:detail", args=[deal.pk]))
    with django_assert_num_queries(12):  # the deal page's 11 and the latest move of its next step
        client.get(reverse("opportunities:detail", args=[deal.pk]))


# --- the plan and the home page, by time -----------------------------------------------------------------


def test_the_plan_shows_times_and_puts_timed_items_first_by_time(client_for, rep, pipeline):
    steps = [("Untimed", None), ("Afternoon", time(15, 0)), ("Morning", time(9, 30))]
    for name, at in steps:
        OpportunityFactory(owner=rep, name=name, next_step=name, next_step_date=TUESDAY, next_step_time=at)
    with time_machine.travel(NOON_TUESDAY - timedelta(days=1), tick=False):
        yesterday = {"kind": ActivityKind.objects.get(name="Visit"), "account": OpportunityFactory(owner=rep).account,
                     "when": NOON_TUESDAY - timedelta(days=1), "outcome": "Met", "next_step": "Follow-up",
                     "next_date": TUESDAY, "next_time": time(11, 0)}  # fmt: skip
        services.activity_record(rep=rep, data=yesterday)
    with time_machine.travel(NOON_TUESDAY, tick=False):
        page = client_for(rep).get(reverse("log:today")).content.decode()
    items = PlanItem.objects.filter(daily_log__date=TUESDAY)
    goals = sorted(items, key=lambda item: page.index(f'data-plan-item="{item.pk}"'))
    assert [item.goal for item in goals] == ["Morning", "Follow-up", "Afternoon", "Untimed"]
    assert page.count('data-testid="plan-time"') == 3 and ">09:30</time>" in page and ">11:00</time>" in page


def test_home_lists_overdue_steps_first_then_todays_by_time(client_for, rep, pipeline):
    for name, day, at in [("Today untimed", TUESDAY, None), ("Today late", TUESDAY, time(16, 0)),
                          ("Overdue", TUESDAY - timedelta(days=2), None), ("Today early", TUESDAY, time(8, 15)),
                          ("Tomorrow", TUESDAY + timedelta(days=1), time(7, 0))]:  # fmt: skip
        OpportunityFactory(owner=rep, name=name, next_step=name, next_step_date=day, next_step_time=at)
    with time_machine.travel(NOON_TUESDAY, tick=False):
        response = client_for(rep).get(reverse("funnel:home"))
    rows = [deal.name for deal in response.context["next_steps"]["rows"]]
    assert rows == ["Overdue", "Today early", "Today late", "Today untimed", "Tomorrow"]
    assert '<span data-testid="step-time">08:15</span>' in response.content.decode()


# --- the calendar feed and the morning e-mail --------------------------------------------------------------


def feed_events(client, user) -> dict[str, tuple]:
    token = calendar_services.calendar_feed_issue(user=user, include_names=False)
    body = client.get(reverse("log:calendar_feed", args=[token])).content
    return {str(e["SUMMARY"]): (e.decoded("DTSTART"), e.decoded("DTEND")) for e in icalendar.Calendar.from_ical(
        body).walk("VEVENT")}  # fmt: skip


def test_a_timed_step_is_a_timed_event_in_utc_and_an_untimed_one_lasts_all_day(client, rep, pipeline):
    OpportunityFactory(owner=rep, next_step="Demo", next_step_date=TUESDAY, next_step_time=time(14, 30))
    OpportunityFactory(owner=rep, next_step="Call", next_step_date=TUESDAY)
    with time_machine.travel(NOON_TUESDAY, tick=False):
        events = feed_events(client, rep)
    assert events["Demo"] == (datetime(2026, 3, 3, 6, 30, tzinfo=UTC), datetime(2026, 3, 3, 7, 30, tzinfo=UTC))
    assert events["Call"] == (TUESDAY, TUESDAY + timedelta(days=1))


def test_a_timed_step_keeps_its_wall_clock_across_a_dst_change(client, rep, pipeline):
    rep.time_zone = "America/New_York"
    rep.save()
    for day in (date(2026, 3, 7), date(2026, 3, 9)):  # the clocks go forward on Sunday 8 March
        OpportunityFactory(owner=rep, next_step=f"Visit {day.day}", next_step_date=day, next_step_time=time(9, 0))
    with time_machine.travel(NOON_TUESDAY, tick=False):
        events = feed_events(client, rep)
    assert events["Visit 7"][0] == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)  # EST, UTC-5
    assert events["Visit 9"][0] == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # EDT, UTC-4


def test_the_morning_e_mail_lists_times_with_timed_steps_first(rep, pipeline):
    rep.email = "r1@example.com"
    rep.save()
    OpportunityFactory(owner=rep, name="Belts", next_step="Call back", next_step_date=TUESDAY)
    OpportunityFactory(owner=rep, name="Crane", next_step="Demo", next_step_date=TUESDAY, next_step_time=time(14, 30))
    OpportunityFactory(owner=rep, name="Old", next_step="Quote", next_step_date=date(2026, 3, 1),
                       next_step_time=time(9, 0))  # fmt: skip
    send_morning_reminders(datetime(2026, 3, 3, 0, 30, tzinfo=UTC))
    (message,) = mail.outbox
    body = message.body
    assert body.index("- 14:30 · Demo · Crane") < body.index("- Call back · Belts")
    assert "- 03/01/2026 09:00 · Quote · Old" in body
    assert "14:30 · " in message.alternatives[0][0]
