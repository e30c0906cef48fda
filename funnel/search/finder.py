"""The global search: customers, contacts and deals the user may see, by name, phone or e-mail, ranked.

Each kind is searched in three tiers, best first: the whole name (or e-mail) is the text; it starts with the
text; the text is anywhere in it (or in the phone's digits, or, for a deal, in its customer's name). Each tier
reads at most CAP matches by id and sorts those by name; a search that finds more says "200+" and asks for
more letters, so no search sorts a million rows. Indexes (PostgreSQL, funnel migrations 0018 and 0026):

- the prefix indexes on UPPER(name) (text_pattern_ops) serve the first two tiers, from one character;
- "anywhere" takes a trigram GIN index from three characters, a two-character piece index (loudou_bigrams)
  for two ("宁波" inside "浙江宁波港"); one character matches the start of names only;
- a phone is compared as its digits ("138 0013 8000" finds "13800138000" and "+86 138-0013-8000").

SQLite, the embedded database, compares the text with LIKE and has none of these indexes.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, CharField, Func, Model, Q, QuerySet, Transform, Value
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from reps.models import User

from ..models import Account, Contact, Opportunity

# Matches read per tier and kind; beyond them the count reads "200+". Each tier's cost grows with it (a manager's
# 1,000 matches of 宁波 took 85 ms a tier to read and sort on a loaded machine, 200 a fifth of that).
CAP = 200
# Deals read for the CAP customers of the last tier, before visibility: room for 25 deals a customer.
RELATED_CAP = 25 * CAP
MAX_QUERY = 100
PHONE = re.compile(r"^\+?[\d\s().\-/]+$")
MIN_PHONE_DIGITS = 3


def clean(query: str | None) -> str:
    """Whitespace squeezed, NUL dropped (PostgreSQL refuses it in a query's text), at most MAX_QUERY long."""
    return " ".join(str(query or "").replace("\x00", "").split())[:MAX_QUERY]


class Digits(Transform):
    """`phone__digits`: a phone's digits, the expression the phone indexes are built on (migration 0026)."""

    lookup_name = "digits"
    output_field = CharField()
    template = "regexp_replace((%(expressions)s)::text, '[^0-9]+', '', 'g')"

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        for separator in " -().+/":
            sql = f"REPLACE({sql}, '{separator}', '')"
        return sql, params


class HasPiece(Func):
    """PostgreSQL: the name holds this two-character text (the loudou_bigrams index of migration 0026)."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra):
        (column, column_params), (text, text_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return f"loudou_bigrams(UPPER(({column})::text)) @> ARRAY[UPPER({text})]::text[]", (
            *column_params,
            *text_params,
        )


for _model in (Account, Contact):
    _model._meta.get_field("phone").register_lookup(Digits)


def _inside(field: str, query: str) -> Q:
    """`query` anywhere in the text of `field`: an empty condition for one character (start of names only)."""
    if len(query) >= 3 or (len(query) == 2 and connection.vendor != "postgresql"):
        return Q(**{f"{field}__icontains": query})
    if len(query) == 2:
        return Q(HasPiece(field, Value(query, output_field=CharField())))
    return Q(pk__in=[])


def _phone(field: str, query: str) -> Q:
    """The digits typed anywhere in the phone's digits, when the text is a phone number (3 digits or more)."""
    digits = re.sub(r"\D", "", query)
    if not PHONE.match(query) or len(digits) < MIN_PHONE_DIGITS:
        return Q(pk__in=[])
    return Q(**{f"{field}__digits__contains": digits})


@dataclass(frozen=True)
class Kind:
    """One kind of record the search finds: its rows for a user and its three tiers' conditions."""

    key: str
    label: str
    model: type[Model]
    exact: Callable[[str], Q]
    prefix: Callable[[str], Q]
    inside: Callable[[str], Q]
    related: tuple[str, ...]
    # A last tier, searched apart: an OR with the others would keep the planner from their indexes.
    related_match: Callable[[str], Q] | None = None

    def rows(self, user: User) -> QuerySet:
        return self.model.objects.visible_to(user, listed=True)


def _of_customers(query: str) -> Q:
    """A deal whose customer's name starts with or holds the text: at most CAP customers (any owner's: the deal's
    own visibility decides), read first. Their ids, not a subquery: given a subquery, the planner expects many
    matches and walks the whole deals table hoping to stop early."""
    # One condition, one index: "holds" covers "starts with" from two characters.
    holds = Q(name__istartswith=query) if len(query) < 2 else _inside("name", query)
    return Q(account__in=list(Account.objects.filter(holds).order_by().values_list("pk", flat=True)[:CAP]))


KINDS: dict[str, Kind] = {
    "customer": Kind(
        "customer",
        _("Customers"),
        Account,
        lambda query: Q(name__iexact=query),
        lambda query: Q(name__istartswith=query),
        lambda query: _inside("name", query) | _phone("phone", query),
        ("owner",),
    ),
    "contact": Kind(
        "contact",
        _("Contacts"),
        Contact,
        lambda query: Q(name__iexact=query) | Q(email__iexact=query),
        lambda query: Q(name__istartswith=query) | Q(email__istartswith=query),
        lambda query: (
            _inside("name", query)
            | _phone("phone", query)
            | (Q(email__icontains=query) if len(query) >= 3 else Q(pk__in=[]))
        ),
        ("account",),
    ),
    "opportunity": Kind(
        "opportunity",
        _("Opportunities"),
        Opportunity,
        lambda query: Q(name__iexact=query),
        lambda query: Q(name__istartswith=query),
        lambda query: _inside("name", query),
        ("account", "stage", "owner"),
        related_match=_of_customers,
    ),
}


def ranked_ids(kind: Kind, user: User, query: str, *, cap: int = CAP) -> list[int]:
    """The ids of the user's matches of one kind, best first: whole, start, anywhere (then, for deals, their
    customer's name); by name in each tier. A query per tier (two for the customers' one), each reading at most
    `cap` ids; a tier is not read once `cap` ids are found."""
    rows = kind.rows(user)
    found: dict[int, None] = {}
    for tier_of in (kind.exact, kind.prefix, kind.inside, kind.related_match):
        if len(found) >= cap or tier_of is None:
            break
        condition = tier_of(query)
        if _never(condition):
            continue
        matches = rows.filter(condition)
        if tier_of is kind.related_match:
            # At most CAP customers' deals, read by customer alone (their index: a few ms), then those the user may
            # see, sorted whole. Given the owner condition with the customers, the planner walked a manager's whole
            # book by owner hoping to meet those customers' deals (0.5–0.7 s at 1,000,000 deals).
            of_customers = kind.model._default_manager.filter(condition).order_by().values_list("pk", flat=True)
            tier = rows.filter(pk__in=list(of_customers[:RELATED_CAP])).order_by(Upper("name"), "pk")
        else:
            # Read again by id alone (not through the scope): a manager's book hash-joined to the matches is slow.
            candidates = matches.order_by().values("pk")[:cap]
            tier = kind.model._default_manager.filter(pk__in=candidates).order_by(Upper("name"), "pk")
        found.update(dict.fromkeys(tier.values_list("pk", flat=True)[:cap]))
    return list(found)[:cap]


def _never(condition: Q) -> bool:
    return condition.children == [("pk__in", [])]


def records(kind: Kind, ids: list[int]) -> list[Model]:
    """The records of `ids`, in that order, with what their line shows; one query."""
    by_id = kind.model._default_manager.select_related(*kind.related).in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]
