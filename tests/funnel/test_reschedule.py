"""Rescheduling a deal's next step from the home page (issue 18): another day with a reason, in the field
history; the deal's version guards against someone else's change in between; visibility both ways."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.models import Opportunity
from reps.models import AuditEvent
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def post(client, deal, **data):
    payload = {"next_step_date": "2026-12-20", "reason": "Buyer on leave", "version": deal.version,
               "next": reverse("funnel:home")} | data  # fmt: skip
    return client.post(reverse("opportunities:reschedule", args=[deal.pk]), payload, follow=True)


def test_a_rep_moves_their_next_step_with_a_reason_and_goes_back_home(rep, client_for, pipeline):
    deal = OpportunityFactory(owner=rep, next_step="Demo", next_step_date=date(2026, 12, 1))
    response = post(client_for(rep), deal)
    assert response.redirect_chain == [(reverse("funnel:home"), 302)]
    assert "is moved to" in response.content.decode()
    deal.refresh_from_db()
    assert (deal.next_step_date, deal.version) == (date(2026, 12, 20), 2)
    event = AuditEvent.objects.get(actor=rep, object_id=str(deal.pk))
    assert event.detail == {"next_step_date": ["2026-12-01", "2026-12-20"], "reason": "Buyer on leave"}


def test_the_same_day_again_saves_nothing(rep, client_for, pipeline):
    deal = OpportunityFactory(owner=rep, next_step="Demo", next_step_date=date(2026, 12, 20))
    response = post(client_for(rep), deal)
    assert "Nothing to save" in response.content.decode()
    deal.refresh_from_db()
    assert deal.version == 1 and not AuditEvent.objects.filter(object_id=str(deal.pk)).exists()


@pytest.mark.parametrize("data", [{"reason": ""}, {"next_step_date": "9999-12-31"}, {"next_step_date": "soon"}])
def test_a_missing_reason_or_a_bad_date_changes_nothing(rep, client_for, pipeline, data):
    deal = OpportunityFactory(owner=rep, next_step="Demo", next_step_date=date(2026, 12, 1))
    response = post(client_for(rep), deal, **data)
    assert response.status_code == 200 and 'class="alert alert-danger"' in response.content.decode()
    assert Opportunity.objects.get(pk=deal.pk).next_step_date == date(2026, 12, 1)


def test_a_stale_version_is_a_conflict(rep, client_for, pipeline):
    deal = OpportunityFactory(owner=rep, next_step="Demo", next_step_date=date(2026, 12, 1))
    Opportunity.objects.filter(pk=deal.pk).update(version=2)
    response = post(client_for(rep), deal)
    assert "Someone else changed" in response.content.decode()
    assert Opportunity.objects.get(pk=deal.pk).next_step_date == date(2026, 12, 1)


@pytest.mark.parametrize(("viewer", "status"), [("teammate", 404), ("other_manager", 404), ("manager", 200)])
def test_only_who_may_see_the_deal_moves_it(cast, client_for, pipeline, viewer, status):
    deal = OpportunityFactory(owner=cast["rep"], next_step="Demo", next_step_date=date(2026, 12, 1))
    response = post(client_for(cast[viewer]), deal)
    assert response.status_code == status
    moved = Opportunity.objects.get(pk=deal.pk).next_step_date == date(2026, 12, 20)
    assert moved is (status == 200)


def test_the_home_page_offers_it_for_each_step_due(rep, client_for, pipeline):
    deal = OpportunityFactory(owner=rep, next_step="Demo", next_step_date=timezone.localdate())
    html = client_for(rep).get(reverse("funnel:home")).content.decode()
    assert f'action="{reverse("opportunities:reschedule", args=[deal.pk])}"' in html
    assert 'name="version" value="1"' in html
