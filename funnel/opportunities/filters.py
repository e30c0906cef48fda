"""The opportunity filter shared by the list, the board and the CSV export.

Every choice is limited to what the user may see, so a tampered parameter (another team's owner,
an unknown ordering) is simply not a valid choice and is ignored (QUALITY S4, S25).
"""

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import (
    BigIntegerField,
    CharField,
    DateField,
    Exists,
    F,
    Field,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.fields.json import KT
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.functions import Cast, Coalesce
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.fields import BoundedDateField, ReadOnceChoiceField
from config.parsing import EARLIEST_DATE, LATEST_DATE, MAX_CURSOR_LENGTH, parse_cursor
from config.widgets import FastSelect
from config.wording import ALL, filter_choices
from reps.models import AuditAction, AuditEvent, Team, Territory, User
from reps.territories import territory_choices

from ..customers.filters import territory_filter_field, territory_q
from ..insights.metrics import period_bounds
from ..models import Account, Campaign, Opportunity, Pipeline, Source, Stage, StageChange, StageKind
from ..search import pickers
from ..search.pickers import PickerField

FAR_FUTURE = date(9999, 12, 31)
NO_SOURCE = "none"  # ?source=none: the deals without a source (the dashboard's "No source" row)
NO_CAMPAIGN = "none"  # ?campaign=none: the deals without a campaign (the marketing page's "No campaign" row)
# Date ranges: (field, from, to). Created and closed are datetimes, read as whole days in the user's time zone.
DATE_RANGES = [
    ("expected_close_date", "close_from", "close_to"),
    ("created_at", "created_from", "created_to"),
    ("closed_at", "closed_from", "closed_to"),
]
# What changed since a day (the dashboard's "what changed" panel links here): deals that moved to another open stage,
# deals whose expected close date was moved later.
CHANGE_FILTERS = ["moved_since", "slipped_since"]
MORE_FILTERS = [name for _field, start, end in DATE_RANGES for name in (start, end)] + CHANGE_FILTERS


@dataclass(frozen=True)
class Sort:
    label: str
    key: str  # the field or annotation sorted on, then by id in the same direction
    descending: bool


SORTS = {
    "updated": Sort(_("Recently updated"), "updated_at", True),
    "amount": Sort(_("Largest amount"), "amount", True),
    "close": Sort(_("Closing soonest"), "close_key", False),
    "name": Sort(_("Name"), "name", False),
    "created": Sort(_("Newest"), "created_at", True),
}
STATUS_CHOICES = [("open", _("Open")), ("won", _("Won")), ("lost", _("Lost")), ("all", _("All"))]
# ?quality=: the deals a data-quality part counts against (activity_log.quality judges an open deal by the same
# conditions, so its "what would raise my score" links list exactly the deals it counted).
QUALITY_GAPS = {
    "no_amount": (_("No amount"), Q(amount__lte=0)),
    "no_close_date": (_("No expected close date"), Q(expected_close_date__isnull=True)),
    "no_contact": (_("No contact"), Q(contact__isnull=True)),
    "no_next_step": (_("No next step with a date"), Q(next_step="") | Q(next_step_date__isnull=True)),
    "overridden": (_("Probability overridden"), Q(probability_override__isnull=False)),
}


def owner_choices(user: User) -> QuerySet[User]:
    """People whose deals the user may filter by or assign to: visible and active."""
    return User.objects.visible_to(user).active().order_by("first_name", "last_name", "username")


def pipeline_in_view(form: forms.Form) -> Pipeline | None:
    """A filter form's chosen pipeline, else the first active one (the default), read from the form's own
    pipeline choices: the select that lists them then needs no second query (config.fields)."""
    return form.values.get("pipeline") or next(iter(form.fields["pipeline"].queryset), None)


def team_choices(user: User) -> QuerySet[Team]:
    return Team.objects.filter(members__in=User.objects.visible_to(user)).distinct().order_by("name")


class _NoneFirstChoices(ModelChoiceIterator):
    """The field's choices with its "none" choice (the rows without one) after the empty choice."""

    def __iter__(self):
        choices = super().__iter__()
        if self.field.empty_label is not None:
            yield next(choices)
        yield (self.field.none_value, self.field.none_label)
        yield from choices

    def __len__(self) -> int:
        return super().__len__() + 1


class SourceFilterField(forms.ModelChoiceField):
    """A source, or NO_SOURCE for the deals that have none."""

    iterator = _NoneFirstChoices
    none_value, none_label = NO_SOURCE, _("No source")

    def to_python(self, value):
        return self.none_value if value == self.none_value else super().to_python(value)


class CampaignFilterField(SourceFilterField):
    """A campaign, or NO_CAMPAIGN for the deals that have none."""

    none_value, none_label = NO_CAMPAIGN, _("No campaign")


def moved_since_q(since: datetime) -> Q:
    """Open deals that changed stage at or after `since` (a new deal's first stage is no move; a deal won or lost
    since is counted as such). An EXISTS on the deal's own history: a rep's or a team's open deals are each checked
    through the history's index on (deal, time), an organisation's joined with the moves since."""
    moves = StageChange.objects.filter(opportunity=OuterRef("pk"), at__gte=since, from_stage__isnull=False)
    return Q(status=StageKind.OPEN) & Q(Exists(moves))


def close_date_slips(since: datetime) -> QuerySet:
    """The field-history rows (opportunity_update's audit) since `since` that moved a deal's expected close date
    later, each with `old` and `new` (ISO dates, which compare as text)."""
    return (
        AuditEvent.objects.filter(
            action=AuditAction.FIELD_CHANGED,
            object_type=Opportunity._meta.label_lower,
            at__gte=since,
            detail__has_key="expected_close_date",
        )
        # As plain text (SQLite's JSON lookups would read the other side as JSON).
        .annotate(
            old=Cast(KT("detail__expected_close_date__0"), CharField()),
            new=Cast(KT("detail__expected_close_date__1"), CharField()),
        )
        .filter(new__gt=F("old"))
    )


def slipped_since_q(since: datetime) -> Q:
    """Deals whose expected close date was moved later at or after `since`."""
    ids = close_date_slips(since).annotate(deal=Cast("object_id", BigIntegerField())).values("deal")
    return Q(pk__in=ids)


def _day_range(field: str, first: date | None, last: date | None) -> Q:
    """Days first..last, both included (either may be open); a datetime's days in the current time zone."""
    condition = Q()
    if field.endswith("_at"):  # half-open datetime bounds, so the index on the column applies
        first_moment = period_bounds(first, first)[0] if first else None
        after_last = period_bounds(last, last)[1] if last else None
        lookups = {f"{field}__gte": first_moment, f"{field}__lt": after_last}
    else:
        lookups = {f"{field}__gte": first, f"{field}__lte": last}
    for lookup, value in lookups.items():
        if value is not None:
            condition &= Q(**{lookup: value})
    return condition


def _date_field(label) -> forms.DateField:
    """A day of a range: one outside the dates the app accepts is a form error (the day after 9999-12-31 that a
    range needs does not exist)."""
    return BoundedDateField(label=label, required=False)


class OpportunityFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    pipeline = ReadOnceChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.none(), required=False, widget=FastSelect
    )
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none(), required=False, widget=FastSelect)
    owner = PickerField("person", label=_("Owner"), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, widget=FastSelect)
    territory = territory_filter_field()  # the customer's territory
    # The deals of the reps assigned to a territory: what the dashboard counts for a territory, carried by its
    # links (a hidden field, kept by the list's form).
    rep_territory = forms.ModelChoiceField(queryset=Territory.objects.none(), required=False, widget=forms.HiddenInput)
    source = SourceFilterField(label=_("Source"), queryset=Source.objects.none(), required=False, widget=FastSelect)
    campaign = CampaignFilterField(
        label=_("Campaign"), queryset=Campaign.objects.none(), required=False, widget=FastSelect
    )
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False, widget=FastSelect)
    stalled = forms.BooleanField(label=_("Stalled only"), required=False)
    quality = forms.ChoiceField(
        label=_("Data quality"),
        choices=[("", ALL)] + [(key, label) for key, (label, _condition) in QUALITY_GAPS.items()],
        required=False,
        widget=FastSelect,
    )
    sort = forms.ChoiceField(
        label=_("Sort"), choices=[(key, sort.label) for key, sort in SORTS.items()], required=False, widget=FastSelect
    )
    close_from = _date_field(_("Expected close from"))
    close_to = _date_field(_("Expected close to"))
    created_from = _date_field(_("Created from"))
    created_to = _date_field(_("Created to"))
    closed_from = _date_field(_("Closed (won or lost) from"))
    closed_to = _date_field(_("Closed (won or lost) to"))
    moved_since = _date_field(_("Moved stage since"))
    slipped_since = _date_field(_("Close date moved later since"))

    def __init__(self, data, *, user: User):
        if data is not None and not data.get("status") and (data.get("closed_from") or data.get("closed_to")):
            data = data.copy()  # a closing date asks for closed deals: all of them unless a status is chosen
            data["status"] = "all"
        super().__init__(data)
        filter_choices(self)
        self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True)
        self.fields["stage"].queryset = Stage.objects.filter(pipeline__is_active=True).select_related("pipeline")
        # Departed reps too, so the deals a dashboard figure counts under them can be listed (a handover).
        pickers.setup(self, user, all=True)
        self.fields["team"].queryset = team_choices(user)
        self.fields["territory"].queryset = territory_choices(user)
        self.fields["rep_territory"].queryset = territory_choices(user)
        self.fields["source"].queryset = Source.objects.all()
        self.fields["campaign"].queryset = Campaign.objects.all()

    @property
    def values(self) -> dict:
        """The cleaned filters; an invalid one (e.g. another team's owner) is dropped, never widening the scope."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}

    def apply(self, opportunities: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
        """Narrows an already visibility-scoped queryset and orders it; never widens it."""
        values = self.values
        if values.get("q"):
            opportunities = opportunities.filter(
                Q(name__icontains=values["q"]) | Q(account__name__icontains=values["q"])
            )
        for name in ("pipeline", "stage", "owner"):
            if values.get(name):
                opportunities = opportunities.filter(**{name: values[name]})
        if values.get("source") == NO_SOURCE:
            opportunities = opportunities.filter(source__isnull=True)
        elif values.get("source"):
            opportunities = opportunities.filter(source=values["source"])
        if values.get("team"):
            opportunities = opportunities.filter(owner__team=values["team"])
        if values.get("territory"):  # the customers by id, not a join per deal (the planner picks its way)
            customers = Account.objects.filter(territory_q(values["territory"], "")).values("pk")
            opportunities = opportunities.filter(account__in=customers)
        if values.get("rep_territory"):
            opportunities = opportunities.filter(owner__in=User.objects.filter(territory=values["rep_territory"]))
        if values.get("campaign") == NO_CAMPAIGN:
            opportunities = opportunities.filter(campaign__isnull=True)
        elif values.get("campaign"):
            opportunities = opportunities.filter(campaign=values["campaign"])
        for name, condition in (("moved_since", moved_since_q), ("slipped_since", slipped_since_q)):
            if values.get(name):  # from the start of that day in the user's time zone
                opportunities = opportunities.filter(condition(period_bounds(values[name], values[name])[0]))
        status = values.get("status") or "open"
        if status != "all":
            opportunities = opportunities.filter(status=StageKind(status))
        for field, start, end in DATE_RANGES:
            opportunities = opportunities.filter(_day_range(field, values.get(start), values.get(end)))
        if values.get("stalled"):  # the rule of the stalled alerts and the home page's count
            opportunities = opportunities.stalled(timezone.now())
        if values.get("quality"):
            opportunities = opportunities.filter(QUALITY_GAPS[values["quality"]][1])
        sort = self.ordering
        opportunities = opportunities.annotate(
            close_key=Coalesce("expected_close_date", Value(FAR_FUTURE, DateField()))
        )
        prefix = "-" if sort.descending else ""
        return opportunities.order_by(f"{prefix}{sort.key}", f"{prefix}id")

    @property
    def ordering(self) -> Sort:
        return SORTS.get(self.values.get("sort") or "updated", SORTS["updated"])

    def main_fields(self) -> list:
        return [self[name] for name in self.fields if name not in MORE_FILTERS and not self[name].is_hidden]

    def more_fields(self) -> list:
        """The date ranges, folded under "More filters" so the form stays short on a phone."""
        return [self[name] for name in MORE_FILTERS]

    def is_narrowed(self) -> bool:
        """Whether any filter beyond status and sort is set (the filter panel then starts open)."""
        return any(
            value not in (None, "", False) for name, value in self.values.items() if name not in ("status", "sort")
        )

    def has_more_filters(self) -> bool:
        return any(self.values.get(name) for name in MORE_FILTERS)

    def querystring_without_rep_territory(self) -> str:
        return self.querystring(rep_territory=None)

    def querystring(self, **changes) -> str:
        """The current filters as a query string, for links that keep them (pagination, board, export)."""
        params = {
            name: (value.pk if hasattr(value, "pk") else value)
            for name, value in self.values.items()
            if value not in (None, "", False)
        }
        params.update(changes)
        return urlencode({name: value for name, value in params.items() if value not in (None, "")})


# --- keyset pagination --------------------------------------------------------------------------
def _encode(value) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def cursor_for(row: Model, sort: Sort) -> str:
    raw = json.dumps([_encode(getattr(row, sort.key)), row.pk])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def after_cursor(rows: QuerySet, cursor: str, sort: Sort) -> QuerySet:
    """Rows after the cursor in the sort order (then by id, the same way); a malformed cursor means the first
    page. Any queryset ordered by (sort.key, pk) in sort's direction: deals, alerts.

    One row comparison, (key, id) < (value, pk), which PostgreSQL starts an index scan from: rows of one scan
    share a first_seen, so "key < value OR (key = value AND id < pk)" walked every tie from the top.
    """
    values = cursor_values(rows, cursor, sort)
    if values is None:
        return rows
    after = TupleLessThan if sort.descending else TupleGreaterThan
    return rows.filter(after(Tuple(F(sort.key), F("pk")), values))


def cursor_values(rows: QuerySet, cursor: str, sort: Sort) -> tuple | None:
    """The (sort value, id) a cursor points after, the value read as the sorted field's type; None when the
    cursor is malformed (then the page is the first)."""
    parsed = parse_cursor(cursor)
    value = _cursor_key(_sort_field(rows, sort.key), parsed[0]) if parsed else None
    return None if value is None else (value, parsed[1])


def _cursor_key(field: Field, raw) -> object | None:
    """A cursor's sort value read as its field's type, or None when that type cannot hold it or the database
    could not compare it: an amount beyond the column's digits, a moment outside the dates the app accepts.
    A plain date may be any date (FAR_FUTURE stands for "no expected close")."""
    try:
        value = field.to_python(raw)
    except (ValidationError, ValueError, TypeError, OverflowError):
        return None
    if isinstance(value, Decimal):
        digits = (field.max_digits or 0) - (field.decimal_places or 0)
        return value if value.is_finite() and (not digits or abs(value) < Decimal(10) ** digits) else None
    if isinstance(value, datetime):  # moments the app stamped itself; 9999-12-31 23:00-05 has no UTC
        return value if EARLIEST_DATE <= value.date() <= LATEST_DATE else None
    if isinstance(value, str):
        return value if len(value) <= (field.max_length or MAX_CURSOR_LENGTH) else None
    return value


def _sort_field(rows: QuerySet, key: str) -> Field:
    """The model field or annotation a queryset is sorted on, to read a cursor's value as that type."""
    annotation = rows.query.annotations.get(key)
    return annotation.output_field if annotation is not None else rows.model._meta.get_field(key)


def keyset_page(rows: QuerySet, cursor: str, sort: Sort, size: int) -> tuple[list, str | None]:
    """One page of rows and the cursor of the next page (None on the last page)."""
    if cursor:
        rows = after_cursor(rows, cursor, sort)
    page = list(rows[: size + 1])
    if len(page) > size:
        return page[:size], cursor_for(page[size - 1], sort)
    return page, None
