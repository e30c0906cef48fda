"""What a person still owns in the funnel: the customers and open deals that a handover would move, and the
orphans report's rows (customers and open deals whose owner is deactivated)."""

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from reps.models import User

from ..models import Account, Opportunity, StageKind


def book_counts(*, user: User) -> dict[str, int]:
    """{label: count} of the customers and open deals the person owns (two counts on indexed owner columns)."""
    return {
        _("customers"): Account.objects.filter(owner=user).count(),
        _("open opportunities"): Opportunity.objects.filter(owner=user, status=StageKind.OPEN).count(),
    }


def orphan_owners(user: User) -> QuerySet[User]:
    """The deactivated people in `user`'s view who still own customers or open deals, with how many of each,
    by name."""
    customers = Account.objects.filter(owner=OuterRef("pk")).values("owner").annotate(n=Count("*")).values("n")
    deals = (
        Opportunity.objects.filter(owner=OuterRef("pk"), status=StageKind.OPEN)
        .values("owner")
        .annotate(n=Count("*"))
        .values("n")
    )
    return (  # counted per person on the owner indexes (two joins would multiply customers by deals)
        User.objects.visible_to(user)
        .filter(is_active=False)
        .annotate(customers=Coalesce(Subquery(customers), 0), open_deals=Coalesce(Subquery(deals), 0))
        .filter(Q(customers__gt=0) | Q(open_deals__gt=0))
        .order_by("first_name", "last_name", "username")
    )
