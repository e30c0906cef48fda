"""The morning e-mail: each person's scheduled activities due today (those with a time of day first, by time)
and the overdue ones, in their language and time zone, at the hour they chose (8:00 unless they changed it), on
the organisation's working days, only when something is due. A run claims (person, local day) before sending, so
runs every few minutes, two workers or a rerun never send it twice; a failed send is not retried that day (at
most once, never twice)."""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from funnel.models import HealthSettings, Opportunity, StageKind
from reps.models import User

from .models import Activity, ReminderSent, ReminderSetting

DEFAULT_HOUR = 8
OVERDUE_DAYS = 60  # older steps are the stalled-deal alerts' business, not a morning list's


@dataclass
class Item:
    step: str
    about: str
    day: date
    url: str
    at: time | None = None  # its time of day, if it has one


def _deal_and_customer(deal) -> str:
    """The deal and its customer, the customer once: a deal is often named after it ("华信钢铁集团 · 数据中心扩容")."""
    return deal.name if deal.account.name in deal.name else f"{deal.name} · {deal.account.name}"


def due_items(user: User, today: date) -> tuple[list[Item], list[Item]]:
    """(due today, overdue): the person's open deals' next steps and their visits' follow-ups about no deal.
    Two queries."""
    site = settings.SITE_URL.rstrip("/")
    deals = (
        Opportunity.objects.visible_to(user)
        .filter(owner=user, status=StageKind.OPEN)
        .filter(next_step_date__lte=today, next_step_date__gte=today - timedelta(days=OVERDUE_DAYS))
        .select_related("account")
        .order_by("next_step_date", "pk")
    )
    items = [
        Item(deal.next_step, _deal_and_customer(deal), deal.next_step_date,
             site + reverse("opportunities:detail", args=[deal.pk]), deal.next_step_time)
        for deal in deals
    ]  # fmt: skip
    follow_ups = (
        Activity.objects.visible_to(user)
        .filter(daily_log__rep=user, opportunity__isnull=True, next_date=today)
        .select_related("account")
        .order_by("pk")
    )
    items += [
        Item(activity.next_step, activity.account.name, today,
             site + reverse("customers:detail", args=[activity.account_id]), activity.next_time)
        for activity in follow_ups
    ]  # fmt: skip
    due = sorted((item for item in items if item.day == today), key=lambda item: (item.at is None, item.at or time.min))
    return due, [item for item in items if item.day < today]


def reminder_message(user: User, today: date, due: list[Item], overdue: list[Item]) -> EmailMultiAlternatives:
    with translation.override(user.language), timezone.override(zoneinfo.ZoneInfo(user.time_zone)):
        count = len(due) + len(overdue)
        subject = ngettext(
            "Loudou: %(count)d scheduled activity for today", "Loudou: %(count)d scheduled activities for today", count
        ) % {"count": count}
        context = {"user": user, "today": today, "due": due, "overdue": overdue,
                   "day_url": settings.SITE_URL.rstrip("/") + reverse("log:today")}  # fmt: skip
        text = render_to_string("activity_log/email/reminder.txt", context)
        html = render_to_string("activity_log/email/reminder.html", context)
    message = EmailMultiAlternatives(subject, text, to=[user.email])
    message.attach_alternative(html, "text/html")
    return message


def _claim(user: User, day: date) -> ReminderSent | None:
    try:
        with transaction.atomic():
            return ReminderSent.objects.create(user=user, day=day)
    except IntegrityError:  # claimed by an earlier run, or by another worker a moment ago
        return None


def send_morning_reminders(now: datetime | None = None) -> int:
    """One pass over the active people with an e-mail address; returns how many e-mails were sent."""
    now = now or timezone.now()
    working_days = frozenset(HealthSettings.current().working_days)
    choices = {row.user_id: row for row in ReminderSetting.objects.all()}
    around = (now.date() - timedelta(days=1), now.date() + timedelta(days=1))  # every time zone's today
    claimed = set(ReminderSent.objects.filter(day__range=around).values_list("user_id", "day"))
    sent = 0
    for user in User.objects.active().exclude(email="").order_by("pk"):
        setting = choices.get(user.pk)
        if setting is not None and not setting.enabled:
            continue
        local = now.astimezone(zoneinfo.ZoneInfo(user.time_zone))
        if local.weekday() not in working_days or local.hour < (setting.hour if setting else DEFAULT_HOUR):
            continue
        if (user.pk, local.date()) in claimed or (claim := _claim(user, local.date())) is None:
            continue
        due, overdue = due_items(user, local.date())
        if due or overdue:
            claim.items = len(due) + len(overdue)
            claim.save(update_fields=["items"])
            reminder_message(user, local.date(), due, overdue).send()
            sent += 1
    return sent
