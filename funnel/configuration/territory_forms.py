"""The admin's territory forms: a territory's own fields, and a person to put in it (a picker: people may number
in the thousands). They validate what was typed; reps.territories does the writes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from config.widgets import FastSelect
from reps.models import Team, Territory, User
from reps.territories import assignable_people

from ..search import pickers
from ..search.pickers import PickerField


class TerritoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.none(),
        required=False,
        widget=FastSelect,
        help_text=_("The team that works this territory: its managers see the territory in their choices."),
    )

    def __init__(self, *args, territory: Territory | None = None, **kwargs):
        if territory is not None:
            kwargs.setdefault(
                "initial", {"name": territory.name, "description": territory.description, "team": territory.team_id}
            )
        super().__init__(*args, **kwargs)
        self.territory = territory
        self.fields["team"].queryset = Team.objects.order_by("name")

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        others = Territory.objects.filter(name__iexact=name)
        if self.territory is not None:
            others = others.exclude(pk=self.territory.pk)
        if others.exists():
            raise forms.ValidationError(_("A territory with this name already exists."))
        return name


class TerritoryPersonForm(forms.Form):
    """One person to put in the territory: the active reps and managers."""

    person = PickerField("person", label=_("Add a person"))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        pickers.setup(self, user)
        self.fields["person"].queryset = assignable_people(user)
