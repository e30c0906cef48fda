"""The daily alert digest: new alerts only, in the manager's scope and language, HTML and text."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from funnel.health.digest import send_alert_digests
from funnel.models import Alert
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def alert(rep, deal=None, *, age=timedelta(hours=2), key=None, severity="warning", resolved=False):
    seen = timezone.now() - age
    return Alert.objects.create(
        kind="stalled",
        severity=severity,
        key=key or f"stalled:opp:{deal.pk if deal else rep.pk}",
        rep=rep,
        opportunity=deal,
        first_seen=seen,
        last_seen=seen,
        resolved_at=timezone.now() if resolved else None,
    )


def test_manager_gets_the_new_alerts_of_the_team_only(cast, pipeline):
    deal = OpportunityFactory(owner=cast["rep"], name="Warehouse robots")
    alert(cast["rep"], deal)
    alert(cast["other_rep"], OpportunityFactory(owner=cast["other_rep"], name="Other team's deal"))
    alert(cast["teammate"], age=timedelta(days=3), key="old")  # not new any more
    send_alert_digests()
    to_manager = [m for m in mail.outbox if m.to == [cast["manager"].email]]
    assert len(to_manager) == 1
    body = to_manager[0].body
    assert "Warehouse robots" in body and "Other team's deal" not in body
    assert f"/opportunities/{deal.pk}/" in body
    html = to_manager[0].alternatives[0][0]
    assert "Warehouse robots" in html and "http://127.0.0.1:8000/alerts/" in html


def test_no_new_alert_means_no_email(cast, pipeline):
    alert(cast["rep"], age=timedelta(days=2), key="old")
    alert(cast["rep"], key="gone", resolved=True)
    assert send_alert_digests() == 0
    assert mail.outbox == []


def test_digest_is_written_in_the_managers_language(cast, pipeline):
    cast["manager"].language = "zh-hans"
    cast["manager"].save()
    alert(cast["rep"], OpportunityFactory(owner=cast["rep"]))
    send_alert_digests()
    message = next(m for m in mail.outbox if m.to == [cast["manager"].email])
    assert "预警" in message.subject
    assert "停滞" in message.body


def test_names_in_the_html_digest_are_escaped(cast, pipeline):
    alert(cast["rep"], OpportunityFactory(owner=cast["rep"], name="<script>alert(1)</script>"))
    send_alert_digests()
    html = next(m for m in mail.outbox if m.to == [cast["manager"].email]).alternatives[0][0]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_send_digests_command_reports_the_count(cast, pipeline, capsys):
    alert(cast["rep"], OpportunityFactory(owner=cast["rep"]))
    call_command("send_digests")
    # The manager of the team and the admin both see the rep's alert.
    assert "2 digest(s) sent." in capsys.readouterr().out
