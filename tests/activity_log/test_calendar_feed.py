"""The private calendar feed (activity_log.calendar): valid iCalendar (parsed with the icalendar package), the
person's own scheduled activities only, names only when chosen, the secret kept as a hash, and an address that
stops working when replaced or stopped."""

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from activity_log import services as log_services
from activity_log.calendar import services
from activity_log.calendar.ics import Event, document, fold
from activity_log.models import ActivityKind, CalendarFeed
from funnel.models import StageKind
from reps.models import AuditEvent
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def feed_of(client, token: str):
    return client.get(reverse("log:calendar_feed", args=[token]))


def parsed(response) -> icalendar.Calendar:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def summaries(calendar: icalendar.Calendar) -> dict[str, date]:
    return {str(event["SUMMARY"]): event.decoded("DTSTART") for event in calendar.walk("VEVENT")}


@pytest.fixture
def soon() -> date:
    return timezone.localdate() + timedelta(days=3)


def test_the_feed_is_the_persons_own_dated_next_steps(cast, pipeline, client, soon):
    rep, teammate = cast["rep"], cast["teammate"]
    port = AccountFactory(owner=rep, name="宁波港集团")
    OpportunityFactory(owner=rep, account=port, name="Crane refit", next_step="报价, 第二版; 含税", next_step_date=soon)
    OpportunityFactory(owner=rep, account=port, name="Undated", next_step="No date")
    OpportunityFactory(owner=rep, account=port, name="Far", next_step="Too far", next_step_date=soon + timedelta(400))
    closed = OpportunityFactory(owner=rep, account=port, name="Won", next_step="Done already", next_step_date=soon)
    closed.status = StageKind.WON
    closed.save()
    OpportunityFactory(owner=teammate, name="Theirs", next_step="Teammate's step", next_step_date=soon)
    visit = ActivityKind.objects.get_or_create(name="Visit")[0]
    data = {"kind": visit, "account": port, "when": timezone.now(), "outcome": "Met the buyer",
            "next_step": "Send the catalogue", "next_date": soon + timedelta(1)}  # fmt: skip
    log_services.activity_record(rep=rep, data=data)
    token = services.calendar_feed_issue(user=rep, include_names=False)
    calendar = parsed(feed_of(client, token))
    assert summaries(calendar) == {"报价, 第二版; 含税": soon, "Send the catalogue": soon + timedelta(1)}
    assert "宁波港集团" not in feed_of(client, token).content.decode()  # names only when chosen
    manager_token = services.calendar_feed_issue(user=cast["manager"], include_names=True)
    assert summaries(parsed(feed_of(client, manager_token))) == {}  # their own steps, not their team's


def test_names_are_included_when_chosen_and_events_link_to_the_record(rep, pipeline, client, soon):
    deal = OpportunityFactory(owner=rep, account__name="宁波港集团", name="Crane refit", next_step="Call",
                              next_step_date=soon)  # fmt: skip
    token = services.calendar_feed_issue(user=rep, include_names=True)
    (event,) = parsed(feed_of(client, token)).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Call · Crane refit · 宁波港集团"
    assert str(event["URL"]) == f"http://testserver{reverse('opportunities:detail', args=[deal.pk])}"
    assert str(event["UID"]) == f"opportunity-{deal.pk}@loudou"
    assert event.decoded("DTEND") == soon + timedelta(days=1)


def test_lines_are_folded_at_75_octets_and_end_in_crlf():
    summary = "与宁波港集团采购部确认第二期码头起重设备的技术规格和交货时间，" * 3
    body = document([Event(uid="x@loudou", day=date(2026, 12, 3), summary=summary)], name="日程", now=_noon())
    assert body.endswith("\r\n") and "\n" not in body.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["SUMMARY"]) == summary
    assert fold("a" * 75) == "a" * 75 and fold("a" * 76) == "a" * 75 + "\r\n a"


def _noon() -> datetime:
    return datetime(2026, 12, 3, 4, tzinfo=UTC)


def test_the_secret_is_kept_as_a_hash_and_a_new_address_ends_the_old(rep, client):
    first = services.calendar_feed_issue(user=rep, include_names=False)
    assert not CalendarFeed.objects.filter(token_hash__contains=first).exists()
    assert feed_of(client, first).status_code == 200
    second = services.calendar_feed_issue(user=rep, include_names=False)
    assert feed_of(client, first).status_code == 404
    assert feed_of(client, second).status_code == 200
    assert services.calendar_feed_revoke(user=rep) is True
    assert feed_of(client, second).status_code == 404
    assert services.calendar_feed_revoke(user=rep) is False
    assert AuditEvent.objects.filter(actor=rep, detail__calendar_feed__in=["made", "replaced", "stopped"]).count() == 3


def test_a_deactivated_persons_address_answers_nothing(rep, client):
    token = services.calendar_feed_issue(user=rep, include_names=False)
    rep.is_active = False
    rep.save()
    assert feed_of(client, token).status_code == 404
    assert feed_of(client, "not-a-secret").status_code == 404


def test_the_settings_page_shows_a_new_address_once_and_stops_it(rep, client_for):
    client = client_for(rep)
    page = reverse("log:calendar")
    assert "No calendar address is active." in client.get(page).content.decode()
    made = client.post(page, {"action": "make", "include_names": "on"}, follow=True).content.decode()
    assert 'data-testid="calendar-address"' in made
    address = made.split('readonly value="', 1)[1].split('"', 1)[0]
    assert address.startswith("http://testserver/log/calendar/") and address.endswith(".ics")
    assert CalendarFeed.objects.get(user=rep).include_names is True
    assert 'data-testid="calendar-address"' not in client.get(page).content.decode()  # shown once
    assert client.get(address.removeprefix("http://testserver")).status_code == 200
    client.post(page, {"action": "stop"})
    assert not CalendarFeed.objects.exists()
    assert client.get(address.removeprefix("http://testserver")).status_code == 404
