"""Forms of the CSV import: the upload (kind, pipeline, file) and the choice made on the preview."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .imports import MAX_BYTES, ImportRefused, decode_csv
from .models import ImportBatch, Pipeline


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True)
        self.fields["pipeline"].initial = self.fields["pipeline"].queryset.first()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("This file is %(size).1f MB; the limit is %(max)d MB. Split it into smaller files."),
                params={"size": upload.size / 2**20, "max": MAX_BYTES // 2**20},
                code="too_large",
            )
        try:
            self.cleaned_data["text"] = decode_csv(upload.read())
        except ImportRefused as error:
            raise forms.ValidationError(str(error), code="encoding") from error
        return upload


class ImportConfirmForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("valid", _("Import the valid rows")), ("all", _("Import only if all are valid"))]
    )

    @property
    def all_or_nothing(self) -> bool:
        return self.cleaned_data["mode"] == "all"
