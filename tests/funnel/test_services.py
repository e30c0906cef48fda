"""The funnel's write services: moves, gates, versions, won/lost/reopen, reassign, bulk, archive."""

from decimal import Decimal

import pytest

from funnel.models import LostReason, Opportunity, Stage, StageChange, StageKind
from funnel.opportunities import services
from reps.models import AuditAction, AuditEvent
from tests.factories import ContactFactory, OpportunityFactory, PipelineFactory, StageFactory

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


@pytest.fixture
def deal(rep, pipeline):
    return OpportunityFactory(owner=rep, stage=stage("Qualified"), amount=Decimal("1000"))


def move(deal, to: str, by, **kwargs):
    return services.opportunity_move(opportunity=deal, stage=stage(to), by=by, version=deal.version, **kwargs)


def test_move_writes_history_and_resets_the_stage_clock(deal, rep):
    before = deal.stage_entered_at
    moved = move(deal, "Proposal", rep)
    assert (moved.stage.name, moved.version) == ("Proposal", 2)
    assert moved.stage_entered_at > before
    change = StageChange.objects.get(opportunity=deal)
    assert (change.from_stage.name, change.to_stage.name, change.by) == ("Qualified", "Proposal", rep)
    assert change.at == moved.stage_entered_at


def test_move_with_a_stale_version_changes_nothing(deal, rep):
    """QUALITY R10/R11: the first write wins, the second is told."""
    move(deal, "Proposal", rep)
    with pytest.raises(services.StaleVersion) as caught:
        services.opportunity_move(opportunity=deal, stage=stage("Negotiation"), by=rep, version=1)
    assert caught.value.current.stage.name == "Proposal"
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Proposal"
    assert StageChange.objects.filter(opportunity=deal).count() == 1


def test_update_with_a_stale_version_is_refused_without_overwriting(deal, rep, manager):
    services.opportunity_update(opportunity=deal, by=rep, version=1, data={"amount": Decimal("2000")})
    with pytest.raises(services.StaleVersion):
        services.opportunity_update(opportunity=deal, by=manager, version=1, data={"amount": Decimal("3000")})
    assert Opportunity.objects.get(pk=deal.pk).amount == Decimal("2000")


def test_update_records_amount_history(deal, rep):
    services.opportunity_update(opportunity=deal, by=rep, version=1, data={"amount": Decimal("2500"), "name": "X"})
    event = AuditEvent.objects.get(action=AuditAction.FIELD_CHANGED)
    assert event.detail == {"amount": ["1000.00", "2500.00"]}  # as stored, however it was typed
    assert (event.actor, event.object_id) == (rep, str(deal.pk))


def test_required_fields_gate_the_stage(deal, rep):
    target = stage("Proposal")
    target.required_fields = ["expected_close_date", "contact"]
    target.save()
    with pytest.raises(services.GateFailed) as caught:
        move(deal, "Proposal", rep)
    assert caught.value.missing == ["Expected close date", "Contact"]
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Qualified"
    deal = services.opportunity_update(
        opportunity=deal,
        by=rep,
        version=1,
        data={"expected_close_date": "2027-01-31", "contact": ContactFactory(account=deal.account)},
    )
    assert move(deal, "Proposal", rep).stage.name == "Proposal"


def test_zero_amount_counts_as_missing(deal, rep):
    target = stage("Proposal")
    target.required_fields = ["amount"]
    target.save()
    deal.amount = Decimal(0)
    deal.save()
    with pytest.raises(services.GateFailed):
        move(deal, "Proposal", rep)


def test_checklist_must_be_confirmed_item_by_item(deal, rep):
    target = stage("Proposal")
    target.checklist = "Quotation sent\nDecision date agreed"
    target.save()
    with pytest.raises(services.GateFailed) as caught:
        move(deal, "Proposal", rep, checklist=["Quotation sent"])
    assert caught.value.unchecked == ["Decision date agreed"]
    moved = move(deal, "Proposal", rep, checklist=["Quotation sent", "Decision date agreed", "made up"])
    assert StageChange.objects.get(opportunity=moved).checklist == ["Quotation sent", "Decision date agreed"]


def test_probability_override_is_dropped_on_move_unless_kept(deal, rep):
    deal.probability_override = 55
    deal.save()
    kept = move(deal, "Proposal", rep, keep_probability=True)
    assert kept.probability == 55
    dropped = move(kept, "Negotiation", rep)
    assert (dropped.probability_override, dropped.probability) == (None, 80)


def test_move_to_another_pipelines_stage_is_refused(deal, rep):
    foreign = StageFactory(name="Elsewhere")
    with pytest.raises(services.FunnelError, match="another pipeline"):
        services.opportunity_move(opportunity=deal, stage=foreign, by=rep, version=1)


def test_move_to_lost_requires_the_lost_action(deal, rep):
    with pytest.raises(services.FunnelError, match="Mark lost"):
        move(deal, "Lost", rep)


def test_mark_won_closes_the_deal(deal, rep):
    won = services.opportunity_mark_won(opportunity=deal, by=rep, version=1, note="Signed")
    assert (won.status, won.stage.name, won.probability) == (StageKind.WON, "Won", 100)
    assert won.closed_at is not None


def test_mark_lost_needs_an_active_reason(deal, rep):
    with pytest.raises(services.FunnelError):
        services.opportunity_mark_lost(opportunity=deal, by=rep, version=1, reason=None)
    retired = LostReason.objects.create(name="Old reason", is_active=False)
    with pytest.raises(services.FunnelError):
        services.opportunity_mark_lost(opportunity=deal, by=rep, version=1, reason=retired)
    price = LostReason.objects.create(name="Price")
    lost = services.opportunity_mark_lost(opportunity=deal, by=rep, version=1, reason=price, note="Too dear")
    assert (lost.status, lost.lost_reason, lost.close_note) == (StageKind.LOST, price, "Too dear")


def test_reopen_puts_a_lost_deal_back_and_keeps_the_history(deal, rep):
    price = LostReason.objects.create(name="Price")
    lost = services.opportunity_mark_lost(opportunity=deal, by=rep, version=1, reason=price)
    reopened = services.opportunity_reopen(opportunity=lost, stage=stage("Proposal"), by=rep, version=lost.version)
    assert (reopened.status, reopened.lost_reason, reopened.closed_at) == (StageKind.OPEN, None, None)
    assert [c.to_stage.name for c in StageChange.objects.filter(opportunity=deal)] == ["Lost", "Proposal"]


def test_closed_deal_cannot_be_moved_until_reopened(deal, rep):
    won = services.opportunity_mark_won(opportunity=deal, by=rep, version=1)
    with pytest.raises(services.FunnelError, match="closed"):
        move(won, "Proposal", rep)


def test_reassign_to_a_deactivated_user_is_refused(deal, rep, teammate):
    teammate.is_active = False
    teammate.save()
    with pytest.raises(services.FunnelError):
        services.opportunity_reassign(opportunity=deal, owner=teammate, by=rep, version=1)


def test_reassign_is_audited(deal, rep, teammate, manager):
    services.opportunity_reassign(opportunity=deal, owner=teammate, by=manager, version=1)
    event = AuditEvent.objects.get(action=AuditAction.OWNER_CHANGED)
    assert event.detail == {"owner": [rep.pk, teammate.pk]}


def test_create_starts_with_one_stage_change(rep, pipeline):
    account = OpportunityFactory(owner=rep).account
    deal = services.opportunity_create(
        by=rep, owner=rep, stage=stage("Qualified"), data={"name": "New", "account": account, "amount": Decimal(5)}
    )
    change = StageChange.objects.get(opportunity=deal)
    assert (change.from_stage, change.to_stage.name, deal.version) == (None, "Qualified", 1)


def test_bulk_request_with_a_foreign_id_changes_nothing(cast, pipeline):
    """QUALITY S7: [own, teammate's, other team's] → refused whole, audited."""
    own = OpportunityFactory(owner=cast["rep"])
    foreign = [OpportunityFactory(owner=cast["teammate"]), OpportunityFactory(owner=cast["other_rep"])]
    ids = {own.pk: own.version, **{deal.pk: deal.version for deal in foreign}}
    with pytest.raises(services.FunnelError):
        services.opportunities_bulk_move(ids=ids, stage=stage("Proposal"), by=cast["rep"])
    assert set(Opportunity.objects.values_list("stage__name", flat=True)) == {"Qualified"}
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor=cast["rep"]).count() == 1


def test_bulk_move_is_all_or_nothing_when_a_gate_fails(rep, pipeline):
    ready = OpportunityFactory(owner=rep, expected_close_date="2027-01-01")
    not_ready = OpportunityFactory(owner=rep, name="Missing date")
    target = stage("Proposal")
    target.required_fields = ["expected_close_date"]
    target.save()
    with pytest.raises(services.FunnelError, match="Missing date"):
        services.opportunities_bulk_move(ids={ready.pk: 1, not_ready.pk: 1}, stage=target, by=rep)
    assert not StageChange.objects.exists()
    assert Opportunity.objects.get(pk=ready.pk).stage.name == "Qualified"


def test_bulk_reassign_moves_the_whole_book(cast, pipeline):
    deals = OpportunityFactory.create_batch(3, owner=cast["rep"])
    count = services.opportunities_bulk_reassign(
        ids={deal.pk: deal.version for deal in deals}, owner=cast["teammate"], by=cast["manager"]
    )
    assert count == 3
    assert set(Opportunity.objects.values_list("owner", flat=True)) == {cast["teammate"].pk}


def test_archiving_a_stage_moves_its_deals_with_history(rep, admin_user, pipeline):
    deals = OpportunityFactory.create_batch(2, owner=rep, stage=stage("Proposal"))
    moved = services.move_deals_and_archive_stage(stage=stage("Proposal"), target=stage("Negotiation"), by=admin_user)
    assert moved == 2
    assert stage("Proposal").is_archived
    for deal in deals:
        deal.refresh_from_db()
        assert deal.stage.name == "Negotiation"
        assert StageChange.objects.get(opportunity=deal).note == "Stage archived"
    assert AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).count() == 1


def test_stalled_means_too_long_in_stage_or_without_activity(rep, pipeline):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    qualified = stage("Qualified")
    qualified.stall_days = 10
    qualified.save()
    fresh = OpportunityFactory(owner=rep, stage=qualified, stage_entered_at=now - timedelta(days=9))
    old = OpportunityFactory(owner=rep, stage=qualified, stage_entered_at=now - timedelta(days=11))
    idle = OpportunityFactory(
        owner=rep, stage=qualified, stage_entered_at=now - timedelta(days=3), last_activity_at=now - timedelta(days=12)
    )
    assert set(Opportunity.objects.stalled(now)) == {old, idle}
    flags = dict(Opportunity.objects.flag_stalled(now).values_list("pk", "stalled_now"))
    assert [flags[deal.pk] for deal in (fresh, old, idle)] == [False, True, True]


def test_opportunity_queryset_chains_scope_pipeline_and_stalled(rep, teammate, pipeline):
    """`.visible_to(user)`, `.for_pipeline(...)`, `.open()` and `.stalled(now)` chain in any order: the
    stalled rule never widens the scope it is given, and a won deal is never stalled."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    qualified = stage("Qualified")
    qualified.stall_days = 10
    qualified.save()
    other_pipeline = PipelineFactory()
    other_stage = StageFactory(pipeline=other_pipeline, stall_days=10)
    long_ago = now - timedelta(days=30)
    mine = OpportunityFactory(owner=rep, stage=qualified, stage_entered_at=long_ago)
    theirs = OpportunityFactory(owner=teammate, stage=qualified, stage_entered_at=long_ago)
    elsewhere = OpportunityFactory(owner=rep, stage=other_stage, stage_entered_at=long_ago)
    won = OpportunityFactory(owner=rep, stage=stage("Won"), stage_entered_at=long_ago)

    assert set(Opportunity.objects.for_pipeline(pipeline)) == {mine, theirs, won}
    assert set(Opportunity.objects.for_pipeline(other_pipeline.pk)) == {elsewhere}
    assert set(Opportunity.objects.visible_to(rep).stalled(now)) == {mine, elsewhere}
    assert set(Opportunity.objects.visible_to(rep).for_pipeline(pipeline).stalled(now)) == {mine}
    assert set(Opportunity.objects.stalled(now).for_pipeline(pipeline)) == {mine, theirs}
    assert Opportunity.objects.visible_to(rep).flag_stalled(now).get(pk=won.pk).stalled_now is False


def test_archiving_a_won_stage_keeps_the_deals_close_dates(rep, admin_user, pipeline):
    from datetime import timedelta

    from django.utils import timezone

    second_won = StageFactory(pipeline=pipeline, name="Won (framework)", kind=StageKind.WON, probability=100)
    closed = timezone.now() - timedelta(days=40)
    deal = OpportunityFactory(owner=rep, stage=stage("Won"), closed_at=closed)
    services.move_deals_and_archive_stage(stage=stage("Won"), target=second_won, by=admin_user)
    deal.refresh_from_db()
    assert (deal.stage, deal.closed_at) == (second_won, closed)


def test_a_move_into_a_stage_archived_meanwhile_is_refused(deal, rep):
    target = stage("Proposal")
    Stage.objects.filter(pk=target.pk).update(is_archived=True)  # the admin, after the rep loaded the page
    with pytest.raises(services.FunnelError, match="archived"):
        services.opportunity_move(opportunity=deal, stage=target, by=rep, version=1)
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "Qualified"
