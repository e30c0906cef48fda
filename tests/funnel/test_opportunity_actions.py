"""Opportunity pages that write: create, edit, move, won, lost, reopen, reassign, bulk (QUALITY S2, S7–S10, R9, R10)."""

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from funnel.models import LostReason, Opportunity, Stage, StageChange
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def row(deal) -> dict:
    return model_to_dict(Opportunity.objects.get(pk=deal.pk))


ACTIONS = {
    "opportunities:move": lambda deal: {"stage": stage("Proposal").pk, "version": deal.version},
    "opportunities:won": lambda deal: {"version": deal.version},
    "opportunities:lost": lambda deal: {"reason": LostReason.objects.create(name="x").pk, "version": deal.version},
    "opportunities:reassign": lambda deal: {"owner": deal.owner.pk, "version": deal.version},
    "opportunities:edit": lambda deal: {"name": "Hijacked", "account": deal.account.pk, "version": deal.version},
    "opportunities:board_move": lambda deal: {"to_stage": stage("Proposal").pk, "version": deal.version},
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(("viewer", "owner"), [("rep", "teammate"), ("rep", "other_rep"), ("manager", "other_rep")])
def test_writes_on_a_foreign_opportunity_are_404_and_change_nothing(client_for, cast, pipeline, action, viewer, owner):
    """QUALITY S2, S3, S8."""
    deal = OpportunityFactory(owner=cast[owner])
    before = row(deal)
    response = client_for(cast[viewer]).post(reverse(action, args=[deal.pk]), ACTIONS[action](deal))
    assert response.status_code == 404
    assert row(deal) == before
    assert not StageChange.objects.filter(opportunity=deal).exists()


def test_rep_moves_own_opportunity_from_the_detail_page(client_for, rep, pipeline):
    deal = OpportunityFactory(owner=rep)
    response = client_for(rep).post(
        reverse("opportunities:move", args=[deal.pk]), {"stage": stage("Proposal").pk, "version": 1}
    )
    assert response.status_code == 302
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Proposal"


def test_gate_failure_reshows_the_move_form_with_the_checklist(client_for, rep, pipeline):
    target = stage("Proposal")
    target.checklist = "Quotation sent"
    target.save()
    deal = OpportunityFactory(owner=rep)
    response = client_for(rep).post(reverse("opportunities:move", args=[deal.pk]), {"stage": target.pk, "version": 1})
    assert response.status_code == 422
    assert "Quotation sent" in response.content.decode()
    assert response.context["move_form"].non_field_errors()
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Qualified"


def test_stale_move_answers_409_with_the_reason(client_for, rep, pipeline):
    deal = OpportunityFactory(owner=rep, version=3)
    response = client_for(rep).post(
        reverse("opportunities:move", args=[deal.pk]), {"stage": stage("Proposal").pk, "version": 2}
    )
    assert response.status_code == 409
    assert "Someone else changed" in response.content.decode()


def test_manager_marks_a_team_deal_lost_with_a_reason(client_for, manager, rep, pipeline):
    deal = OpportunityFactory(owner=rep)
    reason = LostReason.objects.create(name="Budget cut")
    response = client_for(manager).post(
        reverse("opportunities:lost", args=[deal.pk]), {"reason": reason.pk, "note": "", "version": 1}
    )
    assert response.status_code == 302
    assert Opportunity.objects.get(pk=deal.pk).lost_reason == reason


def test_create_keeps_what_was_typed_when_invalid(client_for, rep, pipeline):
    account = AccountFactory(owner=rep)
    response = client_for(rep).post(
        reverse("opportunities:create"),
        {"name": "Big deal", "account": account.pk, "amount": "-5", "owner": rep.pk, "stage": stage("Qualified").pk},
    )
    assert response.status_code == 200
    assert 'value="Big deal"' in response.content.decode()
    assert not Opportunity.objects.exists()


def test_create_ignores_mass_assigned_fields_and_offers_only_visible_choices(client_for, rep, cast, pipeline):
    """QUALITY S9, S10: posted owner_id, version, status... are not stored; choices are scoped."""
    account = AccountFactory(owner=rep)
    foreign_account = AccountFactory(owner=cast["other_rep"])
    client = client_for(rep)
    form = client.get(reverse("opportunities:create")).context["form"]
    assert set(form.fields["owner"].queryset) == {rep}
    assert foreign_account not in form.fields["account"].queryset
    response = client.post(
        reverse("opportunities:create"),
        {
            "name": "Deal",
            "account": account.pk,
            "amount": "100",
            "owner": rep.pk,
            "stage": stage("Qualified").pk,
            "owner_id": cast["other_rep"].pk,
            "version": 99,
            "status": "won",
            "stage_entered_at": "2001-01-01",
            "id": 12345,
        },
    )
    assert response.status_code == 302
    deal = Opportunity.objects.get()
    assert (deal.owner, deal.version, deal.status, deal.pk != 12345) == (rep, 1, "open", True)
    assert deal.stage_entered_at.year > 2001


def test_create_refuses_another_teams_customer_and_owner(client_for, rep, cast, pipeline):
    response = client_for(rep).post(
        reverse("opportunities:create"),
        {
            "name": "Deal",
            "amount": "100",
            "account": AccountFactory(owner=cast["other_rep"]).pk,
            "owner": cast["teammate"].pk,
            "stage": stage("Qualified").pk,
        },
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"account", "owner"}
    assert not Opportunity.objects.exists()


def test_concurrent_edit_is_detected_and_shows_current_values(client_for, rep, manager, pipeline):
    """QUALITY R10: two people load version 1; the second save is refused, not silently applied."""
    deal = OpportunityFactory(owner=rep, amount=Decimal("1000"))
    url = reverse("opportunities:edit", args=[deal.pk])
    fields = {"name": deal.name, "account": deal.account.pk, "version": 1}
    assert client_for(rep).post(url, {**fields, "amount": "2000"}).status_code == 302
    response = client_for(manager).post(url, {**fields, "amount": "3000"})
    assert response.status_code == 409
    assert response.context["current"].amount == Decimal("2000")
    assert Opportunity.objects.get(pk=deal.pk).amount == Decimal("2000")
    assert 'value="3000"' in response.content.decode()  # the typed value is kept
    # Saving again now is a deliberate overwrite of the values just shown.
    assert client_for(manager).post(url, {**fields, "amount": "3000", "version": 2}).status_code == 302


def test_bulk_with_a_foreign_id_changes_nothing(client_for, cast, pipeline):
    """QUALITY S7 through the page."""
    own, foreign = OpportunityFactory(owner=cast["rep"]), OpportunityFactory(owner=cast["other_rep"])
    response = client_for(cast["rep"]).post(
        reverse("opportunities:bulk"),
        {"action": "move", "stage": stage("Proposal").pk, "pick": [f"{own.pk}:1", f"{foreign.pk}:1"]},
    )
    assert response.status_code == 409
    assert not StageChange.objects.exists()


def test_manager_bulk_reassigns_a_departing_reps_book(client_for, cast, pipeline):
    deals = OpportunityFactory.create_batch(3, owner=cast["rep"])
    response = client_for(cast["manager"]).post(
        reverse("opportunities:bulk"),
        {"action": "reassign", "owner": cast["teammate"].pk, "pick": [f"{d.pk}:{d.version}" for d in deals]},
    )
    assert response.status_code == 302
    assert Opportunity.objects.filter(owner=cast["teammate"]).count() == 3


def test_bulk_without_a_selection_explains_itself(client_for, rep, pipeline):
    OpportunityFactory(owner=rep)
    response = client_for(rep).post(reverse("opportunities:bulk"), {"action": "reassign", "owner": rep.pk})
    assert response.status_code == 400
    assert "Select at least one opportunity" in response.content.decode()


def test_detail_page_shows_the_checklist_of_the_stage_chosen_to_move_to(client_for, rep, pipeline):
    target = stage("Negotiation")
    target.checklist = "Contract draft sent"
    target.save()
    deal = OpportunityFactory(owner=rep)
    url = reverse("opportunities:detail", args=[deal.pk])
    assert "Contract draft sent" not in client_for(rep).get(url).content.decode()
    assert "Contract draft sent" in client_for(rep).get(url, {"move_to": target.pk}).content.decode()
    assert client_for(rep).get(url, {"move_to": "x"}).status_code == 200
