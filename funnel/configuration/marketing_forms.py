"""Forms of the admin's marketing settings: campaigns and costs per month. They validate what was typed;
funnel.configuration.marketing_services does the writes (and checks again)."""

import re
from datetime import date
from decimal import Decimal

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.fields import BoundedDateField
from config.parsing import EARLIEST_DATE, LATEST_DATE
from config.widgets import FastSelect
from config.wording import CHOOSE, bracketed

from ..models import Campaign, Source
from .marketing_services import LARGEST_COST

MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)


class CampaignForm(forms.Form):
    """A new campaign (no `is_active`: it starts active) or an edit of one."""

    name = forms.CharField(label=_("Name"), max_length=100)
    source = forms.ModelChoiceField(
        label=_("Source"),
        queryset=Source.objects.none(),
        required=False,
        widget=FastSelect,
        help_text=_("The channel the campaign runs in. A deal that names the campaign and no source gets this one."),
    )
    starts_on = BoundedDateField(label=_("Starts"), required=False)
    ends_on = BoundedDateField(label=_("Ends"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, help_text=_("Inactive entries cannot be chosen."))

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs):
        if campaign is not None:
            kwargs.setdefault("initial", {field: getattr(campaign, field) for field in self.base_fields})
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        # Active sources, and the one the campaign has even if it was deactivated since (saving keeps it).
        kept = Q(is_active=True) | Q(pk=campaign.source_id) if campaign is not None else Q(is_active=True)
        self.fields["source"].queryset = Source.objects.filter(kept)
        if campaign is None:
            del self.fields["is_active"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Campaign.objects.filter(name__iexact=name)
        if self.campaign is not None:
            clash = clash.exclude(pk=self.campaign.pk)
        if clash.exists():
            raise forms.ValidationError(_("This name is already in the list."))
        return name

    def clean(self) -> dict:
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("A campaign ends on or after the day it starts."))
        return cleaned

    def values(self) -> dict:
        values = dict(self.cleaned_data)
        values.setdefault("is_active", True)
        return values


class MonthField(forms.CharField):
    """A calendar month typed as YYYY-MM (the browser's month picker sends that); cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-11", "pattern": r"\d{4}-\d{2}"})
    default_error_messages = {"invalid": _("Enter a month as YYYY-MM, for example 2026-11.")}

    def to_python(self, value) -> date | None:
        text = super().to_python(value)
        if not text:
            return None
        found = MONTH.match(text)
        month = int(found.group(2)) if found else 0
        if not found or not 1 <= month <= 12:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        first = date(int(found.group(1)), month, 1)
        if not EARLIEST_DATE <= first <= LATEST_DATE:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return first


def _subject_choices() -> list:
    """The sources and campaigns a cost may be entered for, active first then the rest, in two groups."""
    sources = Source.objects.order_by("-is_active", "name").values_list("pk", "name", "is_active")
    campaigns = Campaign.objects.order_by("-is_active", "name").values_list("pk", "name", "is_active")

    inactive = bracketed(_("inactive"))

    def label(name: str, active: bool) -> str:
        return name if active else f"{name}{inactive}"

    return [
        ("", CHOOSE),
        (_("Sources"), [(f"source-{pk}", label(name, active)) for pk, name, active in sources]),
        (_("Campaigns"), [(f"campaign-{pk}", label(name, active)) for pk, name, active in campaigns]),
    ]


class MarketingCostForm(forms.Form):
    """What a source or a campaign cost in one month."""

    subject = forms.ChoiceField(label=_("Source or campaign"), choices=(), widget=FastSelect)
    month = MonthField(label=_("Month"), help_text=_("A month already entered for it takes the new cost."))
    amount = forms.DecimalField(
        label=_("Cost"),
        min_value=Decimal(0),
        max_value=LARGEST_COST,
        max_digits=14,
        decimal_places=2,
        help_text=_("Everything spent on it that month."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subject"].choices = _subject_choices()

    def chosen_subject(self) -> dict:
        """{"source": …} or {"campaign": …} for the chosen subject (valid form only)."""
        kind, _dash, pk = self.cleaned_data["subject"].partition("-")
        model = Source if kind == "source" else Campaign
        return {kind: model.objects.get(pk=int(pk))}


class MarketingCostAmountForm(forms.Form):
    """The edit of one entered cost: its amount (the subject and month are what it is)."""

    amount = MarketingCostForm.base_fields["amount"]

    def __init__(self, *args, amount: Decimal, **kwargs):
        kwargs.setdefault("initial", {"amount": amount})
        super().__init__(*args, **kwargs)
