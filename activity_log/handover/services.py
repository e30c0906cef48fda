"""Handover (交接) of a departing or moving person's book: the package, who may give and receive it, and the one
write that moves it.

It lives in activity_log because it moves plan items as well as the funnel's customers and deals (activity_log
may import funnel; funnel and reps may not import activity_log). reps.Handover keeps the record.

What moves, per customer assigned a receiver: the customer (if the person owns it) with its contacts, the
person's open deals at that customer, and the person's open plan items for it from today on (each to the
receiver's log of the same day). What stays: closed (won or lost) deals keep their owner for history;
activities, stage history and past logs stay the person's; other people's records are never touched.
All of it in one transaction (the deals locked first, in ascending id: the documented lock order).
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from funnel.insights import rollup
from funnel.models import Account, Contact, Opportunity, StageKind
from reps.models import AuditAction, Handover, HandoverItem, HandoverReceipt, Role, User
from reps.services import audit_record

from .. import notifications
from ..models import PlanItem, PlanItemStatus
from ..services import daily_log_get, local_today


class HandoverError(Exception):
    """A refused handover: nothing moved."""


def givers(by: User) -> QuerySet[User]:
    """Whose book `by` may hand over: a manager anyone of their teams (deactivated people included), an admin
    anyone; never themselves."""
    if by.role not in (Role.MANAGER, Role.ADMIN):
        return User.objects.none()
    return User.objects.visible_to(by).exclude(pk=by.pk)


def receivers(by: User, from_user: User) -> QuerySet[User]:
    """Who may receive: the active reps of `by`'s teams (an admin: of any team), not the giver."""
    return givers(by).active().filter(role=Role.REP).exclude(pk=from_user.pk)


@dataclass
class CustomerPackage:
    account: Account
    owned: bool  # the giver owns the customer (else only their deals there move)
    opportunities: list[Opportunity] = field(default_factory=list)
    plan_items: list[PlanItem] = field(default_factory=list)
    contacts: int = 0
    last_activity: datetime | None = None


def _open_plan_items(from_user: User) -> QuerySet[PlanItem]:
    """The giver's planned (not cleared) items from their today on."""
    return PlanItem.objects.filter(
        daily_log__rep=from_user, daily_log__date__gte=local_today(from_user), status=PlanItemStatus.PLANNED
    )


def package(from_user: User, accounts: list[int] | None = None) -> list[CustomerPackage]:
    """The giver's book, per customer by name: the customers they own and those of their open deals, each with
    those deals (stage, amount, next step), open plan items, the number of contacts and the last activity
    (anyone's) at the customer; only the customers among `accounts` when given (a load-balance move). Five
    queries however large the book."""
    deals = Opportunity.objects.filter(owner=from_user, status=StageKind.OPEN).select_related("stage").order_by("name")
    owned = Account.objects.filter(owner=from_user)
    if accounts is not None:
        deals, owned = deals.filter(account__in=accounts), owned.filter(pk__in=accounts)
    deals = list(deals)
    ids = set(owned.values_list("pk", flat=True)) | {d.account_id for d in deals}
    accounts = Account.objects.filter(pk__in=ids).annotate(last=Max("activities__when")).order_by("name", "pk")
    customers = {a.pk: CustomerPackage(a, a.owner_id == from_user.pk, last_activity=a.last) for a in accounts}
    for deal in deals:
        customers[deal.account_id].opportunities.append(deal)
    for item in _open_plan_items(from_user).filter(account__in=ids).select_related("kind", "daily_log"):
        customers[item.account_id].plan_items.append(item)
    counts = Contact.objects.filter(account__in=[pk for pk, c in customers.items() if c.owned])
    for account_id in counts.values_list("account_id", flat=True):
        customers[account_id].contacts += 1
    return list(customers.values())


def handover_confirm(*, from_user: User, assignments: dict[int, User], by: User, note: str = "") -> Handover:
    """Moves each assigned customer (account id → receiver) of the giver's package to its receiver, in one
    transaction, and records it (reps.Handover, one HandoverItem per moved object, a receipt per receiver;
    audited; each receiver notified). Refused (HandoverError, nothing moved) when `by` may not hand over this
    person's book, a receiver is not one `by` may choose, nothing is assigned, or a customer is not in the
    package."""
    if not givers(by).filter(pk=from_user.pk).exists():
        raise HandoverError(_("You can hand over only the books of your teams' people."))
    if not assignments:
        raise HandoverError(_("Choose a receiver for at least one customer."))
    allowed = set(receivers(by, from_user).values_list("pk", flat=True))
    if any(receiver.pk not in allowed for receiver in assignments.values()):
        raise HandoverError(_("A receiver must be an active rep of your teams."))
    with transaction.atomic():
        return _move(from_user, assignments, by, note)


def _move(from_user: User, assignments: dict[int, User], by: User, note: str) -> Handover:
    deals = list(
        Opportunity.objects.select_for_update(of=("self",))
        .filter(owner=from_user, status=StageKind.OPEN, account__in=list(assignments))
        .order_by("pk")
    )
    accounts = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=list(assignments)).order_by("pk")}
    in_package = {deal.account_id for deal in deals} | {pk for pk, a in accounts.items() if a.owner_id == from_user.pk}
    if set(assignments) - in_package:
        raise HandoverError(_("The book changed while you were assigning it. Review the package again."))
    handover = Handover.objects.create(from_user=from_user, by=by, note=note)
    items: list[HandoverItem] = []

    def moved(obj, receiver: User, label: str) -> None:
        items.append(HandoverItem(handover=handover, to_user=receiver, object_type=obj._meta.label_lower,
                                  object_id=obj.pk, label=label[:300]))  # fmt: skip

    for deal in deals:
        receiver = assignments[deal.account_id]
        audit_record(action=AuditAction.OWNER_CHANGED, actor=by, obj=deal,
                     detail={"owner": [from_user.pk, receiver.pk], "handover": handover.pk})  # fmt: skip
        rollup.mark_deals_dirty([(from_user.pk, deal.pk), (receiver.pk, deal.pk)])
        Opportunity.objects.filter(pk=deal.pk).update(owner=receiver, version=deal.version + 1)
        moved(deal, receiver, deal.name)
    for account in accounts.values():
        if account.owner_id != from_user.pk:
            continue
        receiver = assignments[account.pk]
        audit_record(action=AuditAction.OWNER_CHANGED, actor=by, obj=account,
                     detail={"owner": [from_user.pk, receiver.pk], "handover": handover.pk})  # fmt: skip
        Account.objects.filter(pk=account.pk).update(owner=receiver)
        moved(account, receiver, account.name)
        for contact in Contact.objects.filter(account=account).order_by("pk"):
            moved(contact, receiver, contact.name)
    _move_plan_items(from_user, assignments, moved)
    HandoverItem.objects.bulk_create(items)
    for receiver in {receiver.pk: receiver for receiver in assignments.values()}.values():
        HandoverReceipt.objects.create(handover=handover, receiver=receiver)
    notifications.handed_over(handover, dict(Counter(item.to_user.pk for item in items)))
    audit_record(action=AuditAction.HANDED_OVER, actor=by, obj=handover,
                 detail={"from": from_user.pk, "to": sorted({r.pk for r in assignments.values()}),
                         "items": len(items)})  # fmt: skip
    return handover


def _move_plan_items(from_user: User, assignments: dict[int, User], moved) -> None:
    """Each open plan item for an assigned customer to the receiver's log of the same day."""
    plan = _open_plan_items(from_user).filter(account__in=list(assignments)).select_related("daily_log", "kind")
    for item in plan.select_for_update(of=("self",)).order_by("pk"):
        receiver = assignments[item.account_id]
        item.daily_log = daily_log_get(rep=receiver, day=item.daily_log.date)
        item.save(update_fields=["daily_log"])
        moved(item, receiver, str(item))


def handover_acknowledge(*, handover: Handover, by: User) -> bool:
    """The receiver acknowledges the handover; False when they had already (nothing changes)."""
    updated = HandoverReceipt.objects.filter(handover=handover, receiver=by, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now()
    )
    return bool(updated)
