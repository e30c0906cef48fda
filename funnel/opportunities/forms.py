"""Forms for opportunities. Every choice is limited to what the user may see and use (QUALITY S9, S10)."""

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from config.fields import BoundedDateField, TimeOfDayField
from config.parsing import parse_id
from config.widgets import FastSelect
from config.wording import bracketed
from reps.models import User

from ..models import Campaign, LostReason, Opportunity, Source, Stage, StageKind
from ..search import pickers
from ..search.pickers import PickerField, model_picker
from .services import EDITABLE_FIELDS


def open_stages() -> QuerySet[Stage]:
    return Stage.objects.filter(kind=StageKind.OPEN, is_archived=False, pipeline__is_active=True).select_related(
        "pipeline"
    )


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, stage: Stage) -> str:
        return f"{stage.pipeline.name} · {stage.name}{bracketed(f'{stage.probability}%')}"


class ChecklistMixin:
    """Adds a `checklist` field: one checkbox per item of the target stage's checklist."""

    def add_checklist(self, stage: Stage | None) -> None:
        items = stage.checklist_items() if stage else []
        if not items:
            return
        self.fields["checklist"] = forms.MultipleChoiceField(
            label=_("Checklist for “%(stage)s”") % {"stage": stage.name},
            choices=[(item, item) for item in items],
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )


class OpportunityForm(ChecklistMixin, forms.ModelForm):
    """Create (with owner and first stage) or edit (with the version the user saw) an opportunity."""

    account = model_picker(Opportunity, "account", "customer")
    contact = model_picker(Opportunity, "contact", "contact")

    class Meta:
        model = Opportunity
        fields = EDITABLE_FIELDS
        field_classes = {
            "expected_close_date": BoundedDateField, "next_step_date": BoundedDateField,
            "next_step_time": TimeOfDayField,
        }  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"probability_override": _("Leave empty to use the stage's probability.")}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["source"].queryset = Source.objects.filter(is_active=True)
        # Active campaigns, and the deal's own even if it was deactivated since (an edit keeps it).
        kept = Q(is_active=True) | Q(pk=self.instance.campaign_id) if self.instance.campaign_id else Q(is_active=True)
        self.fields["campaign"].queryset = Campaign.objects.filter(kept)
        self.fields["campaign"].help_text = _("The marketing campaign it came from, if any. Its source applies when "
                                              "no source is chosen.")  # fmt: skip
        if self.instance.pk is None:
            self.fields["owner"] = PickerField("person", label=_("Owner"), initial=user.pk)
            default = open_stages().filter(pipeline__is_default=True).order_by("order").first()
            self.fields["stage"] = StageChoiceField(label=_("Stage"), queryset=open_stages(), initial=default)
            self.add_checklist(self._chosen_stage() or default)
        else:
            self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput, initial=self.instance.version)
        pickers.setup(self, user)

    def _chosen_stage(self) -> Stage | None:
        try:
            return self.fields["stage"].clean(self.data.get("stage")) if self.is_bound else None
        except forms.ValidationError:
            return None

    def clean(self):
        cleaned = super().clean()
        contact, account = cleaned.get("contact"), cleaned.get("account")
        if contact and account and contact.account_id != account.pk:
            self.add_error("contact", _("This contact works for another customer."))
        if cleaned.get("next_step_time") and not cleaned.get("next_step_date") and "next_step_date" not in self.errors:
            self.add_error("next_step_time", _("Give the next step's date too."))
        return cleaned

    def field_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS if name in self.cleaned_data}


class MoveForm(ChecklistMixin, forms.Form):
    """Move to another stage of the same pipeline; the target's checklist must be confirmed."""

    stage = StageChoiceField(label=_("Move to"), queryset=Stage.objects.none())
    version = forms.IntegerField(widget=forms.HiddenInput)
    keep_probability = forms.BooleanField(label=_("Keep my probability override"), required=False)

    def __init__(self, *args, opportunity: Opportunity, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = (
            Stage.objects.filter(pipeline=opportunity.pipeline, is_archived=False)
            .exclude(kind=StageKind.LOST)
            .exclude(pk=opportunity.stage_id)
            .select_related("pipeline")
            .order_by("order")
        )
        self.fields["version"].initial = opportunity.version
        if opportunity.probability_override is None:
            del self.fields["keep_probability"]
        # Show the checklist of the stage being moved to: the posted one, or ?move_to= from the page.
        chosen = parse_id(self.data.get("stage") if self.is_bound else self.initial.get("stage"))
        stage = self.fields["stage"].queryset.filter(pk=chosen).first() if chosen else None
        self.fields["stage"].widget.attrs["data-reload-param"] = "move_to"
        self.add_checklist(stage)


class LostForm(forms.Form):
    reason = forms.ModelChoiceField(label=_("Why was it lost?"), queryset=LostReason.objects.filter(is_active=True))
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "lost_%s")  # beside the won form on one page: ids of its own
        super().__init__(*args, **kwargs)


class WonForm(ChecklistMixin, forms.Form):
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, opportunity: Opportunity, **kwargs):
        kwargs.setdefault("auto_id", "won_%s")  # beside the lost form on one page: ids of its own
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = opportunity.version
        self.add_checklist(
            opportunity.pipeline.stages.filter(kind=StageKind.WON, is_archived=False).order_by("order").first()
        )


class ReopenForm(ChecklistMixin, forms.Form):
    stage = StageChoiceField(label=_("Reopen in"), queryset=Stage.objects.none())
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, opportunity: Opportunity, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = open_stages().filter(pipeline=opportunity.pipeline).order_by("order")
        self.fields["version"].initial = opportunity.version
        chosen = parse_id(self.data.get("stage")) if self.is_bound else None
        stage = self.fields["stage"].queryset.filter(pk=chosen).first() if chosen else None
        self.add_checklist(stage)


class ReassignForm(forms.Form):
    owner = PickerField("person", label=_("New owner"))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, opportunity: Opportunity, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        pickers.setup(self, user)
        self.fields["owner"].queryset = self.fields["owner"].queryset.exclude(pk=opportunity.owner_id)
        self.fields["version"].initial = opportunity.version


class BulkForm(forms.Form):
    """The list's bulk action: `pick` values are "id:version" as the user saw them."""

    ACTIONS = [("reassign", _("Reassign to")), ("move", _("Move to stage"))]
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS, widget=FastSelect)
    owner = PickerField("person", label=_("New owner"), required=False)
    stage = StageChoiceField(label=_("Stage"), queryset=Stage.objects.none(), required=False, widget=FastSelect)
    pick = forms.MultipleChoiceField(required=True, error_messages={"required": _("Select at least one opportunity.")})

    def __init__(self, *args, user: User, **kwargs):
        kwargs.setdefault("auto_id", "bulk_%s")  # the list's filter form above has an owner and a stage too
        super().__init__(*args, **kwargs)
        pickers.setup(self, user)
        self.fields["stage"].queryset = (
            Stage.objects.filter(is_archived=False, pipeline__is_active=True)
            .exclude(kind=StageKind.LOST)
            .select_related("pipeline")
            .order_by("pipeline", "order")
        )
        self.fields["pick"].choices = [(value, value) for value in self.data.getlist("pick")] if self.is_bound else []

    def clean_pick(self) -> dict[int, int]:
        picked = {}
        for value in self.cleaned_data["pick"]:
            pk, _sep, version = value.partition(":")
            pk, version = parse_id(pk), parse_id(version)
            if pk is None or version is None:
                raise forms.ValidationError(_("The selection is malformed. Reload the page and try again."))
            picked[pk] = version
        return picked

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "reassign" and not cleaned.get("owner"):
            self.add_error("owner", _("Choose the new owner."))
        if cleaned.get("action") == "move" and not cleaned.get("stage"):
            self.add_error("stage", _("Choose the stage."))
        return cleaned
