"""The navigation's alert badge: managers see the count of alerts needing attention, kept a minute."""

import pytest
import time_machine
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from funnel.health.badge import BADGE_CAP, SESSION_KEY
from funnel.health.context_processors import alerts
from funnel.models import Alert

pytestmark = pytest.mark.django_db


def open_alert(rep, key="stalled:test"):
    now = timezone.now()
    return Alert.objects.create(kind="stalled", key=key, rep=rep, first_seen=now, last_seen=now)


def badge(response) -> str:
    return response.content.decode().split('data-testid="nav-alerts"')[1].split("</a>")[0]


def test_manager_sees_the_count_and_it_is_refreshed_after_a_minute(client_for, cast):
    open_alert(cast["rep"])
    client = client_for(cast["manager"])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert ">1<" in badge(client.get("/"))
    open_alert(cast["teammate"], key="stalled:other")
    with time_machine.travel(start, tick=False):
        assert ">1<" in badge(client.get("/"))  # kept for a minute
    with time_machine.travel(start.timestamp() + 61, tick=False):
        assert ">2<" in badge(client.get("/"))


def test_other_teams_alerts_are_not_counted(client_for, cast):
    open_alert(cast["other_rep"])
    assert "badge" not in badge(client_for(cast["manager"]).get("/"))


def test_reps_count_only_the_alerts_about_their_own_deals(client_for, cast):
    open_alert(cast["rep"])
    open_alert(cast["teammate"], key="stalled:teammate")
    assert ">1<" in badge(client_for(cast["rep"]).get(reverse("funnel:home")))


def test_the_count_stops_at_the_cap(client_for, cast, monkeypatch):
    monkeypatch.setattr("funnel.health.badge.BADGE_CAP", 2)
    for n in range(3):
        open_alert(cast["rep"], key=f"stalled:{n}")
    assert ">2+<" in badge(client_for(cast["manager"]).get("/"))


def test_the_context_processor_reads_and_writes_nothing():
    """The badge's count and its session copy belong to funnel.health.badge, attached by the middleware; the
    context processor only hands the result on (a request without the middleware has no badge, and no session
    is touched)."""
    request = RequestFactory().get("/")
    assert alerts(request) == {"alerts_needing_attention": 0, "alerts_badge_cap": BADGE_CAP}
    assert not hasattr(request, "session")


def test_a_response_without_the_navigation_neither_counts_nor_keeps_a_count(client_for, cast):
    open_alert(cast["rep"])
    client = client_for(cast["manager"])
    assert client.get(reverse("healthz")).status_code == 200
    assert SESSION_KEY not in client.session
    client.get("/")
    assert client.session[SESSION_KEY][0] == 1
