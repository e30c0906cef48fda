from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import get_language

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


# Where a language counts large amounts in its own unit: Chinese managers read ¥2,367.4万 faster than
# ¥23,674,000. Only on KPI cards and board column totals; tables and CSV files keep whole yuan.
LARGE_AMOUNT_UNITS = {"zh": (Decimal(10_000), "万")}


@register.filter
def money_short(value) -> str:
    """An amount on a card or a column total, in the reader's unit for large amounts (¥2,367.4万), else `money`."""
    unit = LARGE_AMOUNT_UNITS.get((get_language() or "").split("-")[0])
    if value in (None, "") or unit is None or abs(Decimal(value)) < unit[0]:
        return money(value)
    scaled = (Decimal(value) / unit[0]).quantize(Decimal("0.1"))
    places = 0 if scaled == scaled.to_integral_value() else 1
    return f"{settings.CURRENCY_SYMBOL}{number_format(scaled, places, use_l10n=True, force_grouping=True)}{unit[1]}"
