"""The tables the dashboard adds up instead of scanning deals and stage changes (funnel.insights.rollup fills them).

A day is the deal's owner's local day, the day the same visit or deal lands in their daily log: a deal
created at 20:00 UTC by a rep in Shanghai counts on the next Shanghai day, whoever reads the dashboard.
Each row belongs to one owner; `owner_id` ALL_OWNERS (0) rows hold the sums over every owner, so the
organisation's figures read a few thousand rows instead of one row per rep. Ids are plain integers
(0 is not a user): these rows are derived, rebuilt from the deals at any time, never referenced.
"""

from django.db import models
from django.db.models import Q

ALL_OWNERS = 0


class DealDay(models.Model):
    """One owner's deals on one of their days, in one pipeline and source (None: no source).

    created / created_won: deals created that day, and how many of those are won now. won / lost /
    won_amount / won_seconds: deals closed that day (won_seconds: their created → closed time, summed).
    entered / advanced: first entries of a deal into an open stage that day, and how many of those went on
    to a later stage; stays / stay_seconds: stays in an open stage that ended that day, and their length.
    Re-entries into a stage are in FlowDay (with prev_day), so a deal counts once per stage in a period.
    """

    owner_id = models.BigIntegerField()
    day = models.DateField()
    pipeline_id = models.BigIntegerField()
    source_id = models.BigIntegerField(null=True)
    created = models.IntegerField(default=0)
    created_won = models.IntegerField(default=0)
    won = models.IntegerField(default=0)
    lost = models.IntegerField(default=0)
    won_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    won_seconds = models.FloatField(default=0)
    entered = models.IntegerField(default=0)
    advanced = models.IntegerField(default=0)
    stays = models.IntegerField(default=0)
    stay_seconds = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["owner_id", "pipeline_id", "day"], name="dealday_owner_day")]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.day}"


class FlowDay(models.Model):
    """One owner's moves through one open stage on one of their days (one pipeline and source).

    entered / advanced: the entries into the stage that day whose previous entry of the same deal into
    the stage was on `prev_day` (None: its first entry), and how many of those went on to a later,
    not-lost stage at any time after. A deal enters a stage in a period once if that previous entry lies
    before the period. stays / stay_seconds: stays in the stage that ended that day (on rows without
    prev_day) and their total length; StayLength counts them by length, for the median.
    """

    owner_id = models.BigIntegerField()
    day = models.DateField()
    pipeline_id = models.BigIntegerField()
    source_id = models.BigIntegerField(null=True)
    stage_id = models.BigIntegerField()
    prev_day = models.DateField(null=True)
    entered = models.IntegerField(default=0)
    advanced = models.IntegerField(default=0)
    stays = models.IntegerField(default=0)
    stay_seconds = models.FloatField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["owner_id", "pipeline_id", "day"], name="flowday_owner_day"),
            models.Index(
                fields=["owner_id", "pipeline_id", "day"], condition=Q(prev_day__isnull=False), name="flowday_reentry"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.day} {self.stage_id}"


class StayLength(models.Model):
    """How many of one owner's stays in one open stage that ended on one of their days lasted `days` whole
    days (one pipeline and source): the median days in stage is read from these counts."""

    owner_id = models.BigIntegerField()
    day = models.DateField()
    pipeline_id = models.BigIntegerField()
    source_id = models.BigIntegerField(null=True)
    stage_id = models.BigIntegerField()
    days = models.IntegerField()
    stays = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["owner_id", "pipeline_id", "day"], name="staylength_owner_day")]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.day} {self.stage_id} {self.days}"


class OpenDeals(models.Model):
    """One owner's open deals now, per pipeline, stage and source: count and amount, and their weighted
    amount in two parts, so a stage's new probability applies at once (plain_amount × the stage's
    probability + override_weighted, the deals with their own probability)."""

    owner_id = models.BigIntegerField()
    pipeline_id = models.BigIntegerField()
    stage_id = models.BigIntegerField()
    source_id = models.BigIntegerField(null=True)
    count = models.IntegerField(default=0)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    plain_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    override_weighted = models.DecimalField(max_digits=20, decimal_places=4, default=0)

    class Meta:
        indexes = [models.Index(fields=["owner_id", "pipeline_id"], name="opendeals_owner")]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.stage_id}"


class RollupDirt(models.Model):
    """An owner whose rows are out of date on the days of one changed deal (or all their rows, without a
    deal): written in the same transaction as the change (a stage move, an edit, a new owner), cleared by
    the refresh that recomputes them."""

    owner_id = models.BigIntegerField(db_index=True)
    opportunity_id = models.BigIntegerField(null=True)
    marked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.owner_id)


class RollupState(models.Model):
    """One row (pk 1): when the rollup was last brought up to date, and each owner's time zone then (a
    changed zone moves the owner's days, so their rows are recomputed)."""

    refreshed_at = models.DateTimeField(null=True)
    requested_at = models.DateTimeField(null=True)
    zones = models.JSONField(default=dict)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="one_rollup_state_row")]

    def __str__(self) -> str:
        return f"rollup as of {self.refreshed_at}"
