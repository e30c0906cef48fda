"""Punctuation that code puts between words, in the reader's language.

English joins a list with ", " and clauses with "; ", and writes "Label: value" and "(note)". Chinese text
uses the enumeration comma 、, the full-width ；and ：, and full-width brackets（）. Every list or label joined
in code goes through these helpers, so a sentence is never glued together with English punctuation. The
separators are catalogue entries with a message context; a language without them keeps the English ones.
"""

from collections.abc import Iterable

from django.utils.translation import ngettext_lazy, pgettext


def join_list(items: Iterable) -> str:
    """Items of one list: "Amount, Expected close" / "金额、预计成交日期"."""
    return pgettext("list separator", ", ").join(str(item) for item in items)


def join_clauses(items: Iterable) -> str:
    """Whole clauses: "Quote sent; Decision date agreed" / "报价已发出；决策日期已约定"."""
    return pgettext("clause separator", "; ").join(str(item) for item in items)


def colon() -> str:
    """After a label: ": " / "：". Templates write it as {% translate ": " context "after a label" %}."""
    return pgettext("after a label", ": ")


def bracketed(text) -> str:
    """A note after a word: " (20%)" / "（20%）" (no space before a full-width bracket)."""
    return pgettext("note in brackets after a word", " (%(text)s)") % {"text": text}


# Django's own catalogue counts days in timesince as "2 日"; Chinese business software says 天. The same
# message as Django's, marked here so that makemessages keeps it in the project's catalogue, which wins.
TIMESINCE_DAYS = ngettext_lazy("%(num)d day", "%(num)d days", "num")
