"""The board: columns, totals, scope, drag-and-drop moves that snap back when refused."""

from decimal import Decimal

import pytest
from django.urls import reverse

from funnel.models import Opportunity, Stage
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def test_board_has_one_column_per_open_stage_with_totals(client_for, rep, pipeline):
    OpportunityFactory(owner=rep, stage=stage("Proposal"), amount=Decimal("1000"))
    OpportunityFactory(owner=rep, stage=stage("Proposal"), amount=Decimal("3000"))
    OpportunityFactory(owner=rep, stage=stage("Won"), amount=Decimal("9000"))
    columns = client_for(rep).get(reverse("opportunities:board")).context["columns"]
    assert [column["stage"].name for column in columns] == ["Qualified", "Proposal", "Negotiation"]
    proposal = columns[1]
    assert (proposal["count"], proposal["total"], proposal["weighted"]) == (2, 4000, 1600)
    assert len(proposal["cards"]) == 2


def test_board_shows_only_visible_cards_whatever_the_filters(client_for, cast, pipeline):
    OpportunityFactory(owner=cast["rep"], name="mine")
    OpportunityFactory(owner=cast["other_rep"], name="theirs")
    response = client_for(cast["rep"]).get(reverse("opportunities:board"), {"owner": cast["other_rep"].pk})
    cards = [card.name for column in response.context["columns"] for card in column["cards"]]
    assert cards == ["mine"]
    assert sum(column["count"] for column in response.context["columns"]) == 1


def test_board_limits_cards_per_column_but_counts_all(client_for, rep, pipeline, monkeypatch):
    monkeypatch.setattr("funnel.opportunities.board.CARDS_PER_COLUMN", 3)
    OpportunityFactory.create_batch(5, owner=rep)
    first = client_for(rep).get(reverse("opportunities:board")).context["columns"][0]
    assert (first["count"], len(first["cards"])) == (5, 3)


def test_dropped_card_moves_and_the_board_comes_back(client_for, rep, pipeline):
    deal = OpportunityFactory(owner=rep)
    response = client_for(rep).post(
        reverse("opportunities:board_move", args=[deal.pk]),
        {"to_stage": stage("Proposal").pk, "version": 1},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Proposal"
    assert '<div id="board"' in response.content.decode()
    assert "<html" not in response.content.decode()  # only the board fragment


def test_refused_drop_snaps_back_with_the_reason_and_a_way_on(client_for, rep, pipeline):
    target = stage("Proposal")
    target.required_fields = ["expected_close_date"]
    target.save()
    deal = OpportunityFactory(owner=rep)
    response = client_for(rep).post(
        reverse("opportunities:board_move", args=[deal.pk]),
        {"to_stage": target.pk, "version": 1},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert "Expected close date" in body
    assert f"?move_to={target.pk}" in body
    qualified = body.split(f'data-stage="{stage("Qualified").pk}"')[1].split("</ol>")[0]
    assert f'data-id="{deal.pk}"' in qualified  # the card is back where it was
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Qualified"


def test_stale_card_is_refused(client_for, rep, pipeline):
    deal = OpportunityFactory(owner=rep, version=2)
    response = client_for(rep).post(
        reverse("opportunities:board_move", args=[deal.pk]), {"to_stage": stage("Proposal").pk, "version": 1}
    )
    assert "Someone else changed" in response.content.decode()
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Qualified"


@pytest.mark.parametrize("rows", [1, 50])
def test_board_query_count_does_not_grow_with_cards(
    client_for, manager, rep, pipeline, rows, django_assert_num_queries
):
    OpportunityFactory.create_batch(rows, owner=rep)
    client = client_for(manager)
    client.get(reverse("opportunities:board"))
    # session, user with their team (navbar), the active pipelines (the default, and the filter's choices),
    # stages, cards per open stage (3), column totals, the stall days of the open stages (the "Stalled"
    # badge), 4 more filter choice lists (the territories too), the manager's people (named by id, so the planner
    # sees how many): fixed by the pipeline, not by the number of cards
    with django_assert_num_queries(13):
        client.get(reverse("opportunities:board"))


def test_a_move_names_the_deal_and_its_new_stage_for_the_live_region(client_for, rep, pipeline):
    deal = OpportunityFactory(owner=rep, name="Harbour cranes")
    response = client_for(rep).post(
        reverse("opportunities:board_move", args=[deal.pk]),
        {"to_stage": stage("Negotiation").pk, "version": 1},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert "Moved “Harbour cranes” to Negotiation." in page
    assert 'data-testid="board-moved" data-announce' in page


def test_cards_are_focusable_with_a_move_menu_and_won_lost_drop_zones(client_for, rep, pipeline):
    deal = OpportunityFactory(owner=rep, name="Harbour cranes")
    page = client_for(rep).get(reverse("opportunities:board")).content.decode()
    assert f'data-id="{deal.pk}" data-version="1" tabindex="0" aria-label="Harbour cranes · Qualified"' in page
    detail = reverse("opportunities:detail", args=[deal.pk])
    assert f'href="{detail}#actions" data-move-menu' in page  # without script: the opportunity's actions
    assert 'data-close="won" data-testid="drop-won"' in page
    assert 'data-close="lost" data-testid="drop-lost"' in page
    assert 'id="board-live" class="visually-hidden" role="status" aria-live="polite"' in page
    # The menu offers every open stage, then won and lost.
    for name in ("Qualified", "Proposal", "Negotiation"):
        assert f'data-to-stage="{stage(name).pk}">{name} ' in page


@pytest.mark.parametrize(("close", "field"), [("won", "won_note"), ("lost", "lost_reason")])
def test_the_won_or_lost_zone_opens_that_form_with_its_first_field_in_focus(client_for, rep, pipeline, close, field):
    deal = OpportunityFactory(owner=rep)
    page = client_for(rep).get(reverse("opportunities:detail", args=[deal.pk]), {"close": close}).content.decode()
    tag = next(line for line in page.split("<") if f'id="{field}"' in line)
    assert "autofocus" in tag
    assert page.count("autofocus") == 1
    assert "autofocus" not in client_for(rep).get(reverse("opportunities:detail", args=[deal.pk])).content.decode()
