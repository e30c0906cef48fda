"""The customer list's filter: a search and a territory, the territory's choices limited to the user's
(reps.territories.territory_choices), so a tampered one is dropped and never widens what the list shows."""

from urllib.parse import urlencode

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from config.widgets import FastSelect
from config.wording import filter_choices
from reps.models import Territory, User
from reps.territories import territory_choices

from ..models import Account

MAX_QUERY = 100
NO_TERRITORY = "none"  # ?territory=none: the customers in no territory


class _TerritoryChoices(forms.models.ModelChoiceIterator):
    def __iter__(self):
        choices = super().__iter__()
        if self.field.empty_label is not None:
            yield next(choices)
        yield (NO_TERRITORY, _("No territory"))
        yield from choices

    def __len__(self) -> int:
        return super().__len__() + 1


class TerritoryFilterField(forms.ModelChoiceField):
    """A territory among the user's, or NO_TERRITORY for the rows in none."""

    iterator = _TerritoryChoices

    def to_python(self, value):
        return NO_TERRITORY if value == NO_TERRITORY else super().to_python(value)


def territory_filter_field() -> TerritoryFilterField:
    return TerritoryFilterField(
        label=_("Territory"), queryset=Territory.objects.none(), required=False, widget=FastSelect
    )


def territory_q(territory, path: str) -> Q:
    """The rows whose customer (at `path`, "" for a customer itself) is in `territory` (or NO_TERRITORY: none)."""
    field = f"{path}territory" if path else "territory"
    if territory == NO_TERRITORY:
        return Q(**{f"{field}__isnull": True})
    return Q(**{field: territory})


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=_("Search customers"), required=False)
    territory = territory_filter_field()

    def __init__(self, data, *, user: User):
        super().__init__(data)
        filter_choices(self)
        self.fields["territory"].queryset = territory_choices(user)
        self.fields["territory"].widget.attrs["class"] = "form-select"

    @property
    def values(self) -> dict:
        """The cleaned filters; an invalid one (another team's territory) is dropped, never widening the list."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}

    @property
    def query(self) -> str:
        return (self.values.get("q") or "")[:MAX_QUERY]

    def apply(self, accounts: QuerySet[Account]) -> QuerySet[Account]:
        """Narrows an already visibility-scoped queryset; never widens it."""
        territory = self.values.get("territory")
        return accounts.filter(territory_q(territory, "")) if territory else accounts

    def querystring(self, **changes) -> str:
        """The filters as a query string, for the links that keep them (pages, the export)."""
        territory = self.values.get("territory")
        params = {"q": self.query, "territory": getattr(territory, "pk", territory)}
        params.update(changes)
        return urlencode({name: value for name, value in params.items() if value not in (None, "")})
