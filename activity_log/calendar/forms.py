from django import forms

from ..models import CalendarFeed


class CalendarFeedForm(forms.ModelForm):
    class Meta:
        model = CalendarFeed
        fields = ["include_names"]
