"""Load balance moves: a rep's chosen customers, with their open deals, contacts and open plan items, to another
active rep of the same team, through the handover's one mover (activity_log.handover.services.handover_confirm:
one transaction, deals locked first, every owner change audited old → new, a reps.Handover record and a receipt
the receiver acknowledges).

The one visibility rule, narrowed to a team: a manager balances the teams they manage, an admin any team; the
giver is a rep of that team and the receiver an active rep of the same team, never an inactive one.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from funnel.models import Account, Contact
from reps.models import Handover, Role, Team, User

from ..handover.services import CustomerPackage, HandoverError, handover_confirm, package

MOVE_LIMIT = 200  # customers in one move: the preview lists every one of them


class BalanceError(Exception):
    """A refused move: nothing moved."""


def balance_teams(user: User) -> QuerySet[Team]:
    """The teams `user` balances: a manager the teams they manage, an admin every team."""
    if not (user.is_authenticated and user.is_active):
        return Team.objects.none()
    if user.role == Role.ADMIN:
        return Team.objects.order_by("name")
    if user.role == Role.MANAGER:
        return Team.objects.filter(manager=user).order_by("name")
    return Team.objects.none()


def team_reps(team: Team) -> QuerySet[User]:
    """The active reps of the team, by name: the rows of the page and the receivers a move may choose."""
    return User.objects.active().filter(team=team, role=Role.REP).order_by("first_name", "last_name", "username")


@dataclass
class MovePreview:
    """Exactly what a move would take: per customer (a handover package), its contacts' names (`contact_names`),
    the giver's open deals and open plan items."""

    customers: list[CustomerPackage]

    @property
    def counts(self) -> dict[str, int]:
        return {
            "customers": len(self.customers),
            "contacts": sum(len(customer.contact_names) for customer in self.customers),
            "opportunities": sum(len(customer.opportunities) for customer in self.customers),
            "plan_items": sum(len(customer.plan_items) for customer in self.customers),
        }


def move_preview(*, from_user: User, account_ids: list[int]) -> MovePreview:
    """The giver's customers among `account_ids` (those they own), as the move would take them. Six queries."""
    customers = [customer for customer in package(from_user, accounts=account_ids) if customer.owned]
    by_id = {customer.account.pk: customer for customer in customers}
    for customer in customers:
        customer.contact_names = []
    rows = Contact.objects.filter(account__in=list(by_id)).order_by("name", "pk").values_list("account", "name")
    for account_id, name in rows:
        by_id[account_id].contact_names.append(name)
    return MovePreview(customers)


def _check(*, team: Team, from_user: User, account_ids: list[int], to_user: User, by: User) -> None:
    if not balance_teams(by).filter(pk=team.pk).exists():
        raise BalanceError(_("You can balance only the teams you manage."))
    if from_user.team_id != team.pk or from_user.role != Role.REP:
        raise BalanceError(_("%(person)s is not a rep of %(team)s.") % {"person": from_user, "team": team})
    if to_user.pk == from_user.pk or not team_reps(team).filter(pk=to_user.pk).exists():
        raise BalanceError(_("The receiver must be another active rep of %(team)s.") % {"team": team})
    if not account_ids:
        raise BalanceError(_("Choose at least one customer to move."))
    if len(account_ids) > MOVE_LIMIT:
        raise BalanceError(_("Move at most %(limit)d customers at a time.") % {"limit": MOVE_LIMIT})


def balance_move(
    *, team: Team, from_user: User, account_ids: list[int], to_user: User, by: User, note: str = ""
) -> Handover:
    """Moves the giver's chosen customers (each with its contacts, the giver's open deals there and their open
    plan items for it) to `to_user`, in one transaction, recorded as a handover. Refused (BalanceError, nothing
    moved) outside `by`'s teams, across teams, to an inactive or non-rep receiver, for a customer the giver
    does not own (any more), or for none or too many customers."""
    account_ids = sorted(set(account_ids))
    _check(team=team, from_user=from_user, account_ids=account_ids, to_user=to_user, by=by)
    with transaction.atomic():
        owned = Account.objects.filter(pk__in=account_ids, owner=from_user).values_list("pk", flat=True)
        if set(owned) != set(account_ids):
            raise BalanceError(
                _("Some of these customers no longer belong to %(person)s. Choose them again.") % {"person": from_user}
            )
        try:
            return handover_confirm(
                from_user=from_user, assignments=dict.fromkeys(account_ids, to_user), by=by, note=note
            )
        except HandoverError as error:
            raise BalanceError(str(error)) from error
