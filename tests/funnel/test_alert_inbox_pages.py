"""The alerts inbox pages by keyset (newest first, then by id), so a deep page costs what the first does."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.health import views as alert_views
from funnel.models import Alert
from funnel.opportunities.filters import cursor_for

from .test_alerts import NOW, stalled, stalled_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def thirty(rep, pipeline):
    """30 open alerts about R1's deals, three to a first_seen minute, so ties are broken by id."""
    return [
        stalled_alert(stalled(rep, name=f"Deal {n:02}"), first_seen=NOW - timedelta(minutes=n // 3)) for n in range(30)
    ]


def shown(response) -> list[str]:
    return re.findall(r"Deal \d\d", response.content.decode())


def next_url(response) -> str | None:
    found = re.search(r'href="\?([^"]*after=[^"]+)" data-testid="next-page"', response.content.decode())
    return "?" + found.group(1).replace("&amp;", "&") if found else None


def newest_first(alerts: list[Alert]) -> list[str]:
    ordered = sorted(alerts, key=lambda alert: (alert.first_seen, alert.pk), reverse=True)
    return [alert.opportunity.name for alert in ordered]


def test_two_pages_hold_every_alert_once_newest_first(thirty, manager, client_for):
    client, url = client_for(manager), reverse("health:alert_list")
    first = client.get(url)
    assert shown(first) == newest_first(thirty)[: alert_views.PAGE_SIZE]
    assert "30 alerts" in first.content.decode()
    assert "First page" not in first.content.decode()

    second = client.get(url + next_url(first))
    assert shown(second) == newest_first(thirty)[alert_views.PAGE_SIZE :]
    assert next_url(second) is None
    assert "First page" in second.content.decode()


def test_an_alert_arriving_between_pages_does_not_shift_the_next_page(thirty, rep, manager, client_for):
    client, url = client_for(manager), reverse("health:alert_list")
    first = client.get(url)
    stalled_alert(stalled(rep, name="Deal 99"), first_seen=timezone.now())
    second = client.get(url + next_url(first))
    assert shown(second) == newest_first(thirty)[alert_views.PAGE_SIZE :]


def test_the_next_page_keeps_the_filters(thirty, rep, teammate, manager, client_for):
    stalled_alert(stalled(teammate, name="Deal 77"))
    client, url = client_for(manager), reverse("health:alert_list")
    first = client.get(url, {"rep": rep.pk})
    assert f"rep={rep.pk}" in next_url(first)
    second = client.get(url + next_url(first))
    assert "Deal 77" not in shown(first) + shown(second)
    assert len(shown(first) + shown(second)) == 30


def test_resolved_alerts_page_by_when_they_were_resolved(pipeline, rep, manager, client_for, monkeypatch):
    monkeypatch.setattr(alert_views, "PAGE_SIZE", 2)
    alerts = [stalled_alert(stalled(rep, name=f"Deal {n:02}")) for n in range(3)]
    for minutes, alert in zip((5, 1, 3), alerts, strict=True):
        alert.resolved_at = NOW - timedelta(minutes=minutes)
        alert.save()
    client, url = client_for(manager), reverse("health:alert_list")
    first = client.get(url, {"state": "resolved"})
    assert shown(first) == ["Deal 01", "Deal 02"]
    assert shown(client.get(url + next_url(first))) == ["Deal 00"]


@pytest.mark.parametrize("cursor", ["not-base64!", "bm90IGpzb24=", "WyJub3QgYSBkYXRlIiwgMV0=", "WzEsIDIsIDNd"])
def test_a_tampered_cursor_shows_the_first_page(cursor, thirty, manager, client_for):
    response = client_for(manager).get(reverse("health:alert_list"), {"after": cursor})
    assert response.status_code == 200
    assert shown(response) == newest_first(thirty)[: alert_views.PAGE_SIZE]


def test_past_the_last_page_says_so_and_links_back(pipeline, rep, manager, client_for):
    alert = stalled_alert(stalled(rep, name="Deal 01"))
    client, url = client_for(manager), reverse("health:alert_list")
    response = client.get(url, {"after": cursor_for(alert, alert_views.NEWEST_FIRST)})
    assert shown(response) == []
    assert "No more alerts." in response.content.decode()


def test_the_count_stops_at_the_cap(thirty, manager, client_for, monkeypatch):
    monkeypatch.setattr(alert_views, "COUNT_CAP", 10)
    response = client_for(manager).get(reverse("health:alert_list"))
    assert "Over 10 alerts" in response.content.decode()
    assert len(shown(response)) == alert_views.PAGE_SIZE
