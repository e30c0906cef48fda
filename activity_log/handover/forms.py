"""The handover's start: whose book, a person picker (the people in view may number in the thousands), the
deactivated included: a departed rep's book is the usual one to hand over."""

from django import forms
from django.utils.translation import gettext_lazy as _

from funnel.search import pickers
from funnel.search.pickers import PickerField
from reps.models import Role, User

from .services import givers


class HandoverStartForm(forms.Form):
    def __init__(self, data, *, user: User):
        super().__init__(data)
        self.fields["from"] = PickerField("person", label=_("Whose book"))  # "from" is the page's parameter
        pickers.setup(self, user, all=True)
        self.fields["from"].queryset = givers(user).filter(role__in=(Role.REP, Role.MANAGER))
