from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.formats import number_format

register = template.Library()


@register.filter
def money(value) -> str:
    """An amount in the organisation's currency, whole units, grouped the way the reader's language groups."""
    if value in (None, ""):
        return "—"
    rounded = Decimal(value).quantize(Decimal(1))
    return f"{settings.CURRENCY_SYMBOL}{number_format(rounded, 0, use_l10n=True, force_grouping=True)}"


@register.filter
def days_in_stage(opportunity, now) -> int:
    return opportunity.days_in_stage(now)
