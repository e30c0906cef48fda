"""The admin's target form: it validates what was typed; funnel.target_services does the write."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from config.widgets import FastSelect
from reps.models import Team

from .models import Target


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
