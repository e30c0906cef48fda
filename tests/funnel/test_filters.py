"""The opportunity filter: narrows within the scope, never widens it; sorting by an allow-list only."""

from datetime import date
from decimal import Decimal

import pytest

from funnel.filters import OpportunityFilterForm, keyset_page
from funnel.models import Opportunity, Stage
from tests.factories import OpportunityFactory

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
