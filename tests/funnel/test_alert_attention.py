"""An alert "needs attention" by one rule: AlertQuerySet.needing_attention for the badge's count and the inbox's
filter, Alert.needs_attention / is_snoozed for one alert on the page (the acknowledge and snooze form, the
"snoozed until" line). The template reads the model's answer; it no longer compares dates itself."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from funnel.models import Alert, AlertKind

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
STATES = ("open", "acknowledged", "resolved")


def alert(rep, name: str, **fields) -> Alert:
    return Alert.objects.create(kind=AlertKind.EMPTY_CUP, key=f"empty_cup:{name}", rep=rep, **fields)


@pytest.fixture
def alerts(rep, manager):
    """One alert in each state at NOW."""
    return {
        "open": alert(rep, "open"),
        "snoozed": alert(rep, "snoozed", snoozed_until=NOW + timedelta(days=1), acknowledged_by=manager),
        "snooze over": alert(rep, "snooze-over", snoozed_until=NOW - timedelta(minutes=1), acknowledged_by=manager),
        "acknowledged": alert(rep, "acknowledged", acknowledged_at=NOW - timedelta(hours=1), acknowledged_by=manager),
        "resolved": alert(rep, "resolved", resolved_at=NOW - timedelta(hours=1)),
        "resolved while snoozed": alert(
            rep, "resolved-snoozed", resolved_at=NOW, snoozed_until=NOW + timedelta(days=1), acknowledged_by=manager
        ),
    }


def test_one_alert_and_the_queryset_agree_on_needing_attention(alerts):
    needing = set(Alert.objects.needing_attention(NOW).values_list("key", flat=True))
    assert needing == {"empty_cup:open", "empty_cup:snooze-over"}
    assert {a.key for a in alerts.values() if a.needs_attention(NOW)} == needing


def test_a_snooze_lasts_until_its_time_and_an_acknowledgement_is_not_a_snooze(alerts):
    assert {name for name, a in alerts.items() if a.is_snoozed(NOW)} == {"snoozed", "resolved while snoozed"}
    assert not alerts["snoozed"].is_snoozed(NOW + timedelta(days=1))  # over at its time
    assert alerts["snoozed"].needs_attention(NOW + timedelta(days=1, seconds=1))
    alerts["snoozed"].acknowledged_at = NOW
    assert not alerts["snoozed"].is_snoozed(NOW)


def test_the_inbox_offers_acknowledge_and_snooze_only_on_alerts_needing_attention(alerts, manager, client_for):
    client = client_for(manager)
    with time_machine.travel(NOW, tick=False):
        pages = {state: client.get(reverse("health:alert_list"), {"state": state}) for state in STATES}
    assert {state: page.status_code for state, page in pages.items()} == dict.fromkeys(STATES, 200)
    listed = {state: {a.key for a, _url in page.context["rows"]} for state, page in pages.items()}
    assert listed == {
        "open": {"empty_cup:open", "empty_cup:snooze-over"},
        "acknowledged": {"empty_cup:snoozed", "empty_cup:acknowledged"},
        "resolved": {"empty_cup:resolved", "empty_cup:resolved-snoozed"},
    }
    html = "".join(page.content.decode() for page in pages.values())
    offered = {name for name, a in alerts.items() if reverse("health:alert_acknowledge", args=[a.pk]) in html}
    assert offered == {"open", "snooze over"}
    assert html.count("Snoozed until") == 2  # the snoozed one, and the resolved one still says who set it aside


def test_set_aside_is_the_rest_of_the_open_alerts(alerts):
    set_aside = set(Alert.objects.set_aside(NOW).values_list("key", flat=True))
    assert set_aside == {"empty_cup:snoozed", "empty_cup:acknowledged"}
    everything_open = set(Alert.objects.open().values_list("key", flat=True))
    assert set_aside | set(Alert.objects.needing_attention(NOW).values_list("key", flat=True)) == everything_open
