"""Bulk acknowledge and snooze: one reason for the ticked alerts, all or none, only within the user's view (S7)."""

import pytest

from funnel.models import Alert, AlertKind
from reps.models import AuditAction, AuditEvent
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def alert_of(owner) -> Alert:
    deal = OpportunityFactory(owner=owner)
    return Alert.objects.create(kind=AlertKind.STALLED, key=f"stalled:opp:{deal.pk}", rep=owner, opportunity=deal)


def post(client, alerts, **data):
    return client.post("/alerts/bulk/", {"alert": [alert.pk for alert in alerts], "reason": "Called them", **data})


def test_manager_acknowledges_the_ticked_alerts_of_their_team_with_one_reason(client_for, cast, pipeline):
    mine = [alert_of(cast["rep"]), alert_of(cast["teammate"])]
    untouched = alert_of(cast["rep"])
    response = post(client_for(cast["manager"]), mine, action="acknowledge")
    assert response.status_code == 302
    for alert in Alert.objects.filter(pk__in=[a.pk for a in mine]):
        assert alert.acknowledged_by == cast["manager"] and alert.ack_reason == "Called them"
    assert Alert.objects.get(pk=untouched.pk).acknowledged_at is None


def test_manager_snoozes_the_ticked_alerts(client_for, cast, pipeline):
    mine = [alert_of(cast["rep"]), alert_of(cast["teammate"])]
    post(client_for(cast["manager"]), mine, action="snooze", days="3")
    assert all(alert.snoozed_until and alert.acknowledged_at is None for alert in Alert.objects.all())


def test_an_id_out_of_view_refuses_the_whole_request(client_for, cast, pipeline):
    mine, theirs = alert_of(cast["rep"]), alert_of(cast["other_rep"])
    response = post(client_for(cast["manager"]), [mine, theirs], action="acknowledge")
    assert response.status_code == 404
    assert not Alert.objects.filter(acknowledged_at__isnull=False).exists()  # 0 rows changed, their own neither
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, object_type="alert").exists()


def test_a_rep_cannot_act_on_alerts_even_their_own(client_for, cast, pipeline):
    own, teammates = alert_of(cast["rep"]), alert_of(cast["teammate"])
    response = post(client_for(cast["rep"]), [own, teammates], action="acknowledge")
    assert response.status_code == 403
    assert not Alert.objects.filter(acknowledged_at__isnull=False).exists()


def test_an_alert_set_aside_meanwhile_changes_nothing(client_for, cast, pipeline):
    first, second = alert_of(cast["rep"]), alert_of(cast["rep"])
    client = client_for(cast["manager"])
    post(client, [first], action="acknowledge", reason="First")
    response = post(client, [first, second], action="snooze", days="1")
    assert Alert.objects.get(pk=second.pk).snoozed_until is None
    assert "Nothing was changed" in client.get(response["Location"]).content.decode()


def test_no_reason_or_no_tick_is_refused_with_a_message(client_for, cast, pipeline):
    alert = alert_of(cast["rep"])
    client = client_for(cast["manager"])
    response = client.post("/alerts/bulk/", {"alert": [alert.pk], "action": "acknowledge", "reason": ""})
    assert response.status_code == 302 and Alert.objects.get(pk=alert.pk).acknowledged_at is None
    response = client.post("/alerts/bulk/", {"action": "acknowledge", "reason": "x"})
    assert "Tick the alerts to act on" in client.get(response["Location"]).content.decode()


def test_the_inbox_offers_ticks_to_managers_only(client_for, cast, pipeline):
    alert_of(cast["rep"])
    assert 'data-testid="alert-tick"' in client_for(cast["manager"]).get("/alerts/").content.decode()
    assert 'data-testid="alert-tick"' not in client_for(cast["rep"]).get("/alerts/").content.decode()
