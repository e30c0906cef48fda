"""The catalogue speaks the glossary: docs/glossary.md's "Words we do not use" table, and Chinese punctuation."""

import re
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "docs" / "glossary.md"
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
CJK = "\u3400-\u9fff"


def rejected_words() -> list[tuple[list[str], list[str]]]:
    """(terms to write, words not to write) per row of the glossary's "Words we do not use" table."""
    text = GLOSSARY.read_text(encoding="utf-8")
    section = text.split("## Words we do not use", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not line.startswith("|") or set(cells[0]) <= {"-"} or cells[0] == "Write":
            continue
        rows.append(([t for t in cells[0].split("、") if t], [w for w in cells[1].split("、") if w]))
    return rows


def translations() -> list[tuple[str, str]]:
    """(msgid, msgstr) for every translated entry, each plural form on its own."""
    entries = []
    for entry in polib.pofile(str(CATALOGUE)):
        if entry.obsolete:
            continue
        texts = [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        entries += [(entry.msgid, text) for text in texts if text]
    return entries


def uses(text: str, terms: list[str], word: str) -> bool:
    for term in sorted(terms, key=len, reverse=True):
        text = text.replace(term, "\0")
    return word in text


def test_the_glossary_table_is_read():
    rows = rejected_words()
    assert len(rows) >= 15
    assert (["预警"], ["告警"]) in rows
    assert (["销售漏斗"], ["漏斗"]) in rows


def test_the_check_ignores_a_rejected_word_inside_the_term_itself():
    assert not uses("新的销售漏斗预警", ["销售漏斗"], "漏斗")
    assert uses("登录漏斗", ["销售漏斗"], "漏斗")
    assert uses("共 3 名销售。", ["销售代表"], "名销售")
    assert not uses("共 3 名销售代表。", ["销售代表"], "名销售")


@pytest.mark.parametrize(("terms", "words"), rejected_words(), ids=lambda value: "、".join(value))
def test_no_translation_uses_a_rejected_word(terms, words):
    offenders = [
        f"{msgid!r} → {msgstr!r} ({word})"
        for msgid, msgstr in translations()
        for word in words
        if uses(msgstr, terms, word)
    ]
    assert not offenders, "\n".join(offenders)


# Half-width punctuation touching Chinese text: "请填写金额, 日期", "销售经理: 张伟", "（20%)", "项目(新)".
HALF_WIDTH = re.compile(rf"[{CJK}][,;:!?]|[,;:!?]\s*[{CJK}]|[{CJK}]\s?\(|\)\s?[{CJK}]")
# English "..." between Chinese words, and an English space before or after 、，。：；
SPACED = re.compile(r"\s[、，。：；）]|[、，。：；（]\s")


def test_chinese_translations_use_full_width_punctuation():
    offenders = [
        f"{msgid!r} → {msgstr!r}"
        for msgid, msgstr in translations()
        if HALF_WIDTH.search(re.sub(r"%\([a-z_]+\)[sd]|\{[^}]*\}|https?://\S+", "", msgstr)) or SPACED.search(msgstr)
    ]
    assert not offenders, "\n".join(offenders)


def test_message_contexts_keep_the_two_meanings_apart():
    catalogue = polib.pofile(str(CATALOGUE))

    def translated(msgid, context=None):
        entry = next(e for e in catalogue if e.msgid == msgid and e.msgctxt == context and not e.obsolete)
        return entry.msgstr

    assert translated("Name") == "名称"
    assert translated("Name", "person") == "姓名"
    assert translated("Open") == "在谈"
    assert translated("Open", "alert state") == "待处理"
    assert translated("Next") == "下一页"
    assert translated("Next step: %(step)s") == "下一步：%(step)s"
