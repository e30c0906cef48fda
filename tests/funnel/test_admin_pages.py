"""Django admin's changelists over the largest tables count no further than they must."""

import pytest

from funnel import admin as funnel_admin
from funnel.models import Opportunity
from tests.factories import OpportunityFactory, StageChangeFactory

pytestmark = pytest.mark.django_db


def test_the_deal_and_stage_change_lists_count_up_to_a_cap(client_for, admin_user, pipeline, monkeypatch):
    monkeypatch.setattr(funnel_admin, "COUNTED_UP_TO", 3)
    for _ in range(5):
        StageChangeFactory(opportunity=OpportunityFactory(owner=admin_user))
    client = client_for(admin_user)
    for url in ("/admin/funnel/opportunity/", "/admin/funnel/stagechange/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.context["cl"].result_count == 4  # "one more" than the cap, not every row
    assert Opportunity.objects.count() == 5
