"""Amounts are grouped the reader's way, in whole currency units."""

from decimal import Decimal

from django.utils import translation

from funnel.templatetags.funnel_tags import money


def test_money_groups_thousands_and_rounds_to_whole_units(settings):
    settings.CURRENCY_SYMBOL = "¥"
    with translation.override("en"):
        assert money(Decimal("1234567.50")) == "¥1,234,568"
    with translation.override("zh-hans"):
        assert money(Decimal("1234567.49")) == "¥1,234,567"


def test_money_shows_a_dash_for_no_amount():
    assert money(None) == "—"


def test_ids_in_pages_are_never_grouped_but_amounts_are(settings):
    from django.template import Context, Template

    html = Template("{% load funnel_tags %}{{ pk }}|{{ amount|money }}").render(
        Context({"pk": 1246, "amount": Decimal("1234567")})
    )
    assert html == "1246|¥1,234,567"
