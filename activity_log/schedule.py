"""Scheduled activities: a dated next step is one thing, whether it was written on a visit (its next date and
time) or on the deal itself. On its day it is in the rep's plan, at its time when it has one; logging the visit
from the plan marks it done, and the visit's next step (with its day and time) becomes the deal's next one."""

from django.db.models import F, QuerySet, TimeField, When
from django.db.models.expressions import Case
from django.db.models.functions import Coalesce

from funnel.models import Opportunity, StageKind

from .models import ActivityKind, DailyLog, PlanItem


def next_steps_due(*, log: DailyLog, position: int, planned_deals: set[int]) -> list[PlanItem]:
    """Plan items (unsaved) for the rep's open deals whose next step falls on the log's day, except the deals
    the plan already holds or `planned_deals` names (a visit's follow-up proposed for the same deal). The kind
    is the first active one, as the plan's form offers it. One query, two when a step is due."""
    held = log.plan.exclude(opportunity=None).values("opportunity")
    due = list(
        Opportunity.objects.visible_to(log.rep)
        .filter(owner=log.rep, status=StageKind.OPEN, next_step_date=log.date)
        .exclude(pk__in=held)
        .exclude(pk__in=planned_deals)
        .order_by("pk")
        .values_list("pk", "account_id", "contact_id", "next_step")
    )
    kind = ActivityKind.objects.filter(is_active=True).order_by("order", "name").first() if due else None
    if kind is None:
        return []
    return [
        PlanItem(daily_log=log, kind=kind, account_id=account, opportunity_id=deal, contact_id=contact,
                 goal=step, position=position + number)
        for number, (deal, account, contact, step) in enumerate(due, start=1)
    ]  # fmt: skip


def plan_in_order(items: QuerySet[PlanItem]) -> QuerySet[PlanItem]:
    """Plan items with the time of day they are scheduled at (`scheduled_time`: the followed-up visit's next time,
    else the deal's next step time when the step falls on the item's day), those with a time first, by time,
    then as planned. In the same query as the items."""
    deal_time = Case(
        When(opportunity__next_step_date=F("daily_log__date"), then=F("opportunity__next_step_time")),
        output_field=TimeField(),
    )
    return items.annotate(
        scheduled_time=Coalesce("follows_up__next_time", deal_time, output_field=TimeField())
    ).order_by(F("scheduled_time").asc(nulls_last=True), "position", "id")
