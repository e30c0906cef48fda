"""Search-as-you-type pickers for every choice that grows with the data: customers, deals, contacts, people.

A picker is a native <select> holding only the chosen option and a few offered ones (the user's recent and
planned records, then the first by name), with a search box under it. With script, typing asks
`/pick/<source>/` for the matching options (visible to the user, at most LIMIT) and puts them in the select.
Without script, the text typed is read when the form is sent: one match is the choice, several come back as
the select's options with a form error. A page's size and memory never depend on how many records the user
can see; the field still validates the chosen id against its whole (visible) queryset.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.db.models import Model, Q, QuerySet, prefetch_related_objects
from django.db.models.functions import Concat, Upper
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.parsing import parse_id
from config.wording import CHOOSE
from reps.models import User, is_written_in_han

from .. import hooks
from ..models import Account, Contact, Opportunity

LIMIT = 20  # options per search, and options offered before typing
CANDIDATES = 1000  # matches of a search that are sorted by name; beyond them the user is asked to type more
MAX_QUERY = 100
# Shorter searches match the start of names: a trigram index (funnel migration 0018) finds a text anywhere in a
# name from three characters on; one or two ("华为") have no trigram, and a scan of a million names is too slow.
SHORT_QUERY = 3


def _by_name(rows: QuerySet, query: str) -> QuerySet:
    return rows.filter(name__istartswith=query) if len(query) < SHORT_QUERY else rows.filter(name__icontains=query)


def _with_customer(record, params: dict) -> str:
    """A deal or contact, with its customer when the list is not already one customer's."""
    return record.name if params.get("account") else f"{record.name} · {record.account.name}"


def _customers(user: User, params: dict) -> QuerySet:
    return Account.objects.visible_to(user)


def _opportunities(user: User, params: dict) -> QuerySet:
    rows = Opportunity.objects.visible_to(user).open()
    return rows.filter(account=params["account"]) if params.get("account") else rows


def _contacts(user: User, params: dict) -> QuerySet:
    rows = Contact.objects.visible_to(user)
    return rows.filter(account=params["account"]) if params.get("account") else rows


def _people(user: User, params: dict) -> QuerySet:
    rows = User.objects.visible_to(user)
    return rows if params.get("all") else rows.active()


def _search_people(rows: QuerySet, query: str) -> QuerySet:
    """Part of a given name, family name or login; a Chinese name also as it is written (张伟: family name first)."""
    found = Q(first_name__icontains=query) | Q(last_name__icontains=query) | Q(username__icontains=query)
    if is_written_in_han(query):
        rows = rows.annotate(written_name=Concat("last_name", "first_name"))
        found |= Q(written_name__contains=query)
    return rows.filter(found)


def _person(person: User, params: dict) -> str:
    return str(person) if person.is_active else _("%(name)s (deactivated)") % {"name": person}


@dataclass(frozen=True)
class Source:
    """What one kind of picker lists: rows(user, params) is everything the user may choose (the field's
    queryset too), search() narrows it, order sorts it (and is the order an index serves)."""

    rows: Callable[[User, dict], QuerySet]
    label: Callable[[Model, dict], str]
    order: tuple[str, ...] = ("name", "pk")
    search: Callable[[QuerySet, str], QuerySet] = _by_name
    depends_on: tuple[str, ...] = ()  # fields whose chosen id narrows the rows (a customer's deals)
    # Read for the labels while the rows are not narrowed (the customer of each deal), in one query for all
    # the options: joined into the search, it would turn the planner from the name index to a full sort.
    related: tuple[str, ...] = ()
    # A table that may hold a million rows: a short search matches the start of names (SHORT_QUERY), a longer
    # one sorts at most CANDIDATES matches (see _matches).
    large: bool = True
    flags: tuple[str, ...] = ()  # fixed yes/no params a form passes (people: deactivated ones too)
    offers_self: bool = False  # the signed-in user is offered first (people), instead of the recent records
    placeholder: str = field(default=_("Type part of the name"))


SOURCES: dict[str, Source] = {
    "customer": Source(_customers, lambda account, params: account.name),
    "opportunity": Source(_opportunities, _with_customer, depends_on=("account",), related=("account",)),
    "contact": Source(_contacts, _with_customer, depends_on=("account",), related=("account",)),
    "person": Source(
        _people,
        _person,
        order=("-is_active", "first_name", "last_name", "username", "pk"),
        search=_search_people,
        large=False,  # hundreds of people, not a million: found anywhere in a name from one letter
        flags=("all",),
        offers_self=True,
        placeholder=_("Type part of a name or login"),
    ),
}


@dataclass
class Options:
    records: list[Model]
    chosen: int | None
    status: str


def options(
    source: Source,
    rows: QuerySet,
    *,
    params: dict,
    chosen: int | None,
    query: str,
    user: User | None,
    recent: list[int] = (),
    held: list[Model] = (),
) -> Options:
    """The options of one picker: the matches of `query`; else the chosen record, the user's recent ones (or
    those the page already `held`) and the first by name, except while the field it depends on is empty.

    At most three queries, each bounded by LIMIT: the first by name, the wanted ones not among them; or the
    matches (and, with none, the chosen one).
    """
    if query:
        return _matches(source, rows, params=params, chosen=chosen, query=query)
    own = [user.pk] if source.offers_self and user is not None else []
    wanted = list(dict.fromkeys(pk for pk in [chosen, *own, *(record.pk for record in held), *recent] if pk))
    known = {record.pk: record for record in held}
    first: list[Model] = []
    if not any(not params.get(name) for name in source.depends_on):
        first = list(rows.order_by(*source.order)[:LIMIT])
        known |= {record.pk: record for record in first if record.pk not in known}
    missing = [pk for pk in wanted[:LIMIT] if pk not in known]
    if missing:
        known |= {record.pk: record for record in rows.filter(pk__in=missing)}
    records = [known[pk] for pk in wanted if pk in known] + [record for record in first if record.pk not in wanted]
    return Options(_with_related(source, records[:LIMIT], params), chosen if chosen in known else None, "")


def _matches(source: Source, rows: QuerySet, *, params: dict, chosen: int | None, query: str) -> Options:
    """At most LIMIT matches, by name.

    In a large table a search never asks the database for "the first matches by name": it may walk the name
    index a long way when the matches sort late (1% of a million deals: a second). A short search reads the
    first matches it finds (the prefix index's order) and sorts those; a longer one takes at most CANDIDATES
    matches (the trigram index, or a scan that stops early when most names match) and sorts those.
    """
    matches = source.search(rows, query)
    short = source.large and len(query) < SHORT_QUERY
    if short:
        found = sorted(matches.order_by()[:LIMIT], key=lambda record: (str(record).casefold(), record.pk))
    elif source.large:
        # The candidates are the scoped rows' own: read again by id alone, not through the scope (a manager's
        # 45,000 deals hash-joined to a thousand ids took 250 ms).
        candidates = matches.order_by().values("pk")[:CANDIDATES]
        by_id = rows.model._default_manager.filter(pk__in=candidates)
        found = list(by_id.order_by(Upper("name"), "pk")[:LIMIT])
    else:
        found = list(matches.order_by(*source.order)[:LIMIT])
    if not found:
        kept = _with_related(source, list(rows.filter(pk=chosen)) if chosen else [], params)
        return Options(kept, chosen if kept else None, str(_("No match for “%(query)s”.") % {"query": query}))
    ids = [record.pk for record in found]
    status = ngettext("%(count)d match.", "%(count)d matches.", len(found)) % {"count": len(found)}
    if len(found) == LIMIT:
        status = str(_("The first %(count)d matches: type more to narrow them.") % {"count": LIMIT})
    if short:
        status += " " + str(_("Names that start with it: type three letters or more to search inside names."))
    return Options(_with_related(source, found, params), chosen if chosen in ids else ids[0], status)


def _with_related(source: Source, records: list[Model], params: dict) -> list[Model]:
    if source.related and records and not all(params.get(name) for name in source.depends_on):
        prefetch_related_objects(records, *source.related)
    return records


def render_options(source: Source, found: Options, params: dict, empty_label: str | None) -> str:
    """The <option>s; the first (empty) one carries the status a script reads out to screen readers."""
    blank = format_html(
        '<option value=""{} data-status="{}">{}</option>',
        "" if found.chosen else " selected",
        found.status,
        empty_label if empty_label is not None else CHOOSE,
    )
    rest = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((record.pk, " selected" if record.pk == found.chosen else "", source.label(record, params))
         for record in found.records),
    )  # fmt: skip
    return blank + rest


class Picked(str):
    """A posted picker value, with the text typed in its search box."""

    query = ""

    @classmethod
    def read(cls, value, query) -> "Picked":
        picked = cls(value or "")
        # Whitespace squeezed; NUL dropped (PostgreSQL refuses it in a query's text, config.parsing.has_nul).
        picked.query = " ".join(str(query or "").replace("\x00", "").split())[:MAX_QUERY]
        return picked


class PickerSelect(forms.Select):
    """The picker's markup: the select, its search box and a status line for screen readers."""

    def __init__(self, source: str, attrs=None):
        super().__init__(attrs)
        self.source_name = source
        self.user: User | None = None
        self.params: dict = {}
        self.held: list[Model] | None = None  # records the page already holds, offered first (no query)
        self.recent_of: Callable[[], dict] = dict  # the user's recent records per source, read when rendered

    def value_from_datadict(self, data, files, name):
        return Picked.read(data.get(name), data.get(f"{name}__q"))

    def render(self, name, value, attrs=None, renderer=None):
        source, query = SOURCES[self.source_name], getattr(value, "query", "")
        reads_recent = self.held is None and not query and not source.offers_self
        recent = self.recent_of().get(self.source_name, []) if reads_recent else []
        found = options(
            source,
            self.choices.queryset,
            params=self.params,
            chosen=parse_id(value.pk if isinstance(value, Model) else value),
            query=query,
            user=self.user,
            recent=recent,
            held=self.held or [],
        )
        attrs = self.build_attrs(self.attrs, attrs)
        select_id = attrs.get("id") or f"id_{name}"
        url = "{}?{}".format(
            reverse("search:pick", args=[self.source_name]),
            "&".join([f"field={name}", *(f"{flag}=1" for flag in source.flags if self.params.get(flag))]),
        )
        depends = "".join(f", [name='{dependency}']" for dependency in source.depends_on)
        refresh = ""
        if source.depends_on:  # a customer's deals: asked again when the customer changes
            triggers = ", ".join(f"change from:[name='{dependency}']" for dependency in source.depends_on)
            refresh = format_html(
                ' hx-get="{}" hx-trigger="{}" hx-include="this{}" hx-target="this" hx-swap="innerHTML"'
                ' hx-sync="this:replace"',
                url,
                triggers,
                depends,
            )
        return format_html(
            '<div class="picker{invalid}" data-picker>'
            '<select name="{name}"{attrs}{refresh}>{options}</select>'
            '<input type="search" name="{name}__q" id="{select_id}__q" value="{query}" '
            'class="form-control form-control-sm mt-1" autocomplete="off" placeholder="{placeholder}" '
            'aria-label="{search_label}" aria-controls="{select_id}" aria-describedby="{select_id}__status" '
            'hx-get="{url}" hx-trigger="input changed delay:250ms, search" hx-target="previous select" '
            'hx-include="previous select{depends}" hx-swap="innerHTML" hx-sync="this:replace">'
            '<div id="{select_id}__status" class="form-text picker-status" aria-live="polite">'
            "{status}</div></div>",
            invalid=" is-invalid" if "is-invalid" in attrs.get("class", "") else "",
            name=name,
            attrs=flatatt(attrs),
            refresh=refresh,
            options=render_options(source, found, self.params, getattr(self.choices.field, "empty_label", None)),
            select_id=select_id,
            query=query,
            placeholder=source.placeholder,
            search_label=_("Search: %(field)s") % {"field": getattr(self.choices.field, "label", "") or name},
            url=url,
            depends=depends,
            status=found.status,
        )


def model_picker(model: type[Model], name: str, source: str) -> "PickerField":
    """A picker for one of a model's foreign keys, labelled and required as the model field says."""
    model_field = model._meta.get_field(name)
    return PickerField(
        source,
        label=capfirst(model_field.verbose_name),
        required=not model_field.blank,
        help_text=model_field.help_text,
    )


class PickerField(forms.ModelChoiceField):
    """A ModelChoiceField whose widget is a picker: the id is validated against the whole (visible) queryset,
    and text typed in the search box without script is read as a search."""

    def __init__(self, source: str, **kwargs):
        kwargs.setdefault("widget", PickerSelect(source))
        super().__init__(queryset=kwargs.pop("queryset", Account.objects.none()), **kwargs)
        self.source_name = source

    def label_from_instance(self, obj) -> str:
        return SOURCES[self.source_name].label(obj, self.widget.params)

    def to_python(self, value):
        query = getattr(value, "query", "")
        try:
            chosen = super().to_python(str(value) if value is not None else value)
        except forms.ValidationError:
            if not query:
                raise
            chosen = None
        if not query or (chosen is not None and query.casefold() in self.label_from_instance(chosen).casefold()):
            return chosen
        matches = list(SOURCES[self.source_name].search(self.queryset, query)[:2])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise forms.ValidationError(_("Several match “%(query)s”: choose one."), params={"query": query})
        raise forms.ValidationError(_("Nothing matches “%(query)s”."), params={"query": query})


def setup(form: forms.BaseForm, user: User, **flags) -> None:
    """Gives each picker of `form` its rows (visible to `user`, narrowed by the fields it depends on) and,
    when it is rendered, the user's recent records to offer first. Call at the end of the form's __init__."""
    recent: dict = {}

    def recent_of() -> dict:
        if "read" not in recent:  # once per form, and only if a picker is rendered without a search
            recent.update(read=True, records=hooks.picker_recent(user=user))
        return recent["records"]

    for picker in form.fields.values():
        if not isinstance(picker.widget, PickerSelect):
            continue
        source = SOURCES[picker.widget.source_name]
        params = {dependency: parse_id(form[dependency].value()) for dependency in source.depends_on}
        params |= {flag: True for flag in source.flags if flags.get(flag)}
        picker.widget.user, picker.widget.params, picker.widget.recent_of = user, params, recent_of
        picker.queryset = source.rows(user, params)


def hold(form: forms.BaseForm, records: dict[str, list[Model]]) -> None:
    """Offers records the page already holds (field name → records) instead of reading recent ones."""
    for name, held in records.items():
        form.fields[name].widget.held = [record for record in held if record is not None]
