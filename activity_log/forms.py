"""Forms of the rep's day. Choices are limited to the rep's own book (QUALITY S9); customers, deals and
contacts are pickers (funnel.search.pickers), so the forms stay small however large the book."""

import uuid
from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.fields import BoundedDateField, LocalDateTimeField, TimeOfDayField
from config.parsing import parse_id
from config.widgets import FastSelect
from config.wording import bracketed
from funnel.models import Opportunity, Stage, StageKind
from funnel.opportunities.forms import ChecklistMixin
from funnel.opportunities.services import stage_gate_problems
from funnel.search import pickers
from funnel.search.pickers import model_picker
from reps.models import User

from .models import Activity, ActivityKind, DailyLog, PlanItem


class BookChoicesMixin:
    """The kind, and pickers over the user's book: deals and contacts narrowed to the chosen customer."""

    def limit_to_book(self, user: User) -> None:
        self.fields["kind"].queryset = ActivityKind.objects.filter(is_active=True)
        self.fields["kind"].widget = FastSelect(choices=self.fields["kind"].choices)
        pickers.setup(self, user)


def log_records(log: DailyLog) -> dict[str, list]:
    """The customers, open deals and contacts of a day's plan and activities (loaded with the page), which
    the day's plan form offers first."""
    items = [*log.plan.all(), *log.activities.all()]
    return {
        "account": [item.account for item in items],
        "opportunity": [item.opportunity for item in items if item.opportunity and item.opportunity.status == "open"],
        "contact": [item.contact for item in items],
    }


class PlanItemForm(BookChoicesMixin, forms.ModelForm):
    account = model_picker(PlanItem, "account", "customer")
    opportunity = model_picker(PlanItem, "opportunity", "opportunity")
    contact = model_picker(PlanItem, "contact", "contact")

    class Meta:
        model = PlanItem
        fields = ["kind", "account", "opportunity", "contact", "goal"]

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_to_book(user)
        if not self.is_bound:  # as the visit form: the first kind (Visit) chosen, so "Add" works at once
            kinds = list(iter(self.fields["kind"].widget.choices))  # read once: the render reuses the list
            self.fields["kind"].widget.choices = kinds
            first = next((value for value, _label in kinds if value), None)
            self.initial.setdefault("kind", getattr(first, "value", first))

    def offering(self, log: DailyLog | None) -> "PlanItemForm":
        """Offers the day's own customers, deals and contacts first (the page has them already)."""
        if log is not None:
            pickers.hold(self, log_records(log))
        return self


class MoveStageField(forms.ModelChoiceField):
    """A target stage, named with its pipeline only while no deal (so no pipeline) is chosen."""

    with_pipeline = True

    def label_from_instance(self, stage: Stage) -> str:
        name = f"{stage.pipeline.name} · {stage.name}" if self.with_pipeline else stage.name
        return f"{name}{bracketed(f'{stage.probability}%')}"


class MoveFieldsMixin(ChecklistMixin):
    """ "This moved the deal to…": the chosen deal's pipeline's stages (open and won, not its own), the version
    of the deal the user saw, and the target's gate (its empty required fields and its checklist) shown before
    saving. The move itself is funnel.opportunities.services.opportunity_move's, through activity_record."""

    def add_move_fields(self) -> None:
        deal = self.move_deal = self._chosen_deal()
        stages = (
            Stage.objects.filter(is_archived=False, pipeline__is_active=True)
            .exclude(kind=StageKind.LOST)
            .select_related("pipeline")
            .order_by("pipeline", "order")
        )
        if deal is not None:
            stages = stages.filter(pipeline=deal.pipeline_id).exclude(pk=deal.stage_id)
            if not self.is_bound:  # the version of the deal this form shows
                self.initial.update(move_version=deal.version, move_opportunity=deal.pk)
        field = self.fields["move_to"]
        field.queryset, field.with_pipeline = stages, deal is None
        field.widget = FastSelect(choices=field.choices)
        chosen = parse_id(self.data.get("move_to") if self.is_bound else self.initial.get("move_to"))
        target = self.move_target = stages.filter(pk=chosen).first() if chosen else None
        self.add_checklist(target)
        self.gate_missing = (
            stage_gate_problems(self._as_the_visit_leaves_it(deal), target)[0] if deal and target else []
        )

    def _chosen_deal(self) -> Opportunity | None:
        pk = parse_id(self["opportunity"].value())
        rows = self.fields["opportunity"].queryset
        return rows.select_related("stage", "pipeline").filter(pk=pk).first() if pk else None

    def _as_the_visit_leaves_it(self, deal: Opportunity) -> Opportunity:
        """The deal as saving this visit leaves it before the move: a next step written replaces the deal's
        (activity_log.services._activity_create)."""
        next_step = str(self["next_step"].value() or "").strip()
        if next_step:
            deal.next_step, deal.next_step_date = next_step[:200], _as_date(self["next_date"].value())
        return deal

    def clean_move_fields(self, cleaned: dict) -> None:
        if not cleaned.get("move_to"):
            return
        opportunity = cleaned.get("opportunity")
        if opportunity is None:
            self.add_error("move_to", _("Choose the opportunity to move."))
        elif cleaned.get("move_opportunity") != opportunity.pk:
            # The version on the form is another deal's, or none: the user has not seen this deal's state.
            cleaned["move_version"] = None


def _as_date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return BoundedDateField(required=False).clean(value)
    except forms.ValidationError:
        return None


class ActivityForm(BookChoicesMixin, MoveFieldsMixin, forms.ModelForm):
    """Log a visit in under 30 seconds: kind, customer and outcome are all that is required."""

    account = model_picker(Activity, "account", "customer")
    opportunity = model_picker(Activity, "opportunity", "opportunity")
    contact = model_picker(Activity, "contact", "contact")
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)
    plan_item = forms.IntegerField(widget=forms.HiddenInput, required=False)
    move_to = MoveStageField(
        label=_("Move the opportunity to"),
        queryset=Stage.objects.none(),
        required=False,
        help_text=_("Optional: the stage this activity brought the deal to."),
    )
    move_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    move_opportunity = forms.IntegerField(widget=forms.HiddenInput, required=False)
    amend_reason = forms.CharField(
        label=_("Reason for adding to a submitted day"),
        max_length=300,
        required=False,
        help_text=_("Only needed when the day is already submitted."),
    )

    class Meta:
        model = Activity
        fields = [
            "kind", "account", "opportunity", "contact", "when", "place", "outcome", "next_step", "next_date",
            "next_time",
        ]  # fmt: skip
        field_classes = {"when": LocalDateTimeField, "next_date": BoundedDateField, "next_time": TimeOfDayField}
        widgets = {"outcome": forms.Textarea(attrs={"rows": 2})}
        labels = {"when": _("When"), "next_time": _("Time")}
        help_texts = {"next_time": _("Optional: the time of day of the next step.")}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_to_book(user)
        if not self.is_bound:
            self.initial.setdefault("when", timezone.localtime().replace(second=0, microsecond=0))
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            self.initial.setdefault(
                "kind", ActivityKind.objects.filter(is_active=True).values_list("pk", flat=True).first()
            )
        self.add_move_fields()

    def clean(self):
        cleaned = super().clean()
        self.clean_move_fields(cleaned)
        if cleaned.get("next_time") and not cleaned.get("next_date") and "next_date" not in self.errors:
            self.add_error("next_time", _("Give the next step's date too."))
        return cleaned


class ClearForm(forms.Form):
    action = forms.ChoiceField(choices=[("done", _("Done")), ("carry", _("Carry over"))])
    reason = forms.CharField(label=_("Why carried over"), max_length=300, required=False)
    # A resend of this very form (the phone's outbox after a lost answer) clears the item once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)


class PlanMoveForm(forms.Form):
    """Move a plan item's open deal to another stage of its pipeline from the day page, with the version of the
    deal the page showed (the move is funnel.opportunities.services.opportunity_move's: its gate applies)."""

    stage = forms.ModelChoiceField(label=_("Move to"), queryset=Stage.objects.none())
    version = forms.IntegerField(widget=forms.HiddenInput)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, item: PlanItem, **kwargs):
        super().__init__(*args, **kwargs)
        # The deal's own stage too: a move the deal has since made is then a conflict of versions, not "not a
        # valid choice" (the funnel's service says which).
        deal = item.opportunity
        self.fields["stage"].queryset = _move_targets([deal.pipeline_id]) if deal else Stage.objects.none()

    @staticmethod
    def offer(items) -> None:
        """Gives each planned item with an open deal its stages to move to (`item.move_stages`, every pipeline's
        read in one query) and fresh keys for its forms (`item.keys`)."""
        movable = [item for item in items if item.status == "planned" and item.opportunity]
        movable = [item for item in movable if item.opportunity.status == StageKind.OPEN]
        stages = list(_move_targets({item.opportunity.pipeline_id for item in movable}))
        for item in items:
            item.keys = {name: uuid.uuid4().hex for name in ("done", "carry", "move")}
        for item in movable:
            deal = item.opportunity
            item.move_stages = [s for s in stages if s.pipeline_id == deal.pipeline_id and s.pk != deal.stage_id]
            item.move_from = next((s for s in stages if s.pk == deal.stage_id), None)


def _move_targets(pipelines):
    stages = Stage.objects.filter(pipeline__in=pipelines, is_archived=False).exclude(kind=StageKind.LOST)
    return stages.order_by("pipeline", "order")


class ReportForm(forms.ModelForm):
    class Meta:
        model = DailyLog
        fields = ["summary", "problems", "support_needed"]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields}
