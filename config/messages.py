"""Messages that say only what happened."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext as _


def saved_or_unchanged(request: HttpRequest, form: forms.Form, saved: str) -> None:
    """After a service has run on an edit form: `saved` when the form changed a value, else that nothing
    needed saving (the service then wrote nothing and audited nothing)."""
    if form.has_changed():
        messages.success(request, saved)
    else:
        messages.info(request, _("Nothing to save: the values are the ones already recorded."))
