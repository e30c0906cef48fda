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


@pytest.mark.parametrize("people", [2, 20])
def test_the_people_list_costs_the_same_queries_however_many_people(client_for, admin_user, team1, people,
                                                                    django_assert_max_num_queries):  # fmt: skip
    from tests.factories import UserFactory

    for _ in range(people):
        UserFactory(team=team1)
    client = client_for(admin_user)
    client.get("/admin/reps/user/")
    with django_assert_max_num_queries(9):
        assert client.get("/admin/reps/user/").status_code == 200
