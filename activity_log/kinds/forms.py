"""The admin's activity kind form: it validates what was typed; activity_log.kinds.services does the write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import ActivityKind


class KindForm(forms.Form):
    """An activity kind: its name, its place in the list and whether reps can still choose it."""

    name = forms.CharField(label=_("Name"), max_length=50)
    order = forms.IntegerField(
        label=_("Order"), min_value=0, max_value=32767, help_text=_("Kinds are listed by this number, smallest first.")
    )
    is_active = forms.BooleanField(
        label=_("Active"), required=False, initial=True, help_text=_("Inactive kinds cannot be chosen for new records.")
    )

    def __init__(self, *args, kind: ActivityKind | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        clash = ActivityKind.objects.filter(name__iexact=name)
        if self.kind is not None:
            clash = clash.exclude(pk=self.kind.pk)
        if clash.exists():
            raise forms.ValidationError(_("This name is already in the list."))
        return name
