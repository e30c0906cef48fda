"""Sales targets per team and period (the dashboard's coverage)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Target(models.Model):
    """An admin-set sales target for one team over a period (both days included), until quotas exist."""

    team = models.ForeignKey("reps.Team", verbose_name=_("team"), on_delete=models.PROTECT, related_name="targets")
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-period_start", "team__name"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.UniqueConstraint(fields=["team", "period_start", "period_end"], name="one_target_per_team_period"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="target_ends_after_start"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="target_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.period_start} – {self.period_end}"


class MarketingCost(models.Model):
    """What a source or a campaign cost over a period (both days included), entered by an admin: the marketing
    page's cost per won deal. Exactly one of source and campaign is set."""

    source = models.ForeignKey(
        "funnel.Source", verbose_name=_("source"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    campaign = models.ForeignKey(
        "funnel.Campaign", verbose_name=_("campaign"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    amount = models.DecimalField(_("cost"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal(0))])
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("entered by"), on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-period_start", "id"]
        verbose_name = _("marketing cost")
        verbose_name_plural = _("marketing costs")
        constraints = [
            models.CheckConstraint(
                condition=Q(source__isnull=False, campaign__isnull=True)
                | Q(source__isnull=True, campaign__isnull=False),
                name="marketing_cost_one_subject",
            ),
            models.UniqueConstraint(fields=["source", "period_start", "period_end"], name="one_cost_per_source_period"),
            models.UniqueConstraint(
                fields=["campaign", "period_start", "period_end"], name="one_cost_per_campaign_period"
            ),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="cost_ends_after_start"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="cost_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.source or self.campaign} {self.period_start} – {self.period_end}"
