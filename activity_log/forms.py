"""Forms of the rep's day. Choices are limited to the rep's own book (QUALITY S9)."""

import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.parsing import parse_id
from config.widgets import FastSelect
from funnel.forms import ChecklistMixin
from funnel.models import Account, Contact, Opportunity, Stage, StageKind
from reps.models import User

from .models import Activity, ActivityKind, DailyLog, PlanItem


class BookChoicesMixin:
    """Customer, opportunity and contact choices from the user's book, narrowed to the chosen customer."""

    def limit_to_book(self, user: User) -> None:
        self.fields["kind"].queryset = ActivityKind.objects.filter(is_active=True)
        self.fields["account"].queryset = Account.objects.visible_to(user).order_by("name")
        opportunities = Opportunity.objects.visible_to(user).open().select_related("account").order_by("name")
        contacts = Contact.objects.visible_to(user).order_by("name")
        account = parse_id(self.data.get("account") if self.is_bound else self.initial.get("account"))
        if account:
            opportunities, contacts = opportunities.filter(account=account), contacts.filter(account=account)
        self.fields["opportunity"].queryset = opportunities
        self.fields["contact"].queryset = contacts
        for name in ("kind", "account", "opportunity", "contact"):
            self.fields[name].widget = FastSelect(choices=self.fields[name].choices)


class PlanItemForm(BookChoicesMixin, forms.ModelForm):
    class Meta:
        model = PlanItem
        fields = ["kind", "account", "opportunity", "contact", "goal"]

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_to_book(user)


class ActivityForm(BookChoicesMixin, ChecklistMixin, forms.ModelForm):
    """Log a visit in under 30 seconds: kind, customer and outcome are all that is required."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)
    plan_item = forms.IntegerField(widget=forms.HiddenInput, required=False)
    move_to = forms.ModelChoiceField(
        label=_("Move the opportunity to"),
        queryset=Stage.objects.none(),
        required=False,
        help_text=_("Optional: the stage this activity brought the deal to."),
    )
    move_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    amend_reason = forms.CharField(
        label=_("Reason for adding to a submitted day"),
        max_length=300,
        required=False,
        help_text=_("Only needed when the day is already submitted."),
    )

    class Meta:
        model = Activity
        fields = ["kind", "account", "opportunity", "contact", "when", "place", "outcome", "next_step", "next_date"]
        widgets = {
            "when": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "next_date": forms.DateInput(attrs={"type": "date"}),
            "outcome": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"when": _("When")}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_to_book(user)
        self.fields["when"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        if not self.is_bound:
            self.initial.setdefault("when", timezone.localtime().replace(second=0, microsecond=0))
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            self.initial.setdefault(
                "kind", ActivityKind.objects.filter(is_active=True).values_list("pk", flat=True).first()
            )
        self.fields["move_to"].queryset = (
            Stage.objects.filter(is_archived=False, pipeline__is_active=True)
            .exclude(kind=StageKind.LOST)
            .select_related("pipeline")
            .order_by("pipeline", "order")
        )
        self.fields["move_to"].widget = FastSelect(choices=self.fields["move_to"].choices)
        chosen = parse_id(self.data.get("move_to")) if self.is_bound else None
        self.add_checklist(self.fields["move_to"].queryset.filter(pk=chosen).first() if chosen else None)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("move_to") and not cleaned.get("opportunity"):
            self.add_error("move_to", _("Choose the opportunity to move."))
        return cleaned


class ClearForm(forms.Form):
    action = forms.ChoiceField(choices=[("done", _("Done")), ("carry", _("Carry over"))])
    reason = forms.CharField(label=_("Why carried over"), max_length=300, required=False)


class ReportForm(forms.ModelForm):
    class Meta:
        model = DailyLog
        fields = ["summary", "problems", "support_needed"]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields}
