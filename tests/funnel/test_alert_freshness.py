"""How fresh the alerts are (issue 19): the inbox says when the scan last checked, in the reader's time,
and a deal moved on loses its stalled alert at once, not at the next scan."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.health import freshness
from funnel.health.services import scan_funnel
from funnel.models import Alert, AlertKind, Stage
from funnel.opportunities import services
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def stalled_deal(owner):
    stage = Stage.objects.get(pipeline__is_default=True, name="Proposal")
    return OpportunityFactory(owner=owner, stage=stage, stage_entered_at=timezone.now() - timedelta(days=60))


def test_a_scan_records_when_it_ran(rep, pipeline):
    at = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert freshness.last_scan() is None
    scan_funnel(at)
    assert freshness.last_scan() == at


def test_the_inbox_says_when_it_was_checked_in_the_readers_time(rep, pipeline, client_for):
    rep.time_zone = "Asia/Shanghai"
    rep.save()
    url = reverse("health:alert_list")
    assert 'data-testid="checked-at"' not in client_for(rep).get(url).content.decode()  # never scanned: no time

    at = timezone.now().replace(second=0, microsecond=0)
    freshness.record_scan(at)
    page = client_for(rep).get(url).content.decode()
    local = at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"Checked at {local:%H:%M}. A deal you move is checked again at once." in page

    freshness.record_scan(at - timedelta(days=3))
    page = client_for(rep).get(url).content.decode()
    assert f"at {(at - timedelta(days=3)).astimezone(ZoneInfo('Asia/Shanghai')):%H:%M}" in page
    assert "Checked on " in page


def test_a_move_resolves_the_deals_stalled_alert_once_committed(rep, pipeline, django_capture_on_commit_callbacks):
    deal = stalled_deal(rep)
    scan_funnel()
    alert = Alert.objects.open().get(kind=AlertKind.STALLED, opportunity=deal)
    negotiation = Stage.objects.get(pipeline=pipeline, name="Negotiation")

    with django_capture_on_commit_callbacks(execute=True):
        services.opportunity_move(opportunity=deal, stage=negotiation, by=rep, version=deal.version)

    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert not Alert.objects.open().filter(kind=AlertKind.STALLED, opportunity=deal).exists()


def test_a_recheck_leaves_other_deals_and_still_stalled_ones_alone(rep, pipeline):
    moved, other = stalled_deal(rep), stalled_deal(rep)
    scan_funnel()
    assert freshness.stalled_recheck([moved.pk, other.pk]) == 0  # both still stalled: nothing to resolve
    moved.stage_entered_at = timezone.now()
    moved.save()
    assert freshness.stalled_recheck([moved.pk]) == 1
    assert Alert.objects.open().filter(kind=AlertKind.STALLED).get().opportunity == other
