"""The admin's writes of marketing settings: campaigns (a list like sources, with an optional source and dates)
and what a source or a campaign cost per month (funnel.insights.marketing reads both).

Every change writes one CONFIG_CHANGED audit row with {field: [old, new]} in JSON-safe values (names, ISO dates,
amounts as text); a refusal raises FunnelError and changes nothing. Campaigns are never deleted (deals point at
them); a cost entered by mistake may be deleted, and the deletion is audited with what it held.
"""

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from reps.models import AuditAction, User
from reps.quotas import month_of
from reps.services import audit_record, store_changes

from ..models import Campaign, MarketingCost, Source
from ..opportunities.services import FunnelError

CAMPAIGN_FIELDS = ["name", "source", "starts_on", "ends_on", "is_active"]
LARGEST_COST = Decimal("999999999999.99")  # max_digits=14, decimal_places=2


def audit_value(value) -> str | bool | None:
    """A value as the audit trail keeps it: a source or campaign by its name, a date in ISO, an amount with two
    places."""
    if isinstance(value, Source | Campaign):
        return value.name
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _audit(*, by: User, obj, detail: dict) -> None:
    audit_record(action=AuditAction.CONFIG_CHANGED, actor=by, obj=obj, detail=detail)


# --- Campaigns -------------------------------------------------------------------------------------------


def _check_campaign(*, name: str, starts_on: date | None, ends_on: date | None, exclude: int | None = None) -> None:
    if Campaign.objects.filter(name__iexact=name).exclude(pk=exclude).exists():
        raise FunnelError(_("“%(name)s” is already in the list.") % {"name": name})
    if starts_on and ends_on and ends_on < starts_on:
        raise FunnelError(_("A campaign ends on or after the day it starts."))


@transaction.atomic
def campaign_create(
    *, name: str, by: User, source: Source | None = None, starts_on: date | None = None, ends_on: date | None = None
) -> Campaign:
    """A new active campaign; deals may name it from now on."""
    _check_campaign(name=name, starts_on=starts_on, ends_on=ends_on)
    campaign = Campaign.objects.create(name=name, source=source, starts_on=starts_on, ends_on=ends_on)
    _audit(
        by=by, obj=campaign, detail={field: [None, audit_value(getattr(campaign, field))] for field in CAMPAIGN_FIELDS}
    )
    return campaign


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    by: User,
    name: str,
    source: Source | None,
    starts_on: date | None,
    ends_on: date | None,
    is_active: bool,
) -> Campaign:
    """Renames, re-dates, re-sources, activates or deactivates a campaign; deals that name it keep it (a
    deactivated campaign is only left out of new choices). Old values are the stored row's."""
    current = Campaign.objects.select_for_update(of=("self",)).select_related("source").get(pk=campaign.pk)
    _check_campaign(name=name, starts_on=starts_on, ends_on=ends_on, exclude=current.pk)
    new = {"name": name, "source": source, "starts_on": starts_on, "ends_on": ends_on, "is_active": is_active}
    changes = store_changes(current, new, shown=audit_value)
    if changes:
        _audit(by=by, obj=current, detail=changes)
    return current


# --- Costs per month -------------------------------------------------------------------------------------


def _subject(cost: MarketingCost) -> dict:
    return {"source": cost.source} if cost.source_id else {"campaign": cost.campaign}


def _check_amount(amount: Decimal) -> None:
    if amount < 0 or amount > LARGEST_COST:
        raise FunnelError(_("Enter a cost from 0 to 999,999,999,999.99."))


@transaction.atomic
def marketing_cost_set(
    *, by: User, month: date, amount: Decimal, source: Source | None = None, campaign: Campaign | None = None
) -> tuple[MarketingCost, bool]:
    """Sets what a source or a campaign (exactly one) cost in the calendar month holding `month`: a month already
    entered takes the new amount. Returns the cost and whether it is new."""
    if (source is None) == (campaign is None):
        raise FunnelError(_("Choose a source or a campaign."))
    _check_amount(amount)
    start, end = month_of(month)
    subject = {"source": source} if source is not None else {"campaign": campaign}
    current = MarketingCost.objects.select_for_update().filter(**subject, period_start=start, period_end=end).first()
    if current is not None:
        return marketing_cost_update(cost=current, by=by, amount=amount), False
    try:
        with transaction.atomic():  # two admins entering the same month at once: the second is told, not a 500
            cost = MarketingCost.objects.create(
                **subject, period_start=start, period_end=end, amount=amount, updated_by=by
            )
    except IntegrityError as error:
        raise FunnelError(
            _("Someone else entered this month's cost just now. Reload the page and check it.")
        ) from error
    detail = {name: [None, audit_value(value)] for name, value in subject.items()}
    detail |= {"period_start": [None, start.isoformat()], "period_end": [None, end.isoformat()],
               "amount": [None, audit_value(amount)]}  # fmt: skip
    _audit(by=by, obj=cost, detail=detail)
    return cost, True


@transaction.atomic
def marketing_cost_update(*, cost: MarketingCost, by: User, amount: Decimal) -> MarketingCost:
    """Changes the amount of an entered cost; nothing written when it is the amount already stored."""
    _check_amount(amount)
    current = MarketingCost.objects.select_for_update().get(pk=cost.pk)
    if current.amount != amount:
        old = current.amount
        current.amount, current.updated_by = amount, by
        current.save(update_fields=["amount", "updated_by", "updated_at"])
        detail = {name: audit_value(value) for name, value in _subject(current).items()}
        detail |= {"period_start": current.period_start.isoformat(), "amount": [audit_value(old), audit_value(amount)]}
        _audit(by=by, obj=current, detail=detail)
    return current


@transaction.atomic
def marketing_cost_delete(*, cost: MarketingCost, by: User) -> None:
    """Removes a cost entered by mistake; the audit row keeps what it held."""
    found = (
        MarketingCost.objects.select_for_update(of=("self",)).select_related("source", "campaign").filter(pk=cost.pk)
    )
    current = found.first()
    if current is None:
        return  # deleted already (a second click): nothing to do
    detail = {name: [audit_value(value), None] for name, value in _subject(current).items()}
    detail |= {
        "period_start": [current.period_start.isoformat(), None],
        "period_end": [current.period_end.isoformat(), None],
        "amount": [audit_value(current.amount), None],
    }
    _audit(by=by, obj=current, detail=detail)
    current.delete()
