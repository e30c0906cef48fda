"""Writes sent from a phone's outbox, done once per idempotency key.

Each one takes its receipt first (OutboxReceipt, unique key) inside the write's own transaction: a resend that
arrives while the first send is still running waits on the key's index entry, holding nothing else, and then
finds the receipt; a resend after a lost answer finds it at once. Either way it is answered as the first send
was. That unique-index wait comes before every lock of the documented lock order
(funnel.opportunities.services), so it cannot deadlock with it.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from config.parsing import has_nul
from funnel.models import Opportunity, Stage
from funnel.opportunities import services as funnel_services
from reps.models import User

from .. import services
from ..models import OutboxReceipt, PlanItem

KEY_LENGTH = 64


class AlreadyDone(Exception):
    """This key's write was done before: `receipt` says where its answer sent the user."""

    def __init__(self, receipt: OutboxReceipt):
        self.receipt = receipt
        super().__init__(receipt.key)


def receipt_for(*, key: str, by: User) -> OutboxReceipt | None:
    """The receipt of an earlier send of this key by this user. Someone else's key is a tampered form."""
    receipt = OutboxReceipt.objects.filter(key=key).first()
    if receipt is not None and receipt.user_id != by.pk:
        raise services.LogError(_("This form has expired. Reload the page and try again."))
    return receipt


def _take(*, key: str, by: User, kind: str, url: str) -> None:
    """The receipt, in the caller's transaction (rolled back with the write when the write is refused)."""
    if not key:
        return
    try:
        with transaction.atomic():
            OutboxReceipt.objects.create(key=key, user=by, kind=kind, url=url)
    except IntegrityError:
        receipt = receipt_for(key=key, by=by)
        if receipt is None:
            raise
        raise AlreadyDone(receipt) from None


def sent_before(*, key: str, by: User) -> OutboxReceipt | None:
    """The receipt of a posted key (read before the form: a resend may no longer pass the form's checks, as a
    move to the stage the deal is now in). A key too long or holding NUL is no key."""
    if not key or len(key) > KEY_LENGTH or has_nul(key):
        return None
    return receipt_for(key=key, by=by)


def _earlier(key: str, by: User) -> None:
    if key and (receipt := receipt_for(key=key, by=by)) is not None:
        raise AlreadyDone(receipt)


def plan_item_clear_once(*, item: PlanItem, by: User, done: bool, reason: str, key: str, url: str) -> PlanItem:
    """activity_log.services.plan_item_clear, once per key (raises AlreadyDone for a resend)."""
    _earlier(key, by)
    with transaction.atomic():
        _take(key=key, by=by, kind="clear", url=url)
        return services.plan_item_clear(item=item, by=by, done=done, reason=reason)


@funnel_services.retry_on_lock_conflict
def plan_move_once(*, item: PlanItem, by: User, stage: Stage, version: int | None, key: str, url: str):
    """Moves the plan item's deal through the funnel's own service (its version check and gate apply), once
    per key (raises AlreadyDone for a resend)."""
    _earlier(key, by)
    visible = Opportunity.objects.visible_to(by).filter(pk=item.opportunity_id)
    if item.daily_log.rep_id != by.pk or item.opportunity_id is None or not visible.exists():
        raise services.LogError(_("You can only move the deals of your own plan."))
    with transaction.atomic():
        _take(key=key, by=by, kind="move", url=url)
        return funnel_services.opportunity_move(opportunity=item.opportunity, stage=stage, by=by, version=version)
