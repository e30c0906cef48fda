"""seed_demo's quotas and handover (issue 14): the reps' quotas for this quarter and the last, and a rep who
left, whose customers and open deal were handed over to the team and acknowledged. Idempotent."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from activity_log.handover.services import handover_confirm
from funnel.models import Account, Opportunity, Pipeline, StageChange, StageKind
from reps.models import Handover, HandoverReceipt, Quota, Role, User
from reps.quotas import quarter_of
from reps.services import user_deactivate

QUOTAS = {"rep": Decimal(1_500_000), "rep2": Decimal(1_200_000), "rep3": Decimal(900_000)}
LEAVER = "former"


def seed_quotas(people: dict[str, User]) -> None:
    """Each rep's quota for the current and the previous quarter, set by their manager."""
    this_quarter = quarter_of(timezone.localdate())
    last_quarter = quarter_of(this_quarter[0] - timedelta(days=1))
    for username, amount in QUOTAS.items():
        person = people[username]
        manager = person.team.manager
        for start, end in (last_quarter, this_quarter):
            Quota.objects.get_or_create(
                user=person, period_start=start, period_end=end, defaults={"amount": amount, "updated_by": manager}
            )


def seed_handover(people: dict[str, User], pipeline: Pipeline, *, names: tuple, customers: tuple) -> None:
    """A rep of the first team who left: two customers and an open deal, handed over by the manager to the two
    reps (one each), deactivated afterwards; the first receiver has acknowledged. `customers`: the two
    customers' names and the deal's next step."""
    if Handover.objects.filter(from_user__username=LEAVER).exists():
        return
    manager, rep, rep2 = people["manager"], people["rep"], people["rep2"]
    leaver, _created = User.objects.get_or_create(username=LEAVER)
    leaver.first_name, leaver.last_name = names
    leaver.team, leaver.role, leaver.is_active, leaver.language = manager.team, Role.REP, True, manager.language
    leaver.set_unusable_password()
    leaver.save()
    first, second = (Account.objects.create(owner=leaver, name=name) for name in customers[:2])
    stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("order")[1]
    deal = Opportunity.objects.create(name=customers[0], account=first, owner=leaver, pipeline=pipeline, stage=stage,
                                      amount=Decimal(480_000), next_step=customers[2])  # fmt: skip
    StageChange.objects.create(opportunity=deal, to_stage=stage, by=leaver, at=deal.stage_entered_at)
    handover = handover_confirm(from_user=leaver, assignments={first.pk: rep, second.pk: rep2}, by=manager)
    HandoverReceipt.objects.filter(handover=handover, receiver=rep).update(acknowledged_at=timezone.now())
    user_deactivate(user=leaver, by=manager)
