"""Forms of the CSV import: the upload (kind, pipeline, file) and the choice made on the preview."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import ImportBatch, Pipeline
from .import_reading import ImportRefused, read_upload, too_large_message


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportBatch.Kind.choices, widget=forms.RadioSelect)
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"),
        queryset=Pipeline.objects.none(),
        required=False,
        empty_label=None,
        help_text=_("For opportunities: the pipeline whose stages the file names."),
    )
    file = forms.FileField(
        label=_("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text=_("UTF-8 or GBK (as Excel saves it). At most 5,000 rows and 5 MB."),
    )

    def __init__(self, *args, too_large: int | None = None, **kwargs):
        """`too_large`: the size of an upload refused before it was read (bind it to empty data); the form
        then says only that."""
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True)
        self.fields["pipeline"].initial = self.fields["pipeline"].queryset.first()
        self.too_large = too_large
        if too_large is not None:
            for field in self.fields.values():
                field.required = False

    def clean_file(self):
        if self.too_large is not None:
            raise forms.ValidationError(too_large_message(self.too_large), code="too_large")
        upload = self.cleaned_data["file"]
        try:
            self.cleaned_data["text"] = read_upload(upload)
        except ImportRefused as error:
            raise forms.ValidationError(str(error), code="refused") from error
        return upload


class ImportConfirmForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("valid", _("Import the valid rows")), ("all", _("Import only if all are valid"))]
    )

    @property
    def all_or_nothing(self) -> bool:
        return self.cleaned_data["mode"] == "all"
