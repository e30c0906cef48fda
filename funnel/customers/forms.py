"""Customer and contact forms. Only the fields listed here are read from a POST (QUALITY S10)."""

from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.widgets import FastSelect
from reps.models import Role, Territory, User
from reps.territories import territory_choices

from ..models import Account, Contact
from ..search import pickers
from ..search.pickers import PickerField
from .services import account_duplicates

validate_phone = RegexValidator(
    r"^[0-9+()\-\s./#xX]*$", _("Enter a phone number: digits, spaces and + - ( ) / . # only.")
)


def _squeeze(value: str) -> str:
    return " ".join(value.split())


class AccountForm(forms.ModelForm):
    """Owner choices are the active users within the editor's view; a rep's customers are always their own.
    Territory choices are the editor's (reps.territories.territory_choices) and the one the customer is in; a
    new customer starts in the editor's own territory."""

    owner = PickerField("person", label=_("Owner"), empty_label=None)
    territory = forms.ModelChoiceField(
        label=_("Territory"), queryset=Territory.objects.none(), required=False, widget=FastSelect
    )
    website = forms.URLField(
        label=_("Website"), required=False, max_length=200, assume_scheme="https", widget=forms.URLInput()
    )

    class Meta:
        model = Account
        fields = ["name", "industry", "city", "address", "phone", "website", "notes", "owner"]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 4}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].validators.append(validate_phone)
        current = self.instance.territory_id if self.instance.pk else None
        self.fields["territory"].queryset = Territory.objects.filter(
            Q(pk__in=territory_choices(user).values("pk")) | Q(pk=current)
        ).order_by("name")
        self.fields["territory"].initial = current if self.instance.pk else user.territory_id
        if user.role == Role.REP:
            del self.fields["owner"]
        else:
            pickers.setup(self, user)
            self.fields["owner"].initial = self.instance.owner_id if self.instance.pk else user.pk

    def clean_name(self) -> str:
        return _squeeze(self.cleaned_data["name"])

    def details(self) -> dict:
        """The validated values the services accept, without the owner."""
        return {name: value for name, value in self.cleaned_data.items() if name in self.Meta.fields[:-1]}


class AccountCreateForm(AccountForm):
    """Warns before a second customer of the same name is created; the user may then create it anyway."""

    create_anyway = forms.BooleanField(
        label=_("Create anyway: this is a different customer"), required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.user = user
        self.visible_duplicates: list[Account] = []
        self.hidden_duplicates = 0

    def clean(self) -> dict:
        cleaned = super().clean()
        name = cleaned.get("name")
        if name and not cleaned.get("create_anyway"):
            matches = list(account_duplicates(name=name).values_list("pk", flat=True))
            if matches:
                self.visible_duplicates = list(Account.objects.visible_to(self.user).filter(pk__in=matches))
                self.hidden_duplicates = len(matches) - len(self.visible_duplicates)
                self.fields["create_anyway"].widget = forms.CheckboxInput()
                raise forms.ValidationError(_("A customer with this name already exists."), code="duplicate")
        return cleaned


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "title", "phone", "email"]
        widgets = {
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].validators.append(validate_phone)

    def clean_name(self) -> str:
        return _squeeze(self.cleaned_data["name"])
