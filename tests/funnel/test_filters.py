"""The opportunity filter: narrows within the scope, never widens it; sorting by an allow-list only."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from funnel.models import Opportunity, Stage
from funnel.opportunities.filters import OpportunityFilterForm, keyset_page
from tests.factories import OpportunityFactory, SourceFactory

pytestmark = pytest.mark.django_db


def names(user, **params) -> list[str]:
    form = OpportunityFilterForm(params, user=user)
    return [deal.name for deal in form.apply(Opportunity.objects.visible_to(user))]


def test_manager_filters_by_owner_stage_and_close_range(cast, pipeline):
    proposal = Stage.objects.get(name="Proposal")
    OpportunityFactory(owner=cast["rep"], name="a", stage=proposal, expected_close_date=date(2027, 1, 10))
    OpportunityFactory(owner=cast["rep"], name="b", expected_close_date=date(2027, 3, 10))
    OpportunityFactory(owner=cast["teammate"], name="c", stage=proposal, expected_close_date=date(2027, 1, 20))
    manager = cast["manager"]
    assert names(manager, owner=cast["rep"].pk, sort="name") == ["a", "b"]
    assert names(manager, stage=proposal.pk, sort="name") == ["a", "c"]
    assert names(manager, close_from="2027-01-15", close_to="2027-02-28") == ["c"]


def test_other_teams_owner_is_an_invalid_choice_and_is_ignored(cast, pipeline):
    OpportunityFactory(owner=cast["rep"], name="mine")
    OpportunityFactory(owner=cast["other_rep"], name="theirs")
    form = OpportunityFilterForm({"owner": cast["other_rep"].pk}, user=cast["rep"])
    assert "owner" in form.errors
    assert [deal.name for deal in form.apply(Opportunity.objects.visible_to(cast["rep"]))] == ["mine"]


def test_status_defaults_to_open(rep, pipeline):
    OpportunityFactory(owner=rep, name="open one")
    OpportunityFactory(owner=rep, name="won one", stage=Stage.objects.get(name="Won"))
    assert names(rep) == ["open one"]
    assert sorted(names(rep, status="all")) == ["open one", "won one"]


def test_unknown_sort_falls_back_to_recently_updated(rep, pipeline):
    form = OpportunityFilterForm({"sort": "password"}, user=rep)
    assert form.ordering.key == "updated_at"


@pytest.mark.parametrize("sort", ["updated", "amount", "close", "name", "created"])
def test_keyset_pages_cover_every_row_once_in_each_sort(rep, pipeline, sort):
    for index in range(7):
        OpportunityFactory(
            owner=rep,
            name=f"deal {index % 3}",
            amount=Decimal(index % 2 * 1000),
            expected_close_date=None if index % 3 == 0 else date(2027, 1, 1 + index % 2),
        )
    form = OpportunityFilterForm({"sort": sort}, user=rep)
    ordered = form.apply(Opportunity.objects.visible_to(rep))
    seen, cursor = [], ""
    while True:
        rows, cursor = keyset_page(ordered, cursor, form.ordering, 2)
        seen += [row.pk for row in rows]
        if not cursor:
            break
    assert seen == [deal.pk for deal in ordered]


def test_malformed_cursor_means_the_first_page(rep, pipeline):
    OpportunityFactory(owner=rep)
    form = OpportunityFilterForm({}, user=rep)
    rows, _ = keyset_page(form.apply(Opportunity.objects.all()), "not-a-cursor!", form.ordering, 10)
    assert len(rows) == 1


# --- date ranges, no source, departed owners (the dashboard's links land on these) ----------------


SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int) -> datetime:
    """A moment on a Shanghai day."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def test_created_range_counts_whole_days_in_the_users_time_zone(rep, pipeline):
    OpportunityFactory(owner=rep, name="early on the 1st", created_at=at("2026-03-01", 1))  # still Feb 28 in UTC
    OpportunityFactory(owner=rep, name="late on the 31st", created_at=at("2026-03-31", 23))
    OpportunityFactory(owner=rep, name="April", created_at=at("2026-04-01", 0))
    OpportunityFactory(owner=rep, name="February", created_at=at("2026-02-28", 23))
    with timezone.override(SHANGHAI):
        assert sorted(names(rep, created_from="2026-03-01", created_to="2026-03-31")) == [
            "early on the 1st",
            "late on the 31st",
        ]
        assert sorted(names(rep, created_from="2026-03-31")) == ["April", "late on the 31st"]
        assert names(rep, created_to="2026-02-28") == ["February"]


def test_closed_range_lists_closed_deals_of_any_status_unless_one_is_chosen(rep, pipeline):
    won, lost = Stage.objects.get(name="Won"), Stage.objects.get(name="Lost")
    OpportunityFactory(owner=rep, name="won in March", stage=won, closed_at=at("2026-03-10", 9))
    OpportunityFactory(owner=rep, name="lost in March", stage=lost, closed_at=at("2026-03-01", 0))
    OpportunityFactory(owner=rep, name="won in April", stage=won, closed_at=at("2026-04-01", 0))
    OpportunityFactory(owner=rep, name="open")
    with timezone.override(SHANGHAI):
        march = {"closed_from": "2026-03-01", "closed_to": "2026-03-31"}
        assert sorted(names(rep, **march)) == ["lost in March", "won in March"]
        assert names(rep, status="won", **march) == ["won in March"]
        assert names(rep, status="lost", **march) == ["lost in March"]
        form = OpportunityFilterForm(march, user=rep)
        assert form["status"].value() == "all"  # the select shows what the list holds


def test_no_source_lists_the_deals_without_one(rep, pipeline):
    OpportunityFactory(owner=rep, name="from the fair", source=SourceFactory(name="Trade fair"))
    OpportunityFactory(owner=rep, name="walk-in", source=None)
    assert names(rep, source="none") == ["walk-in"]
    assert '<option value="none">No source</option>' in str(OpportunityFilterForm({}, user=rep)["source"])


def test_a_departed_reps_deals_can_still_be_listed_by_their_manager(cast, pipeline):
    cast["teammate"].is_active = False
    cast["teammate"].save()
    OpportunityFactory(owner=cast["teammate"], name="left behind")
    OpportunityFactory(owner=cast["rep"], name="still here")
    assert names(cast["manager"], owner=cast["teammate"].pk) == ["left behind"]
    # but a rep still cannot name anyone else, departed or not
    assert names(cast["rep"], owner=cast["teammate"].pk) == ["still here"]


def test_the_list_folds_the_date_filters_under_more_filters(client_for, rep, pipeline):
    content = client_for(rep).get("/opportunities/").content.decode()
    assert '<details class="col-12" data-testid="more-filters">' in content  # closed until one is used
    assert 'name="created_from"' in content and 'name="closed_to"' in content
    content = client_for(rep).get("/opportunities/", {"created_from": "2026-01-01"}).content.decode()
    assert '<details class="col-12" data-testid="more-filters" open>' in content
