import functools

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from .backends import normalise_username
from .models import User, known_time_zones, person_name


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


# Common zones first, so a rep on a phone does not scroll through 600 names.
COMMON_TIME_ZONES = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "America/New_York",
    "UTC",
]


@functools.cache
def time_zone_choices() -> list[tuple[str, str]]:
    """Read once per process: listing the zones walks the tz database's files (~0.2 s a page otherwise)."""
    rest = sorted(known_time_zones() - set(COMMON_TIME_ZONES))
    return [(tz, tz) for tz in COMMON_TIME_ZONES + rest]


class PreferencesForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        help_text=_("Your working day, daily log and reminders follow this time zone."),
    )

    class Meta:
        model = User
        fields = ["language", "time_zone"]
