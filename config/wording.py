"""Punctuation that code puts between words, in the reader's language.

English joins a list with ", " and clauses with "; ", and writes "Label: value" and "(note)". Chinese text
uses the enumeration comma 、, the full-width ；and ：, and full-width brackets（）. Every list or label joined
in code goes through these helpers, so a sentence is never glued together with English punctuation. The
separators are catalogue entries with a message context; a language without them keeps the English ones.
"""

from collections.abc import Iterable

from django import forms
from django.db.models import fields as model_fields
from django.utils.translation import ngettext_lazy, pgettext, pgettext_lazy


def join_list(items: Iterable) -> str:
    """Items of one list: "Amount, Expected close" / "金额、预计成交日期"."""
    return pgettext("list separator", ", ").join(str(item) for item in items)


def join_clauses(items: Iterable) -> str:
    """Whole clauses: "Quote sent; Decision date agreed" / "报价已发出；决策日期已约定"."""
    return pgettext("clause separator", "; ").join(str(item) for item in items)


def join_sentences(items: Iterable) -> str:
    """Whole sentences one after another: "One. Two." / "一。二。" (Chinese puts no space after 。)."""
    sentences = [str(item) for item in items]
    if not sentences:
        return ""
    pair = pgettext("one sentence after another", "%(first)s %(next)s")
    joined = sentences[0]
    for sentence in sentences[1:]:
        joined = pair % {"first": joined, "next": sentence}
    return joined


def colon() -> str:
    """After a label: ": " / "：". Templates write it as {% translate ": " context "after a label" %}."""
    return pgettext("after a label", ": ")


def bracketed(text) -> str:
    """A note after a word: " (20%)" / "（20%）" (no space before a full-width bracket)."""
    return pgettext("note in brackets after a word", " (%(text)s)") % {"text": text}


# A select's empty choice. Django offers "---------"; a form asks to choose (请选择), a filter offers everything
# (全部).
CHOOSE = pgettext_lazy("empty choice of a select", "Choose…")
ALL = pgettext_lazy("empty choice of a filter", "All")


def use_readable_empty_choices() -> None:
    """Every select's empty choice says "Choose…" instead of "---------" (reps' AppConfig.ready calls this):
    ModelChoiceField's default label, and the blank choice Django adds to a model field's choices."""
    forms.ModelChoiceField.__init__.__kwdefaults__["empty_label"] = CHOOSE
    model_fields.BLANK_CHOICE_DASH[:] = [("", CHOOSE)]


def filter_choices(form: forms.Form) -> None:
    """In a filter form, an empty choice means every row: "All" (全部) instead of "Choose…"."""
    for field in form.fields.values():
        if getattr(field, "empty_label", None) is CHOOSE:
            field.empty_label = ALL


# Django's own catalogue counts days in timesince as "2 日"; Chinese business software says 天. The same
# message as Django's, marked here so that makemessages keeps it in the project's catalogue, which wins.
TIMESINCE_DAYS = ngettext_lazy("%(num)d day", "%(num)d days", "num")
