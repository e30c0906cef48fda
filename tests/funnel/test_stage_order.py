"""Stage settings keep the funnel readable (issue 19): won and lost stages stay after the open ones, a
probability lower than the stage before it is pointed out, and every action is there on a phone."""

import pytest
from django.urls import reverse

from funnel.configuration import services as config_services
from funnel.models import Pipeline, Stage
from funnel.opportunities.services import FunnelError

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name)


def stage_names(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("order").values_list("name", flat=True))


def ids(pipeline: Pipeline, *names: str) -> list[int]:
    return [stage(pipeline, name).pk for name in names]


def test_a_reorder_keeps_won_and_lost_after_the_open_stages(admin_user, pipeline):
    order = ids(pipeline, "Won", "Negotiation", "Lost", "Qualified", "Proposal")
    config_services.stages_reorder(pipeline=pipeline, stage_ids=order, by=admin_user)
    assert stage_names(pipeline) == ["Negotiation", "Qualified", "Proposal", "Won", "Lost"]


@pytest.mark.parametrize(("name", "step"), [("Negotiation", 1), ("Won", -1)])
def test_the_arrows_do_not_cross_from_open_to_closed_stages(admin_user, pipeline, name, step):
    with pytest.raises(FunnelError, match="Won and lost stages stay after the open stages."):
        config_services.stage_shift(stage=stage(pipeline, name), by=admin_user, step=step)
    assert stage_names(pipeline) == ["Qualified", "Proposal", "Negotiation", "Won", "Lost"]


def test_won_and_lost_still_swap_with_each_other(admin_user, pipeline):
    config_services.stage_shift(stage=stage(pipeline, "Lost"), by=admin_user, step=-1)
    assert stage_names(pipeline)[-2:] == ["Lost", "Won"]


def test_probabilities_falling_along_the_funnel_are_named(pipeline):
    stages = list(pipeline.stages.order_by("order"))
    assert config_services.probability_order_problems(stages) == []
    qualified, proposal, negotiation = stages[:3]
    problems = config_services.probability_order_problems([negotiation, qualified, proposal, *stages[3:]])
    assert problems == ["“Qualified” (10%) comes after “Negotiation” (80%) but is less likely to be won."]


def test_archived_and_closed_stages_are_left_out_of_the_probability_check(pipeline):
    qualified, proposal, negotiation, won, lost = pipeline.stages.order_by("order")
    negotiation.is_archived = True
    assert config_services.probability_order_problems([qualified, negotiation, proposal, won, lost]) == []


def test_dragging_80_before_60_saves_the_order_and_warns(admin_user, pipeline, client_for):
    proposal = stage(pipeline, "Proposal")
    proposal.probability = 60
    proposal.save()
    order = ids(pipeline, "Qualified", "Negotiation", "Proposal", "Won", "Lost")

    response = client_for(admin_user).post(
        reverse("configuration:stages_reorder", args=[pipeline.pk]), {"stage": order}, **HTMX
    )

    assert response.status_code == 200
    assert stage_names(pipeline) == ["Qualified", "Negotiation", "Proposal", "Won", "Lost"]
    page = response.content.decode()
    assert "Stage order saved." in page
    assert 'data-testid="probability-order"' in page
    assert "“Proposal” (60%) comes after “Negotiation” (80%) but is less likely to be won." in page
    assert 'data-testid="order-note"' not in page


def test_the_warning_stays_on_the_pipeline_page_until_the_order_reads_right(admin_user, pipeline, client_for):
    client = client_for(admin_user)
    url = reverse("configuration:pipeline_detail", args=[pipeline.pk])
    assert 'data-testid="probability-order"' not in client.get(url).content.decode()
    order = ids(pipeline, "Negotiation", "Qualified", "Proposal", "Won", "Lost")
    config_services.stages_reorder(pipeline=pipeline, stage_ids=order, by=admin_user)
    assert "“Qualified” (10%) comes after “Negotiation” (80%)" in client.get(url).content.decode()


def test_dropping_won_among_the_open_stages_puts_it_back_and_says_so(admin_user, pipeline, client_for):
    order = ids(pipeline, "Qualified", "Won", "Proposal", "Negotiation", "Lost")
    response = client_for(admin_user).post(
        reverse("configuration:stages_reorder", args=[pipeline.pk]), {"stage": order}, **HTMX
    )
    assert response.status_code == 200
    assert stage_names(pipeline) == ["Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    assert "Won and lost stages stay after the open stages, so they were put back at the end." in (
        response.content.decode()
    )


def test_the_arrows_stop_where_open_meets_closed(admin_user, pipeline, client_for):
    page = client_for(admin_user).get(reverse("configuration:pipeline_detail", args=[pipeline.pk])).content.decode()
    for name, direction, disabled in [
        ("Negotiation", "down", True),
        ("Won", "up", True),
        ("Negotiation", "up", False),
        ("Won", "down", False),
    ]:
        button = next(tag for tag in page.split("<button") if f"Move “{name}” {direction}" in tag)
        assert (" disabled" in button.split(">")[0]) is disabled, (name, direction)


def test_every_stage_action_is_on_the_phone_layout_too(admin_user, pipeline, client_for):
    archived = stage(pipeline, "Proposal")
    archived.is_archived = True
    archived.save()
    page = client_for(admin_user).get(reverse("configuration:pipeline_detail", args=[pipeline.pk])).content.decode()
    phone = page.split('data-testid="phone-stage-actions"')[1:]
    assert len(phone) == pipeline.stages.count()
    restore = reverse("configuration:stage_unarchive", args=[archived.pk])
    archive = reverse("configuration:stage_archive", args=[stage(pipeline, "Qualified").pk])
    assert any(restore in block.split("</div>")[0] for block in phone)
    assert any(archive in block.split("</div>")[0] for block in phone)
