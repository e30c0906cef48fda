from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from .backends import normalise_username
from .models import User, person_name
from .time_zones import time_zone_choices


class _NameChoices(ModelChoiceIterator):
    """(id, name) pairs read as values: no User instance per option, for owner lists of hundreds of people."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for pk, first_name, last_name, username in self.queryset.values_list(
            "pk", "first_name", "last_name", "username"
        ):
            yield (pk, person_name(first_name, last_name, username))


class PersonChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField over users whose options show str(user) without loading each user.

    Validation is ModelChoiceField's (the chosen id must be in the queryset); only the listing is lighter.
    """

    iterator = _NameChoices


class LoginForm(AuthenticationForm):
    """Django's sign-in form, reading the username as the throttle and the backend do (reps.backends)."""

    def clean_username(self) -> str:
        return normalise_username(self.cleaned_data.get("username"))


class PreferencesForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Your working day, daily log and reminders follow this time zone."),
    )

    class Meta:
        model = User
        fields = ["language", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Named in the reader's language, common zones first (read once per process and language).
        self.fields["time_zone"].choices = time_zone_choices(current=self.instance.time_zone)
