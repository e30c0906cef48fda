"""Chinese conventions: amounts on cards and board totals in 万 (tables keep whole yuan), the weekday on the daily
log's heading, and Django's timesince counting 天, not 日."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from funnel.templatetags.funnel_tags import money_short
from tests.factories import OpportunityFactory


def test_large_amounts_read_in_wan_in_chinese_and_whole_in_english():
    with translation.override("zh-hans"):
        assert money_short(Decimal("23674000")) == "¥2,367.4万"
        assert money_short(Decimal("12000000")) == "¥1,200万"
        assert money_short(Decimal("-50000")) == "¥-5万"
        assert money_short(Decimal("9500")) == "¥9,500"
        assert money_short(None) == "—"
    with translation.override("en"):
        assert money_short(Decimal("23674000")) == "¥23,674,000"


@pytest.mark.django_db
def test_home_cards_and_board_totals_in_wan_while_the_list_keeps_yuan(client_for, rep, pipeline):
    rep.language = "zh-hans"
    rep.save()
    OpportunityFactory(owner=rep, amount=Decimal("23674000"))
    client = client_for(rep)
    assert "¥2,367.4万" in client.get(reverse("funnel:home")).content.decode()
    assert "¥2,367.4万" in client.get(reverse("opportunities:board")).content.decode()
    assert "¥23,674,000" in client.get(reverse("opportunities:list")).content.decode()


@pytest.mark.django_db
def test_the_daily_log_heading_names_the_weekday(client_for, rep):
    rep.language = "zh-hans"
    rep.save()
    with time_machine.travel(datetime(2026, 12, 3, 2, 0, tzinfo=UTC), tick=False):
        page = client_for(rep).get(reverse("log:today")).content.decode()
    assert "2026年12月3日 星期四" in page
    rep.language = "en"
    rep.save()
    with time_machine.travel(datetime(2026, 12, 3, 2, 0, tzinfo=UTC), tick=False):
        assert "Thursday, December 3, 2026" in client_for(rep).get(reverse("log:today")).content.decode()


def test_timesince_counts_days_as_tian():
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    template = Template("{{ then|timesince:now }}")
    with translation.override("zh-hans"):
        text = template.render(Context({"then": now - timedelta(days=2, hours=3), "now": now}))
    assert text.startswith("2\xa0天") and "日" not in text
