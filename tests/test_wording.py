"""Nothing assembled in English: lists, clauses, labels and brackets joined in code read as the language writes
them, and the import's messages name columns by their labels (config.wording, funnel.transfer.import_reading)."""

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from config import wording
from funnel.models import ImportBatch, Pipeline, Stage
from funnel.opportunities.forms import StageChoiceField
from funnel.opportunities.services import GateFailed
from funnel.transfer import import_reading
from funnel.transfer.import_reading import ImportRefused, parse_csv

CUSTOMERS, OPPORTUNITIES = ImportBatch.Kind.CUSTOMERS, ImportBatch.Kind.OPPORTUNITIES


def test_lists_labels_and_brackets_in_english():
    with translation.override("en"):
        assert wording.join_list(["Amount", "Contact"]) == "Amount, Contact"
        assert wording.join_clauses(["Quote sent", "Date agreed"]) == "Quote sent; Date agreed"
        assert wording.colon() == ": "
        assert wording.bracketed("20%") == " (20%)"
        assert wording.join_sentences(["One.", "Two."]) == "One. Two."


def test_lists_labels_and_brackets_in_chinese():
    with translation.override("zh-hans"):
        assert wording.join_list(["金额", "联系人"]) == "金额、联系人"
        assert wording.join_clauses(["报价已发出", "决策日期已约定"]) == "报价已发出；决策日期已约定"
        assert wording.colon() == "："
        assert wording.bracketed("20%") == "（20%）"
        assert wording.join_sentences(["一。", "二。"]) == "一。二。"
        rendered = Template("{% load wording %}{{ items|join_list }}|{{ items|join_clauses }}|{{ '20%'|bracketed }}")
        assert rendered.render(Context({"items": ["甲", "乙"]})) == "甲、乙|甲；乙|（20%）"


def test_the_gate_message_is_one_chinese_sentence():
    with translation.override("zh-hans"):
        error = GateFailed(Stage(name="谈判签约"), ["金额", "预计成交日期"], ["报价已发出", "决策日期已约定"])
    assert str(error) == "进入“谈判签约”前，请填写金额、预计成交日期，并确认检查清单：报价已发出；决策日期已约定。"


def test_the_stage_choice_puts_the_probability_in_the_languages_brackets():
    stage = Stage(name="需求分析", probability=20, pipeline=Pipeline(name="项目销售"))
    field = StageChoiceField(queryset=Stage.objects.none())
    with translation.override("zh-hans"):
        assert field.label_from_instance(stage) == "项目销售 · 需求分析（20%）"
    with translation.override("en"):
        assert field.label_from_instance(stage) == "项目销售 · 需求分析 (20%)"


def test_import_errors_name_columns_by_their_labels_in_the_users_language():
    with translation.override("zh-hans"):
        with pytest.raises(ImportRefused) as unknown:
            parse_csv("名称,颜色\nA,红\n", CUSTOMERS)
        with pytest.raises(ImportRefused) as missing:
            parse_csv("名称,金额\nA,1\n", OPPORTUNITIES)
        with pytest.raises(ImportRefused) as twice:
            parse_csv("name,名称\nA,B\n", CUSTOMERS)
    assert str(unknown.value) == (
        "无法识别的列：颜色。可用的列为：名称、负责人、行业、城市、地址、电话、官网、备注、销售区域。"
    )
    assert str(missing.value).startswith("缺少“客户”列")
    assert str(twice.value) == "“名称”列重复出现。"
    with translation.override("en"), pytest.raises(ImportRefused) as english:
        parse_csv("name,colour\nA,red\n", CUSTOMERS)
    assert "The accepted columns are: Name, Owner, Industry, City, Address, Phone, Website, Notes, Territory." in str(
        english.value
    )


def test_the_chinese_template_speaks_the_glossary_and_earlier_headers_still_read():
    assert import_reading.template_header(CUSTOMERS, chinese=True)[6] == "官网"
    header = import_reading.template_header(OPPORTUNITIES, chinese=True)
    assert header[-3:] == ["说明", "关闭日期", "输单原因"]
    # Files made from the earlier Chinese template keep working.
    parsed = parse_csv("名称,客户,描述,丢单原因\nA,B,C,D\n", OPPORTUNITIES)
    assert parsed.fields == ["name", "customer", "description", "lost_reason"]
    assert parse_csv("名称,网站\nA,https://a.cn\n", CUSTOMERS).fields == ["name", "website"]


@pytest.mark.django_db
def test_selects_offer_choose_and_filters_all_never_dashes(client_for, rep, pipeline):
    rep.language = "zh-hans"
    rep.save()
    client = client_for(rep)
    new_deal = client.get(reverse("opportunities:create")).content.decode()
    deals = client.get(reverse("opportunities:list")).content.decode()
    alerts = client.get(reverse("health:alert_list")).content.decode()
    for page in (new_deal, deals, alerts):
        assert "---------" not in page
    assert ">请选择</option>" in new_deal
    assert (
        '<select name="stage" class="fastselect form-select" id="id_stage"><option value="" selected>全部</option>'
        in deals
    )
