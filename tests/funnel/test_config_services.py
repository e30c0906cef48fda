"""The admin's configuration writes: each accepted change leaves one audit row with old → new,
each refusal raises FunnelError and changes nothing (QUALITY S11, S12, S31, R12)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from funnel.configuration import services as config_services
from funnel.models import LostReason, Opportunity, Pipeline, Source, Stage, StageChange, StageKind
from funnel.opportunities.services import FunnelError
from reps.models import AuditAction, AuditEvent
from tests.factories import OpportunityFactory, PipelineFactory, StageFactory

pytestmark = pytest.mark.django_db


def config_rows():
    return AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).order_by("at", "id")


def stage_names(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("order").values_list("name", flat=True))


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name)


def stage_data(**overrides) -> dict:
    data = {
        "name": "Demo",
        "probability": 50,
        "stall_days": 10,
        "kind": StageKind.OPEN,
        "playbook": "",
        "checklist": "",
        "required_fields": [],
    }
    return data | overrides


# --- Pipelines ---------------------------------------------------------------------------------------


def test_new_pipeline_starts_with_open_won_and_lost_stages(admin_user):
    pipeline = config_services.pipeline_create(name="Renewals", by=admin_user)

    stages = list(pipeline.stages.order_by("order").values_list("kind", "probability"))
    assert stages == [(StageKind.OPEN, 10), (StageKind.WON, 100), (StageKind.LOST, 0)]
    (row,) = config_rows()
    assert row.actor == admin_user
    assert row.object_type == "funnel.pipeline" and row.object_id == str(pipeline.pk)
    assert row.detail["name"] == [None, "Renewals"]


def test_first_pipeline_becomes_the_default(admin_user):
    assert config_services.pipeline_create(name="Only", by=admin_user).is_default


def test_a_later_pipeline_is_not_the_default(admin_user, pipeline):
    assert not config_services.pipeline_create(name="Renewals", by=admin_user).is_default


def test_pipeline_name_clash_is_refused_whatever_the_case(admin_user, pipeline):
    with pytest.raises(FunnelError, match="already exists"):
        config_services.pipeline_create(name="project SALES", by=admin_user)
    assert Pipeline.objects.count() == 1
    assert not config_rows().exists()


def test_pipeline_rename_is_audited_old_to_new(admin_user, pipeline):
    config_services.pipeline_update(pipeline=pipeline, by=admin_user, name="Projects", is_active=True)

    pipeline.refresh_from_db()
    assert pipeline.name == "Projects"
    (row,) = config_rows()
    assert row.detail == {"name": ["Project sales", "Projects"]}


def test_saving_an_unchanged_pipeline_writes_no_audit_row(admin_user, pipeline):
    config_services.pipeline_update(pipeline=pipeline, by=admin_user, name=pipeline.name, is_active=True)
    assert not config_rows().exists()


def test_default_pipeline_cannot_be_deactivated(admin_user, pipeline):
    with pytest.raises(FunnelError, match="default pipeline stays active"):
        config_services.pipeline_update(pipeline=pipeline, by=admin_user, name=pipeline.name, is_active=False)
    pipeline.refresh_from_db()
    assert pipeline.is_active


def test_other_pipeline_can_be_deactivated(admin_user, pipeline):
    other = PipelineFactory(name="Old")
    config_services.pipeline_update(pipeline=other, by=admin_user, name="Old", is_active=False)
    other.refresh_from_db()
    assert not other.is_active
    assert config_rows().get().detail == {"is_active": [True, False]}


def test_setting_the_default_unsets_the_old_one(admin_user, pipeline):
    other = PipelineFactory(name="Renewals")

    config_services.pipeline_set_default(pipeline=other, by=admin_user)

    assert list(Pipeline.objects.filter(is_default=True)) == [other]
    (row,) = config_rows()
    assert row.detail == {"is_default": [False, True], "previous_default": "Project sales"}


def test_inactive_pipeline_cannot_become_the_default(admin_user, pipeline):
    other = PipelineFactory(name="Old", is_active=False)
    with pytest.raises(FunnelError, match="Activate"):
        config_services.pipeline_set_default(pipeline=other, by=admin_user)
    assert Pipeline.objects.get(is_default=True) == pipeline


# --- Stages ----------------------------------------------------------------------------------------------


def test_new_open_stage_goes_after_the_last_open_stage(admin_user, pipeline):
    config_services.stage_create(pipeline=pipeline, by=admin_user, data=stage_data(name="Contract"))

    assert stage_names(pipeline) == ["Qualified", "Proposal", "Negotiation", "Contract", "Won", "Lost"]
    (row,) = config_rows()
    assert row.detail["name"] == [None, "Contract"]
    assert row.detail["probability"] == [None, 50]


def test_new_closed_stage_goes_last(admin_user, pipeline):
    data = stage_data(name="Won (partly)", kind=StageKind.WON, probability=100)
    config_services.stage_create(pipeline=pipeline, by=admin_user, data=data)
    assert stage_names(pipeline)[-1] == "Won (partly)"


def test_stage_name_must_be_unique_in_its_pipeline(admin_user, pipeline):
    with pytest.raises(FunnelError, match="already has a stage named"):
        config_services.stage_create(pipeline=pipeline, by=admin_user, data=stage_data(name="proposal"))
    assert pipeline.stages.count() == 5


def test_same_stage_name_is_fine_in_another_pipeline(admin_user, pipeline):
    other = config_services.pipeline_create(name="Renewals", by=admin_user)
    config_services.stage_create(pipeline=other, by=admin_user, data=stage_data(name="Proposal"))
    assert other.stages.filter(name="Proposal").exists()


def test_won_stage_must_have_probability_100(admin_user, pipeline):
    data = stage_data(name="Signed", kind=StageKind.WON, probability=90)
    with pytest.raises(FunnelError, match="100%"):
        config_services.stage_create(pipeline=pipeline, by=admin_user, data=data)


def test_lost_stage_must_have_probability_0(admin_user, pipeline):
    with pytest.raises(FunnelError, match="0%"):
        config_services.stage_update(
            stage=stage(pipeline, "Lost"),
            by=admin_user,
            data=stage_data(name="Lost", kind=StageKind.LOST, probability=5),
        )


def test_probability_change_is_audited_old_to_new(admin_user, pipeline):
    proposal = stage(pipeline, "Proposal")
    data = stage_data(name="Proposal", probability=55, stall_days=proposal.stall_days, required_fields=["amount"])

    config_services.stage_update(stage=proposal, by=admin_user, data=data)

    proposal.refresh_from_db()
    assert proposal.probability == 55
    (row,) = config_rows()
    assert row.object_type == "funnel.stage"
    assert row.detail == {"probability": [40, 55], "required_fields": [[], ["amount"]]}


def test_last_won_stage_cannot_change_kind(admin_user, pipeline):
    won = stage(pipeline, "Won")
    with pytest.raises(FunnelError, match="last active stage"):
        config_services.stage_update(stage=won, by=admin_user, data=stage_data(name="Won", probability=90))
    won.refresh_from_db()
    assert won.kind == StageKind.WON


def test_stage_holding_deals_cannot_change_kind(admin_user, rep, pipeline):
    StageFactory(pipeline=pipeline, name="Won B", kind=StageKind.WON, probability=100, order=9)
    won = stage(pipeline, "Won")
    OpportunityFactory(owner=rep, stage=won)
    with pytest.raises(FunnelError, match="holds 1 opportunity,"):
        config_services.stage_update(stage=won, by=admin_user, data=stage_data(name="Won", probability=90))


def test_empty_stage_can_change_kind_when_another_of_its_kind_remains(admin_user, pipeline):
    negotiation = stage(pipeline, "Negotiation")
    data = stage_data(name="Negotiation", kind=StageKind.WON, probability=100)
    config_services.stage_update(stage=negotiation, by=admin_user, data=data)
    negotiation.refresh_from_db()
    assert negotiation.kind == StageKind.WON


def test_stage_edit_keeps_an_order_changed_meanwhile(admin_user, pipeline):
    proposal = stage(pipeline, "Proposal")  # loaded before another admin reorders
    ids = list(pipeline.stages.order_by("-order").values_list("pk", flat=True))
    config_services.stages_reorder(pipeline=pipeline, stage_ids=ids, by=admin_user)

    config_services.stage_update(stage=proposal, by=admin_user, data=stage_data(name="Proposal", probability=45))

    assert stage_names(pipeline) == ["Negotiation", "Proposal", "Qualified", "Lost", "Won"]  # closed stages last


def test_stages_reorder_rewrites_the_order_and_audits_it_once(admin_user, pipeline):
    names = ["Proposal", "Qualified", "Negotiation", "Won", "Lost"]
    ids = [stage(pipeline, name).pk for name in names]

    config_services.stages_reorder(pipeline=pipeline, stage_ids=ids, by=admin_user)

    assert stage_names(pipeline) == names
    (row,) = config_rows()
    assert row.detail == {"order": [["Qualified", "Proposal", "Negotiation", "Won", "Lost"], names]}


def test_reorder_with_a_foreign_stage_id_is_refused(admin_user, pipeline):
    foreign = config_services.pipeline_create(name="Renewals", by=admin_user).stages.first()
    ids = list(pipeline.stages.order_by("-order").values_list("pk", flat=True))[:-1] + [foreign.pk]

    with pytest.raises(FunnelError, match="changed since the page was loaded"):
        config_services.stages_reorder(pipeline=pipeline, stage_ids=ids, by=admin_user)
    assert stage_names(pipeline) == ["Qualified", "Proposal", "Negotiation", "Won", "Lost"]


@pytest.mark.parametrize("mangle", [lambda ids: ids[:-1], lambda ids: ids + ids[:1], lambda ids: []])
def test_reorder_must_name_each_stage_exactly_once(admin_user, pipeline, mangle):
    ids = list(pipeline.stages.order_by("order").values_list("pk", flat=True))
    with pytest.raises(FunnelError):
        config_services.stages_reorder(pipeline=pipeline, stage_ids=mangle(ids), by=admin_user)
    assert not config_rows().exists()


def test_reorder_to_the_same_order_writes_no_audit_row(admin_user, pipeline):
    ids = list(pipeline.stages.order_by("order").values_list("pk", flat=True))
    config_services.stages_reorder(pipeline=pipeline, stage_ids=ids, by=admin_user)
    assert not config_rows().exists()


def test_reorder_leaves_deals_in_their_stages(admin_user, rep, pipeline):
    deal = OpportunityFactory(owner=rep, stage=stage(pipeline, "Proposal"))
    ids = list(pipeline.stages.order_by("-order").values_list("pk", flat=True))
    config_services.stages_reorder(pipeline=pipeline, stage_ids=ids, by=admin_user)
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Proposal"
    assert Opportunity.objects.get(pk=deal.pk).version == deal.version


def test_stage_shift_swaps_with_its_neighbour(admin_user, pipeline):
    config_services.stage_shift(stage=stage(pipeline, "Proposal"), by=admin_user, step=-1)
    assert stage_names(pipeline)[:2] == ["Proposal", "Qualified"]


def test_first_stage_cannot_move_up(admin_user, pipeline):
    with pytest.raises(FunnelError, match="cannot move further"):
        config_services.stage_shift(stage=stage(pipeline, "Qualified"), by=admin_user, step=-1)


# --- Archiving --------------------------------------------------------------------------------------------


def weighted_total(pipeline: Pipeline) -> Decimal:
    deals = Opportunity.objects.open().filter(pipeline=pipeline).select_related("stage")
    return sum((deal.weighted_amount for deal in deals), Decimal(0))


def test_archive_moves_deals_with_history_and_keeps_weighted_total(admin_user, rep, teammate, pipeline):
    proposal = stage(pipeline, "Proposal")
    twin = StageFactory(pipeline=pipeline, name="Proposal B", probability=proposal.probability, order=9)
    long_ago = timezone.now() - timedelta(days=30)
    deals = [OpportunityFactory(owner=owner, stage=proposal, stage_entered_at=long_ago) for owner in (rep, teammate)]
    before = weighted_total(pipeline)

    moved = config_services.stage_archive(stage=proposal, by=admin_user, target=twin)

    assert moved == 2
    proposal.refresh_from_db()
    assert proposal.is_archived
    for deal in deals:
        deal.refresh_from_db()
        assert deal.stage == twin
        assert deal.stage_entered_at > long_ago
        assert StageChange.objects.filter(opportunity=deal, from_stage=proposal, to_stage=twin, by=admin_user).exists()
    assert weighted_total(pipeline) == before
    (row,) = config_rows()
    assert row.detail["is_archived"] == [False, True]
    assert row.detail["opportunities_moved"] == 2


def test_archiving_an_empty_stage_needs_no_target(admin_user, pipeline):
    assert config_services.stage_archive(stage=stage(pipeline, "Negotiation"), by=admin_user) == 0
    assert stage(pipeline, "Negotiation").is_archived


def test_last_won_stage_cannot_be_archived(admin_user, pipeline):
    with pytest.raises(FunnelError, match="cannot be archived"):
        config_services.stage_archive(stage=stage(pipeline, "Won"), by=admin_user)
    assert not stage(pipeline, "Won").is_archived
    assert not config_rows().exists()


def test_last_active_open_stage_cannot_be_archived(admin_user, pipeline):
    config_services.stage_archive(stage=stage(pipeline, "Qualified"), by=admin_user)
    config_services.stage_archive(stage=stage(pipeline, "Proposal"), by=admin_user)
    with pytest.raises(FunnelError, match="cannot be archived"):
        config_services.stage_archive(stage=stage(pipeline, "Negotiation"), by=admin_user)


def test_archive_target_of_another_kind_is_refused(admin_user, rep, pipeline):
    proposal = stage(pipeline, "Proposal")
    deal = OpportunityFactory(owner=rep, stage=proposal)
    with pytest.raises(FunnelError, match="same kind"):
        config_services.stage_archive(stage=proposal, by=admin_user, target=stage(pipeline, "Won"))
    deal.refresh_from_db()
    assert deal.stage == proposal
    assert not stage(pipeline, "Proposal").is_archived


def test_archiving_an_archived_stage_is_refused(admin_user, pipeline):
    config_services.stage_archive(stage=stage(pipeline, "Proposal"), by=admin_user)
    with pytest.raises(FunnelError, match="already archived"):
        config_services.stage_archive(stage=stage(pipeline, "Proposal"), by=admin_user)


def test_archived_stage_is_never_deleted(admin_user, rep, pipeline):
    proposal = stage(pipeline, "Proposal")
    OpportunityFactory(owner=rep, stage=proposal)
    config_services.stage_archive(stage=proposal, by=admin_user, target=stage(pipeline, "Qualified"))
    assert Stage.objects.filter(pk=proposal.pk).exists()


def test_unarchive_restores_the_stage_and_audits_it(admin_user, pipeline):
    config_services.stage_archive(stage=stage(pipeline, "Proposal"), by=admin_user)
    config_services.stage_unarchive(stage=stage(pipeline, "Proposal"), by=admin_user)

    assert not stage(pipeline, "Proposal").is_archived
    assert config_rows().last().detail == {"is_archived": [True, False]}


# --- Sources and lost reasons ------------------------------------------------------------------------------


def test_source_create_and_rename_are_audited(admin_user):
    source = config_services.source_create(name="Trade fair", by=admin_user)
    config_services.source_update(source=source, by=admin_user, name="Trade fairs", is_active=True)

    assert Source.objects.get().name == "Trade fairs"
    first, second = config_rows()
    assert first.detail["name"] == [None, "Trade fair"]
    assert second.detail == {"name": ["Trade fair", "Trade fairs"]}


def test_source_name_clash_is_refused(admin_user):
    config_services.source_create(name="Website", by=admin_user)
    with pytest.raises(FunnelError, match="already in the list"):
        config_services.source_create(name="website", by=admin_user)


def test_used_lost_reason_can_be_deactivated_but_stays(admin_user, rep, pipeline):
    reason = config_services.lost_reason_create(name="Price", by=admin_user)
    OpportunityFactory(owner=rep, lost_reason=reason)

    config_services.lost_reason_update(lost_reason=reason, by=admin_user, name="Price", is_active=False)

    reason.refresh_from_db()
    assert not reason.is_active
    assert config_rows().last().detail == {"is_active": [True, False]}
    assert Opportunity.objects.filter(lost_reason=reason).exists()


def test_lost_reason_rename_to_an_existing_name_is_refused(admin_user):
    LostReason.objects.create(name="Price")
    timing = LostReason.objects.create(name="Timing")
    with pytest.raises(FunnelError):
        config_services.lost_reason_update(lost_reason=timing, by=admin_user, name="PRICE", is_active=True)
    assert LostReason.objects.get(pk=timing.pk).name == "Timing"
