"""The visit form's move (only the deal's pipeline, its gate before saving, the version the user saw) and its
time (DST's repeated and skipped hours)."""

from datetime import UTC, datetime

import pytest
import time_machine

from activity_log import services
from activity_log.models import Activity, ActivityKind
from funnel.models import Opportunity, Stage, StageKind
from funnel.opportunities import services as funnel_services
from tests.factories import OpportunityFactory, PipelineFactory, StageFactory

pytestmark = pytest.mark.django_db
NEW = "/log/activity/new/"
MOVE_PART = "/log/activity/move/"  # the move part of the visit form, swapped in while choosing


@pytest.fixture
def deal(rep, pipeline):
    return OpportunityFactory(owner=rep, name="Warehouse robots")


@pytest.fixture
def other_pipeline(pipeline):
    """A second active pipeline whose closing stages are also called "Won" and "Lost"."""
    service = PipelineFactory(name="Service contracts")
    for order, (name, probability, kind) in enumerate(
        [("Site survey", 20, "open"), ("Quote", 50, "open"), ("Won", 100, "won"), ("Lost", 0, "lost")], start=1
    ):
        StageFactory(pipeline=service, order=order, name=name, probability=probability, kind=kind)
    return service


def visit_post(deal, **extra) -> dict:
    return {
        "kind": ActivityKind.objects.get(name="Visit").pk,
        "account": deal.account_id,
        "opportunity": deal.pk,
        "when": "2026-06-01T10:00",
        "outcome": "Walked the site",
        "idempotency_key": "visit-1",
        **extra,
    }


def move_post(deal, stage: Stage, **extra) -> dict:
    return visit_post(deal, **{"move_to": stage.pk, "move_version": deal.version, "move_opportunity": deal.pk, **extra})


@pytest.fixture(autouse=True)
def _june():
    with time_machine.travel(datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False):
        yield


# --- item 3: a move states the version of the deal the user saw ---------------------------------------------
def test_a_move_with_an_empty_version_is_a_conflict_not_a_pass(client_for, rep, deal, stages):
    response = client_for(rep).post(NEW, visit_post(deal, move_to=stages["Proposal"].pk, move_version=""))
    assert response.status_code == 409
    assert not Activity.objects.exists()
    assert Opportunity.objects.get(pk=deal.pk).stage == stages["Qualified"]
    page = response.content.decode()
    assert "“Warehouse robots” is now in “Qualified”." in page
    assert f'name="move_version" value="{deal.version}"' in page  # saving again moves it knowingly


def test_saving_again_after_the_conflict_records_the_visit_and_the_move(client_for, rep, deal, stages):
    client = client_for(rep)
    client.post(NEW, visit_post(deal, move_to=stages["Proposal"].pk))
    again = client.post(NEW, move_post(deal, stages["Proposal"]))
    assert again.status_code == 302
    assert Opportunity.objects.get(pk=deal.pk).stage == stages["Proposal"]
    assert Activity.objects.count() == 1


def test_a_version_shown_for_another_deal_is_no_version_for_this_one(client_for, rep, deal, stages):
    """The form showed deal A's stages and version; the user then picked deal B (same version number)."""
    other = OpportunityFactory(owner=rep, account=deal.account, name="Conveyor belts")
    data = move_post(deal, stages["Proposal"], opportunity=other.pk)
    response = client_for(rep).post(NEW, data)
    assert response.status_code == 409
    assert Opportunity.objects.get(pk=other.pk).stage == stages["Qualified"]


def test_a_stale_version_is_a_conflict_with_the_current_stage_shown(client_for, rep, deal, stages):
    seen = deal.version
    funnel_services.opportunity_move(opportunity=deal, stage=stages["Negotiation"], by=rep, version=seen)
    response = client_for(rep).post(NEW, move_post(deal, stages["Proposal"], move_version=seen))
    assert response.status_code == 409
    assert "is now in “Negotiation”" in response.content.decode()
    assert not Activity.objects.exists()


def test_the_service_refuses_a_move_without_the_version_the_user_saw(rep, deal, stages):
    data = {"kind": ActivityKind.objects.first(), "account": deal.account, "opportunity": deal,
            "when": datetime(2026, 6, 1, 9, tzinfo=UTC), "outcome": "ok"}  # fmt: skip
    with pytest.raises(funnel_services.StaleVersion):
        services.activity_record(rep=rep, data=data, move_to=stages["Proposal"], move_version=None)
    assert not Activity.objects.exists()
    assert Opportunity.objects.get(pk=deal.pk).stage == stages["Qualified"]


@pytest.mark.parametrize(
    "write",
    [
        lambda deal, rep, stages: funnel_services.opportunity_move(
            opportunity=deal, stage=stages["Proposal"], by=rep, version=None
        ),
        lambda deal, rep, stages: funnel_services.opportunity_mark_won(opportunity=deal, by=rep, version=None),
        lambda deal, rep, stages: funnel_services.opportunity_update(
            opportunity=deal, by=rep, version=None, data={"amount": 5}
        ),
        lambda deal, rep, stages: funnel_services.opportunity_reassign(
            opportunity=deal, owner=rep, by=rep, version=None
        ),
    ],
)
def test_every_deal_write_refuses_a_missing_version(write, rep, deal, stages):
    with pytest.raises(funnel_services.MissingVersion):
        write(deal, rep, stages)
    assert Opportunity.objects.get(pk=deal.pk).version == deal.version


# --- item 6: the deal's own stages, and the target's gate before saving -------------------------------------
def options_of(page: str, name: str) -> list[str]:
    select = page.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    return [part.split(">", 1)[1].split("<", 1)[0] for part in select.split("<option")[1:]]


def test_the_move_list_holds_the_chosen_deals_pipeline_only(client_for, rep, deal, other_pipeline):
    page = client_for(rep).get(MOVE_PART, {"opportunity": deal.pk}).content.decode()
    assert options_of(page, "move_to") == ["Choose…", "Proposal (40%)", "Negotiation (80%)", "Won (100%)"]
    assert f'name="move_version" value="{deal.version}"' in page
    assert f'name="move_opportunity" value="{deal.pk}"' in page


def test_the_visit_form_of_a_planned_deal_lists_its_stages(client_for, rep, deal, other_pipeline):
    log = services.daily_log_get(rep=rep, day=services.local_today(rep))
    item = services.plan_item_add(
        rep=rep, log=log, data={"kind": ActivityKind.objects.first(), "account": deal.account, "opportunity": deal}
    )
    page = client_for(rep).get(NEW, {"plan_item": item.pk}).content.decode()
    assert options_of(page, "move_to") == ["Choose…", "Proposal (40%)", "Negotiation (80%)", "Won (100%)"]


def test_without_a_deal_every_stage_is_named_with_its_pipeline(client_for, rep, deal, other_pipeline):
    labels = options_of(client_for(rep).get(NEW).content.decode(), "move_to")
    assert "Project sales · Won (100%)" in labels and "Service contracts · Won (100%)" in labels
    assert not any("Lost" in label for label in labels)
    assert "Choose the opportunity first" in client_for(rep).get(NEW).content.decode()


def test_a_stage_of_another_pipeline_is_refused(client_for, rep, deal, other_pipeline):
    quote = other_pipeline.stages.get(name="Quote")
    response = client_for(rep).post(NEW, move_post(deal, quote))
    assert response.status_code == 422
    assert "move_to" in response.context["form"].errors
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Qualified"


def test_the_gate_of_the_chosen_stage_shows_before_saving(client_for, rep, deal, stages):
    proposal = stages["Proposal"]
    proposal.required_fields = ["expected_close_date", "next_step"]
    proposal.checklist = "Budget confirmed\nDecision maker met"
    proposal.save()
    page = client_for(rep).get(MOVE_PART, {"opportunity": deal.pk, "move_to": proposal.pk}).content.decode()
    assert "Before entering “Proposal”, the opportunity needs: Expected close date, Next step." in page
    assert 'value="Budget confirmed"' in page and 'value="Decision maker met"' in page
    # A next step written on the visit fills the deal's, as saving it would.
    page = (
        client_for(rep)
        .get(MOVE_PART, {"opportunity": deal.pk, "move_to": proposal.pk, "next_step": "Send the quote"})
        .content.decode()
    )
    assert "needs: Expected close date." in page


def test_a_refused_save_still_shows_the_gate_and_keeps_the_choice(client_for, rep, deal, stages):
    proposal = stages["Proposal"]
    proposal.checklist = "Budget confirmed"
    proposal.save()
    response = client_for(rep).post(NEW, move_post(deal, proposal))
    assert response.status_code == 422
    page = response.content.decode()
    assert 'value="Budget confirmed"' in page
    assert f'<option value="{proposal.pk}" selected>' in page
    assert not Activity.objects.exists()
    checked = client_for(rep).post(NEW, move_post(deal, proposal, checklist="Budget confirmed"))
    assert checked.status_code == 302
    assert Opportunity.objects.get(pk=deal.pk).stage == proposal


def test_the_move_part_shows_nothing_of_a_deal_the_user_may_not_see(client_for, rep, cast, pipeline):
    foreign = OpportunityFactory(owner=cast["other_rep"], name="Secret deal")
    page = client_for(rep).get(MOVE_PART, {"opportunity": foreign.pk}).content.decode()
    assert "Secret deal" not in page and "Choose the opportunity first" in page
    assert f'name="move_opportunity" value="{foreign.pk}"' not in page


def test_a_won_stage_of_the_pipeline_can_be_the_target(client_for, rep, deal, stages):
    response = client_for(rep).post(NEW, move_post(deal, stages["Won"]))
    assert response.status_code == 302
    assert Opportunity.objects.get(pk=deal.pk).status == StageKind.WON


def test_an_archived_stage_is_not_offered(client_for, rep, deal, pipeline):
    StageFactory(pipeline=pipeline, order=9, name="Old stage", is_archived=True)
    page = client_for(rep).get(MOVE_PART, {"opportunity": deal.pk}).content.decode()
    assert "Old stage" not in page


# --- item 8: DST ------------------------------------------------------------------------------------------
@pytest.fixture
def new_york_rep(rep):
    rep.time_zone = "America/New_York"
    rep.save()
    return rep


@time_machine.travel(datetime(2026, 11, 1, 17, 0, tzinfo=UTC), tick=False)
def test_a_visit_in_the_repeated_hour_is_recorded_at_its_first_occurrence(client_for, new_york_rep, deal):
    response = client_for(new_york_rep).post(NEW, visit_post(deal, when="2026-11-01T01:30"))
    assert response.status_code == 302
    activity = Activity.objects.get()
    assert activity.when == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert activity.daily_log.date.isoformat() == "2026-11-01"


@time_machine.travel(datetime(2026, 3, 8, 17, 0, tzinfo=UTC), tick=False)
def test_a_visit_in_the_skipped_hour_is_refused_with_the_reason(client_for, new_york_rep, deal):
    response = client_for(new_york_rep).post(NEW, visit_post(deal, when="2026-03-08T02:30"))
    assert response.status_code == 422
    assert "This time does not exist in your time zone: the clocks moved forward." in response.content.decode()
    assert not Activity.objects.exists()


@pytest.mark.parametrize("field, value", [("when", "0001-01-01T09:00"), ("when", "9999-12-31T09:00"),
                                          ("next_date", "0001-01-01"), ("next_date", "9999-12-31")])  # fmt: skip
def test_a_date_at_the_calendars_ends_is_a_form_error(client_for, rep, deal, field, value):
    response = client_for(rep).post(NEW, visit_post(deal, **{field: value}))
    assert response.status_code == 422
    assert "Enter a date between 1900-01-01 and 2999-12-31." in response.content.decode()
    assert not Activity.objects.exists()


def test_the_same_form_sent_again_after_its_move_is_the_same_activity(client_for, rep, deal, stages):
    """A resubmission (back, then send) once the deal is in the new stage: one activity, one move, no error."""
    client = client_for(rep)
    data = move_post(deal, stages["Proposal"])
    assert client.post(NEW, data).status_code == 302
    again = client.post(NEW, data)
    assert again.status_code == 302
    assert Activity.objects.count() == 1
    assert Opportunity.objects.get(pk=deal.pk).stage_changes.count() == 1
