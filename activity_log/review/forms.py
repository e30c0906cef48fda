"""The manager's comment on a daily log."""

from django import forms
from django.utils.translation import gettext_lazy as _


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Comment"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}), strip=True)
    answers_support = forms.BooleanField(label=_("This answers the support request"), required=False)
