from django import forms

from ..models import CalendarFeed, ReminderSetting


class CalendarFeedForm(forms.ModelForm):
    class Meta:
        model = CalendarFeed
        fields = ["include_names"]


class ReminderSettingForm(forms.ModelForm):
    class Meta:
        model = ReminderSetting
        fields = ["enabled", "hour"]
