"""The morning e-mail (activity_log.reminders): today's scheduled activities and the overdue ones, chosen in
the person's own time zone around midnight, at their hour, on working days only, only when something is due,
once per day however many runs, in their language."""

from datetime import UTC, date, datetime

import pytest
from django.core import mail
from django.urls import reverse

from activity_log.models import ReminderSent, ReminderSetting
from activity_log.reminders import due_items, send_morning_reminders
from config.celery import app
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def steps(cast, pipeline):
    """R1 (Shanghai) has a step due on Tuesday 3 March, one overdue, one later; R2's is not theirs to see."""
    rep = cast["rep"]
    rep.time_zone, rep.email = "Asia/Shanghai", "r1@example.com"
    rep.save()
    OpportunityFactory(owner=rep, name="Crane", account__name="宁波港集团", next_step="Demo", next_step_date=TUESDAY)
    OpportunityFactory(owner=rep, name="Belts", next_step="Call back", next_step_date=date(2026, 3, 1))
    OpportunityFactory(owner=rep, name="Later", next_step="Not yet", next_step_date=date(2026, 3, 4))
    OpportunityFactory(owner=cast["teammate"], name="Theirs", next_step="Theirs", next_step_date=TUESDAY)
    return rep


def at(*moment) -> datetime:
    return datetime(*moment, tzinfo=UTC)


def to_rep() -> list:
    """The e-mails sent to R1 (R2, whose own step is due too, gets theirs)."""
    return [message for message in mail.outbox if message.to == ["r1@example.com"]]


def test_at_the_hour_the_rep_gets_todays_steps_and_the_overdue_ones(steps):
    assert send_morning_reminders(at(2026, 3, 3, 0, 30)) == 2  # 08:30 on Tuesday in Shanghai, Monday in UTC
    (message,) = to_rep()
    assert "1 scheduled activity" not in message.subject and "2 scheduled activities for today" in message.subject
    body = message.body
    assert "Demo · Crane · 宁波港集团" in body and "Call back · Belts" in body
    assert body.index("Scheduled for today:") < body.index("Demo") < body.index("Overdue:") < body.index("Call back")
    assert "Not yet" not in body and "Theirs" not in body
    assert "<a href=" in message.alternatives[0][0]


@pytest.mark.parametrize(
    ("moment", "sent"),
    [(at(2026, 3, 2, 23, 59), 0),  # 07:59 in Shanghai: before the hour
     (at(2026, 3, 3, 0, 0), 1),  # 08:00 in Shanghai
     (at(2026, 3, 2, 16, 0), 0)],  # 00:00 on Tuesday in Shanghai
)  # fmt: skip
def test_the_hour_is_the_reps_own(steps, moment, sent):
    send_morning_reminders(moment)
    assert len(to_rep()) == sent


def test_two_runs_send_it_once_and_nothing_due_sends_nothing(steps, cast):
    cast["manager"].email = "m1@example.com"
    cast["manager"].time_zone = "Asia/Shanghai"
    cast["manager"].save()  # nothing scheduled: no e-mail
    assert send_morning_reminders(at(2026, 3, 3, 1, 0)) == 2  # R1 and R2
    assert send_morning_reminders(at(2026, 3, 3, 1, 10)) == 0
    assert len(to_rep()) == 1
    assert not [m for m in mail.outbox if m.to == ["m1@example.com"]]
    assert ReminderSent.objects.get(user=steps).items == 2


def test_only_on_working_days(steps):
    assert send_morning_reminders(at(2026, 3, 7, 1, 0)) == 0  # Saturday in Shanghai


def test_a_chosen_hour_and_a_switched_off_e_mail(steps):
    ReminderSetting.objects.create(user=steps, hour=10)
    send_morning_reminders(at(2026, 3, 3, 1, 0))  # 09:00 there
    assert to_rep() == []
    send_morning_reminders(at(2026, 3, 3, 2, 0))
    assert len(to_rep()) == 1
    ReminderSetting.objects.filter(user=steps).update(enabled=False)
    send_morning_reminders(at(2026, 3, 4, 2, 0))
    assert len(to_rep()) == 1


def test_the_e_mail_is_in_the_reps_language(steps):
    steps.language = "zh-hans"
    steps.save()
    send_morning_reminders(at(2026, 3, 3, 1, 0))
    (message,) = to_rep()
    assert message.body.startswith(f"{steps}，您好：")


def test_the_beat_runs_it(steps):
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "activity_log.tasks.send_morning_reminders_task" in tasks


def test_the_settings_are_on_the_calendar_page(steps, client_for):
    client = client_for(steps)
    assert 'action="/log/calendar/reminders/"' in client.get(reverse("log:calendar")).content.decode()
    client.post(reverse("log:reminders"), {"enabled": "on", "hour": "9"})
    assert ReminderSetting.objects.get(user=steps).hour == 9
    again = client.post(reverse("log:reminders"), {"enabled": "on", "hour": "9"}, follow=True).content.decode()
    assert "Nothing to save" in again
    client.post(reverse("log:reminders"), {"enabled": "on", "hour": "3"})  # not offered
    assert ReminderSetting.objects.get(user=steps).hour == 9


def test_a_deal_named_after_its_customer_names_the_customer_once(rep, pipeline):
    account = AccountFactory(owner=rep, name="华信钢铁集团")
    OpportunityFactory(owner=rep, account=account, name="华信钢铁集团 · 数据中心扩容", next_step_date=date(2026, 12, 3))
    OpportunityFactory(owner=rep, account=account, name="机房改造", next_step_date=date(2026, 12, 3))
    due, _overdue = due_items(rep, date(2026, 12, 3))
    assert sorted(item.about for item in due) == ["华信钢铁集团 · 数据中心扩容", "机房改造 · 华信钢铁集团"]
