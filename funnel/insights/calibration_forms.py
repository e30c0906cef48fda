"""The calibration page's filter and the admin's "accept the historical figure" form (funnel.insights.calibration)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from config.fields import ReadOnceChoiceField
from config.widgets import FastSelect
from reps.models import Role, Team, User

from ..models import Pipeline
from ..opportunities.filters import pipeline_in_view, team_choices
from .calibration import DEFAULT_MONTHS, LONGEST_MONTHS


class CalibrationFilterForm(forms.Form):
    """The pipeline, the window and, for managers and admins, a team; a tampered choice is dropped."""

    pipeline = ReadOnceChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.none(), required=False, widget=FastSelect
    )
    months = forms.IntegerField(label=_("Months of history"), min_value=1, max_value=LONGEST_MONTHS, required=False)
    team = ReadOnceChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, widget=FastSelect)

    def __init__(self, data, *, user: User):
        super().__init__(data)
        self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True)
        if user.role == Role.REP:
            del self.fields["team"]
        else:
            self.fields["team"].queryset = team_choices(user)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select" if isinstance(field.widget, forms.Select) else "form-control"

    @property
    def values(self) -> dict:
        """The cleaned filters; an invalid one is dropped, never widening the scope."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}

    def chosen_pipeline(self) -> Pipeline | None:
        return pipeline_in_view(self)

    def chosen_months(self) -> int:
        return self.values.get("months") or DEFAULT_MONTHS

    def chosen_team(self) -> Team | None:
        return self.values.get("team")

    def teams(self) -> list[Team]:
        """The teams in view (the select's own choices, read once), or the chosen one."""
        chosen = self.chosen_team()
        return [chosen] if chosen else list(self.fields["team"].queryset)


class AcceptProbabilityForm(forms.Form):
    """The historical figure the page showed, the configured one it replaces and the window: a stage edited
    since, or history that moved since, is refused rather than changed silently."""

    probability = forms.IntegerField(min_value=0, max_value=100)
    configured = forms.IntegerField(min_value=0, max_value=100)
    months = forms.IntegerField(min_value=1, max_value=LONGEST_MONTHS)
