"""The dashboard's filter: team, rep, pipeline, source and period, with choices limited to what the user may see.

A tampered parameter (another team, another team's rep) is not a valid choice and is dropped, so the
figures never leave the user's scope (QUALITY S5).

The admin's target form: it validates what was typed; funnel.insights.services does the write.
"""

from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.fields import BoundedDateField, ReadOnceChoiceField
from config.widgets import FastSelect
from config.wording import filter_choices
from reps.models import Role, Team, Territory, User
from reps.quotas import month_of, quarter_of
from reps.territories import territory_choices

from ..models import Opportunity, Pipeline, Source, StageChange, Target
from ..opportunities.filters import owner_choices, pipeline_in_view, team_choices
from ..search import pickers
from ..search.pickers import PickerField

PERIODS = [  # the default first, so an unfiltered page's select shows the period it reports
    ("quarter", _("This quarter")),
    ("month", _("This month")),
    ("90d", _("Last 90 days")),
    ("custom", _("Custom dates")),
]
# Per-rep table orderings: key → (label, row key, descending).
REP_SORTS = {
    "weighted": (_("Weighted pipeline"), "weighted", True),
    "open_count": (_("Open deals"), "open_count", True),
    "open_amount": (_("Open amount"), "open_amount", True),
    "forecast_weighted": (_("Forecast (weighted)"), "forecast_weighted", True),
    "inflow": (_("New in period"), "inflow", True),
    "flow_rate": (_("Conversion"), "flow_rate", True),
    "flow_average_days": (_("Average days in stage"), "flow_average_days", False),
    "won": (_("Won"), "won", True),
    "lost": (_("Lost"), "lost", True),
    "won_amount": (_("Won amount"), "won_amount", True),
    "win_rate": (_("Win rate"), "win_rate", True),
    "deal_size": (_("Average deal size"), "deal_size", True),
    "name": (pgettext_lazy("person", "Name"), "name", False),
}
LONGEST_PERIOD = timedelta(days=731)


DEFAULT_PERIOD = "quarter"


def period_dates(period: str, today: date) -> tuple[date, date]:
    """The first and last day of a named period that contains today (both included). This month and this
    quarter run to their last day: what happened is read to date, and the forecast (deals expected to close
    in the period) to the period's end, as quotas and targets are (an end of today would forecast nothing)."""
    if period == "month":
        return month_of(today)
    if period == "quarter":
        return quarter_of(today)
    return today - timedelta(days=89), today


class DashboardFilterForm(forms.Form):
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, widget=FastSelect)
    owner = PickerField("person", label=_("Rep"), required=False)
    # The figures of the reps assigned to the territory (User.territory): the rollup is kept per owner, so a
    # territory is read as its people at the same cost as a team (a customer's territory would need every deal).
    territory = forms.ModelChoiceField(
        label=_("Reps in territory"), queryset=Territory.objects.none(), required=False, widget=FastSelect
    )
    pipeline = ReadOnceChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.none(), required=False, widget=FastSelect
    )
    source = forms.ModelChoiceField(
        label=_("Source"), queryset=Source.objects.none(), required=False, widget=FastSelect
    )
    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False, widget=FastSelect)
    start = BoundedDateField(label=_("From"), required=False)
    end = BoundedDateField(label=_("To"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort reps by"),
        choices=[(key, label) for key, (label, _key, _desc) in REP_SORTS.items()],
        required=False,
        widget=FastSelect,
    )

    def __init__(self, data, *, user: User):
        super().__init__(data)
        filter_choices(self)
        self.fields["team"].queryset = team_choices(user)
        self.fields["territory"].queryset = territory_choices(user)
        pickers.setup(self, user)
        self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True)
        self.fields["source"].queryset = Source.objects.all()
        for field in self.fields.values():  # Bootstrap classes here, so the template renders fields without crispy
            field.widget.attrs["class"] = "form-select" if isinstance(field.widget, forms.Select) else "form-control"

    def clean(self):
        data = super().clean()
        if data.get("period") == "custom":
            start, end = data.get("start"), data.get("end")
            if not (start and end):
                self.add_error("start", _("Choose both dates of a custom period."))
            elif start > end or end - start > LONGEST_PERIOD:
                self.add_error("end", _("The period must end after it starts and last at most two years."))
        return data

    @property
    def values(self) -> dict:
        """The cleaned filters; an invalid one is dropped, never widening the scope."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}

    def dates(self, today: date) -> tuple[date, date]:
        values = self.values
        period = values.get("period") or DEFAULT_PERIOD
        if period == "custom":  # without both dates (an error on the form): the default period
            if values.get("start") and values.get("end"):
                return values["start"], values["end"]
            period = DEFAULT_PERIOD
        return period_dates(period, today)

    def chosen_pipeline(self) -> Pipeline | None:
        """The chosen pipeline, else the default one: every figure on the page is about one pipeline."""
        return pipeline_in_view(self)

    def apply(self, opportunities: QuerySet[Opportunity], pipeline: Pipeline | None) -> QuerySet[Opportunity]:
        """Narrows an already visibility-scoped queryset; never widens it."""
        return opportunities.filter(**self._lookups("", pipeline))

    def apply_to_changes(self, changes: QuerySet[StageChange], pipeline: Pipeline | None) -> QuerySet[StageChange]:
        return changes.filter(**self._lookups("opportunity__", pipeline))

    def _lookups(self, prefix: str, pipeline: Pipeline | None) -> dict:
        values = self.values
        lookups = {f"{prefix}pipeline": pipeline}
        for name, path in (("owner", "owner"), ("team", "owner__team"), ("territory", "owner__territory"),
                           ("source", "source")):  # fmt: skip
            if values.get(name):
                lookups[f"{prefix}{path}"] = values[name]
        return lookups

    def people(self, user: User) -> QuerySet[User]:
        """The active users in view that the per-rep table starts from, narrowed by ?owner= and ?team=."""
        people, values = owner_choices(user), self.values
        if values.get("owner"):
            people = people.filter(pk=values["owner"].pk)
        if values.get("team"):
            people = people.filter(team=values["team"])
        if values.get("territory"):
            people = people.filter(territory=values["territory"])
        return people

    def owners(self, user: User) -> QuerySet[User]:
        """Everyone whose deals the figures count, deactivated people included: the visible users,
        narrowed by ?owner= and ?team= exactly as `apply` narrows the deals."""
        owners, values = User.objects.visible_to(user), self.values
        if values.get("owner"):
            owners = owners.filter(pk=values["owner"].pk)
        if values.get("team"):
            owners = owners.filter(team=values["team"])
        if values.get("territory"):
            owners = owners.filter(territory=values["territory"])
        return owners

    def target_teams(self, user: User) -> QuerySet[Team] | None:
        """The teams whose targets the forecast is read against: the chosen team, else every team in view.

        None when the figures are one rep's (a rep's own page, or ?owner=) or a territory's people: targets are
        per team.
        """
        if user.role == Role.REP or self.values.get("owner") or self.values.get("territory"):
            return None
        team = self.values.get("team")
        return team_choices(user).filter(pk=team.pk) if team else team_choices(user)

    def list_params(self, pipeline: Pipeline | None) -> dict[str, int]:
        """The filters the opportunity list understands, for links from a figure to the deals behind it."""
        values = {name: self.values.get(name) for name in ("owner", "team", "source")}
        values["pipeline"] = pipeline
        values["rep_territory"] = self.values.get("territory")  # the list's name for the territory's reps
        return {name: value.pk for name, value in values.items() if value is not None}

    def querystring(self, **changes) -> str:
        params = {
            name: (value.pk if hasattr(value, "pk") else value)
            for name, value in self.values.items()
            if value not in (None, "")
        }
        params.update(changes)
        return urlencode({name: value for name, value in params.items() if value not in (None, "")})

    def rep_sort(self) -> tuple[str, bool]:
        _label, key, descending = REP_SORTS[self.values.get("sort") or "weighted"]
        return key, descending


# --- Targets ----------------------------------------------------------------------------------------------


class TargetForm(forms.Form):
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.order_by("name"), widget=FastSelect)
    period_start = forms.DateField(label=_("From"), widget=forms.DateInput({"type": "date"}))
    period_end = forms.DateField(label=_("To"), widget=forms.DateInput({"type": "date"}))
    amount = forms.DecimalField(
        label=_("Target amount"),
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=2,
        help_text=_("What the team should win in the period. Both days are included."),
    )

    def __init__(self, *args, target: Target | None = None, **kwargs):
        if target is not None:
            kwargs.setdefault(
                "initial",
                {"team": target.team, "period_start": target.period_start, "period_end": target.period_end,
                 "amount": target.amount},
            )  # fmt: skip
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("The period must end on or after its first day."))
        return data
