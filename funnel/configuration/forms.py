"""Forms of the admin's funnel settings. They validate what was typed; configuration.services does the writes.

Plain forms rather than ModelForms: a ModelForm copies the input onto the instance while validating,
and the services need the stored values to write old → new into the audit trail.
"""

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.wording import bracketed

from ..models import REQUIRABLE_FIELDS, WEEKDAYS, HealthSettings, Pipeline, Stage, StageKind
from .services import archive_targets, probability_problem


class PipelineCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if Pipeline.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError(_("A pipeline with this name already exists."))
        return name


class PipelineForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(
        label=_("Active"), required=False, help_text=_("Only active pipelines take new opportunities.")
    )

    def __init__(self, *args, pipeline: Pipeline, **kwargs):
        kwargs.setdefault("initial", {"name": pipeline.name, "is_active": pipeline.is_active})
        super().__init__(*args, **kwargs)
        self.pipeline = pipeline

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if Pipeline.objects.filter(name__iexact=name).exclude(pk=self.pipeline.pk).exists():
            raise forms.ValidationError(_("A pipeline with this name already exists."))
        return name


class StageForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    probability = forms.IntegerField(
        label=_("Probability (%)"),
        min_value=0,
        max_value=100,
        help_text=_("The chance a deal in this stage is won. Won stages are 100, lost stages 0."),
    )
    stall_days = forms.IntegerField(
        label=_("Stalled after (days)"),
        min_value=0,
        max_value=365,
        initial=14,
        help_text=_("An open deal idle this long is flagged as stalled. 0 turns the check off."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=StageKind.choices, initial=StageKind.OPEN)
    playbook = forms.CharField(
        label=_("Playbook"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The standard way to work this stage, shown to reps on each deal."),
    )
    checklist = forms.CharField(
        label=_("Checklist"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One item per line. Reps confirm each item before a deal enters this stage."),
    )
    required_fields = forms.MultipleChoiceField(
        label=_("Required fields"),
        required=False,
        choices=list(REQUIRABLE_FIELDS.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A deal enters this stage only when these are filled in."),
    )

    def __init__(self, *args, pipeline: Pipeline, stage: Stage | None = None, **kwargs):
        if stage is not None:
            kwargs.setdefault("initial", {field: getattr(stage, field) for field in self.base_fields})
        super().__init__(*args, **kwargs)
        self.pipeline, self.stage = pipeline, stage

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        clash = Stage.objects.filter(pipeline=self.pipeline, name__iexact=name)
        if self.stage is not None:
            clash = clash.exclude(pk=self.stage.pk)
        if clash.exists():
            raise forms.ValidationError(_("This pipeline already has a stage with this name."))
        return name

    def clean_checklist(self) -> str:
        lines = (line.strip() for line in self.cleaned_data["checklist"].splitlines())
        return "\n".join(line for line in lines if line)

    def clean_required_fields(self) -> list[str]:
        chosen = set(self.cleaned_data["required_fields"])
        return [name for name in REQUIRABLE_FIELDS if name in chosen]

    def clean(self) -> dict:
        cleaned = super().clean()
        if "kind" in cleaned and cleaned.get("probability") is not None:
            problem = probability_problem(kind=cleaned["kind"], probability=cleaned["probability"])
            if problem:
                self.add_error("probability", problem)
        return cleaned


class StageArchiveForm(forms.Form):
    """Where the stage's opportunities go; asked only when it holds some."""

    target = forms.ModelChoiceField(label=_("Move its opportunities to"), queryset=Stage.objects.none())

    def __init__(self, *args, stage: Stage, held: int, **kwargs):
        super().__init__(*args, **kwargs)
        target = self.fields["target"]
        target.queryset = archive_targets(stage)
        # With nowhere to go, let the service refuse with its clearer message.
        target.required = held > 0 and target.queryset.exists()
        target.empty_label = None
        target.label_from_instance = lambda other: f"{other.name}{bracketed(f'{other.probability}%')}"


class NamedItemCreateForm(forms.Form):
    """A new entry of a short admin-edited list (sources, lost reasons)."""

    name = forms.CharField(label=_("Name"), max_length=100)

    def __init__(self, *args, model: type[models.Model], item: models.Model | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.model, self.item = model, item

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        clash = self.model.objects.filter(name__iexact=name)
        if self.item is not None:
            clash = clash.exclude(pk=self.item.pk)
        if clash.exists():
            raise forms.ValidationError(_("This name is already in the list."))
        return name


class NamedItemForm(NamedItemCreateForm):
    is_active = forms.BooleanField(label=_("Active"), required=False, help_text=_("Inactive entries cannot be chosen."))

    def __init__(self, *args, model: type[models.Model], item: models.Model, **kwargs):
        kwargs.setdefault("initial", {"name": item.name, "is_active": item.is_active})
        super().__init__(*args, model=model, item=item, **kwargs)


# A count of deals in a threshold: within the database's small integers (32,767), and beyond any real team.
MOST_DEALS = 10_000


def _whole_number(label: str, low: int, high: int, message: str, **kwargs) -> forms.IntegerField:
    """An IntegerField whose range errors all say `message`, so the admin reads what is allowed."""
    errors = {"min_value": message, "max_value": message, "invalid": message}
    return forms.IntegerField(label=label, min_value=low, max_value=high, error_messages=errors, **kwargs)


class PipelineHealthForm(forms.Form):
    """A pipeline's funnel-health thresholds (services.HEALTH_FIELDS)."""

    blockage_share = _whole_number(
        _("Blockage share (%)"),
        1,
        100,
        _("Enter a share from 1 to 100."),
        help_text=_("A stage is blocked when at least this share of its open deals are stalled."),
    )
    blockage_min_deals = _whole_number(
        _("Blockage minimum deals"),
        1,
        MOST_DEALS,
        _("Enter a whole number from 1 to 10,000."),
        help_text=_("…and it holds at least this many open deals: two stalled deals are not a pile-up."),
    )
    inflow_minimum = _whole_number(
        _("Minimum new deals"),
        0,
        MOST_DEALS,
        _("Enter a whole number from 0 to 10,000."),
        help_text=_(
            "A rep's cup is empty when fewer new deals than this came in over the inflow weeks. 0 turns the check off."
        ),
    )
    inflow_weeks = _whole_number(
        _("Inflow weeks"),
        1,
        52,
        _("Enter a number of weeks from 1 to 52."),
        help_text=_("How far back new deals are counted."),
    )
    next_step_cap_days = _whole_number(
        _("Next-step cap (days)"),
        1,
        365,
        _("Enter a number of days from 1 to 365."),
        help_text=_(
            "An idle deal with a next step planned is not stalled until that date passes, but only if the "
            "date is at most this many days after its last activity: a date further away counts as no plan."
        ),
    )

    def __init__(self, *args, pipeline: Pipeline, **kwargs):
        kwargs.setdefault("initial", {field: getattr(pipeline, field) for field in self.base_fields})
        super().__init__(*args, **kwargs)
        self.pipeline = pipeline


class WorkingDaysForm(forms.Form):
    """The days on which reps owe a daily log: the log review, its compliance table and the missing-daily-log
    alert all count with them."""

    working_days = forms.TypedMultipleChoiceField(
        label=pgettext_lazy("days of the week", "Working days"),
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one working day.")},
        help_text=_(
            "Reps owe a daily log on these days: the log review counts a missing one and a rep with no submitted "
            "log for the last of these days, in their own time zone, is flagged."
        ),
    )

    quota_risk_percent = _whole_number(
        _("Quota at risk below (%)"),
        0,
        100,
        _("Enter a percentage from 0 to 100."),
        required=False,
        help_text=_(
            "A rep's quota is at risk when their open weighted pipeline expected to close by the end of the "
            "period covers less than this share of what is left to win; the scan then alerts them and their manager. "
            "0 turns the alert off."
        ),
    )

    def __init__(self, *args, health: HealthSettings, **kwargs):
        kwargs.setdefault("initial", {"working_days": health.working_days,
                                      "quota_risk_percent": health.quota_risk_percent})  # fmt: skip
        super().__init__(*args, **kwargs)
        self.health = health

    def clean_quota_risk_percent(self) -> int:
        """The threshold typed; left out of the post altogether (a client that sends the working days alone), the
        stored one."""
        value = self.cleaned_data.get("quota_risk_percent")
        if value is not None:
            return value
        if "quota_risk_percent" in self.data:
            raise forms.ValidationError(_("Enter a percentage from 0 to 100."))
        return self.health.quota_risk_percent
