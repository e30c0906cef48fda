"""The funnel's configuration: pipelines and their stages, where deals come from and why they are lost."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    # The funnel-health thresholds of this pipeline's deals (funnel.health.diagnoses); admins edit them.
    blockage_share = models.PositiveSmallIntegerField(
        _("blockage share (%)"), default=50, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    blockage_min_deals = models.PositiveSmallIntegerField(
        _("blockage minimum deals"), default=3, validators=[MinValueValidator(1)]
    )
    inflow_minimum = models.PositiveSmallIntegerField(_("minimum new deals"), default=1)
    inflow_weeks = models.PositiveSmallIntegerField(
        _("inflow weeks"), default=4, validators=[MinValueValidator(1), MaxValueValidator(52)]
    )
    next_step_cap_days = models.PositiveSmallIntegerField(
        _("next-step cap (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_pipeline"),
            models.CheckConstraint(
                condition=Q(blockage_share__gte=1, blockage_share__lte=100), name="pipeline_blockage_share_1_100"
            ),
            models.CheckConstraint(
                condition=Q(blockage_min_deals__gte=1, inflow_weeks__gte=1, next_step_cap_days__gte=1),
                name="pipeline_health_counts_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# Opportunity fields an admin may require before a deal enters a stage (Stage.required_fields).
REQUIRABLE_FIELDS = {
    "amount": _("Amount"),
    "expected_close_date": _("Expected close date"),
    "contact": _("Contact"),
    "source": _("Source"),
    "next_step": _("Next step"),
    "next_step_date": _("Next step date"),
    "description": _("Description"),
}


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="stages")
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=100)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    stall_days = models.PositiveSmallIntegerField(
        _("stall after (days)"), default=14, help_text=_("An open opportunity idle this long is flagged as stalled.")
    )
    kind = models.CharField(_("kind"), max_length=4, choices=StageKind.choices, default=StageKind.OPEN)
    playbook = models.TextField(_("playbook"), blank=True, help_text=_("The standard way to work this stage."))
    checklist = models.TextField(_("checklist"), blank=True, help_text=_("One item per line."))
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    is_archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        ordering = ["pipeline", "order"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_unique_in_pipeline"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability_at_most_100"),
        ]

    def __str__(self) -> str:
        return self.name

    def checklist_items(self) -> list[str]:
        return [line.strip() for line in self.checklist.splitlines() if line.strip()]


class Source(models.Model):
    """Where an opportunity came from: a marketing channel or campaign."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    """A marketing campaign that brings in opportunities (an admin-edited list, like sources): the funnel judges
    what it brought (funnel.insights.marketing)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.SET_NULL, null=True, blank=True, related_name="campaigns"
    )
    starts_on = models.DateField(_("starts"), null=True, blank=True)
    ends_on = models.DateField(_("ends"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class LostReason(models.Model):
    """Why a deal was lost: an admin-edited list, so losses can be counted by reason."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")

    def __str__(self) -> str:
        return self.name
