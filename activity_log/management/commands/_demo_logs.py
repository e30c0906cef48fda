"""A few weeks of daily logs for the demo reps: most days submitted in time, some late, some
missing, some reviewed with a comment, so the manager's review page has something to show.
"""

import random
import zoneinfo
from datetime import date, datetime, time, timedelta

from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from activity_log.models import Activity, ActivityKind, Comment, DailyLog, PlanItem, PlanItemStatus
from activity_log.services import local_today, plan_propose
from funnel.models import Account, Opportunity, StageKind
from reps.models import User

OUTCOMES = [
    gettext_noop("Walked the site with the plant manager; they need two more lines by Q3."),
    gettext_noop("Call with procurement: budget approved, waiting for the tender date."),
    gettext_noop("Demo went well; IT asked for the integration spec."),
    gettext_noop("Met the new decision maker; re-introduced our references."),
    gettext_noop("Sent the revised quotation; they will reply after the board meeting."),
]


def working_days(rep: User, weeks: int) -> list[date]:
    today = local_today(rep)
    days = [today - timedelta(days=n) for n in range(1, weeks * 7 + 1)]
    return sorted(day for day in days if day.weekday() < 5)


def seed_logs(*, reps: list[User], manager_of: dict[int, User], weeks: int = 3, seed: int = 11) -> int:
    """Creates the logs unless the reps already have some; returns how many were created."""
    if DailyLog.objects.filter(rep__in=reps).exists():
        return 0
    rng = random.Random(seed)
    kinds = list(ActivityKind.objects.filter(is_active=True))
    created = 0
    for rep in reps:
        deals = list(Opportunity.objects.filter(owner=rep, status=StageKind.OPEN).select_related("account"))
        accounts = list(Account.objects.filter(owner=rep)) or [deal.account for deal in deals]
        if not accounts:
            continue
        zone = zoneinfo.ZoneInfo(rep.time_zone)
        for day in working_days(rep, weeks):
            if rng.random() < 0.12:
                continue  # a missing day
            created += _seed_day(rep, day, zone, rng, kinds, deals, accounts, manager_of.get(rep.pk))
        _refresh_clocks(rep)
        today_log = DailyLog.objects.create(rep=rep, date=local_today(rep))
        plan_propose(log=today_log)
        if not today_log.plan.exists():
            PlanItem.objects.create(
                daily_log=today_log, kind=kinds[0], account=rng.choice(accounts), goal=_("Follow-up visit")
            )
    return created


def _seed_day(rep, day, zone, rng, kinds, deals, accounts, manager) -> int:
    at = lambda hour, minute=0: datetime.combine(day, time(hour, minute), tzinfo=zone)  # noqa: E731
    late = rng.random() < 0.15
    log = DailyLog.objects.create(
        rep=rep,
        date=day,
        summary=_("Visited customers as planned; pipeline moving."),
        problems=_("The customer's IT team is slow to answer.") if rng.random() < 0.3 else "",
        # Translators: demo text; "%" is a literal percent sign, not a placeholder.
        # xgettext:no-python-format
        support_needed=_("Need approval for a 5% discount.") if rng.random() < 0.2 else "",
        submitted_at=at(9, 30) + timedelta(days=1) if late else at(18, rng.randint(0, 59)),
        is_late=late,
    )
    for hour in sorted(rng.sample(range(9, 17), rng.randint(1, 3))):
        deal = rng.choice(deals) if deals and rng.random() < 0.8 else None
        account = deal.account if deal else rng.choice(accounts)
        item = PlanItem.objects.create(daily_log=log, kind=rng.choice(kinds), account=account, opportunity=deal)
        if rng.random() < 0.2:
            item.status, item.carry_reason = PlanItemStatus.CARRIED_OVER, _("Customer postponed the meeting.")
            item.save()
            continue
        item.status = PlanItemStatus.DONE
        item.save()
        Activity.objects.create(
            daily_log=log,
            kind=item.kind,
            account=account,
            opportunity=deal,
            plan_item=item,
            when=at(hour, rng.choice([0, 15, 30, 45])),
            place=account.city,
            outcome=_(rng.choice(OUTCOMES)),
            next_step=_("Send the follow-up material"),
            next_date=day + timedelta(days=rng.randint(1, 6)),
            created_at=at(hour) + timedelta(minutes=20),
        )
    if manager is not None and rng.random() < 0.6:
        log.reviewed_at, log.reviewed_by = log.submitted_at + timedelta(hours=14), manager
        log.save(update_fields=["reviewed_at", "reviewed_by"])
        if log.support_needed or rng.random() < 0.3:
            Comment.objects.create(
                daily_log=log,
                author=manager,
                body=_("Approved. Keep me posted on the tender date."),
                answers_support=bool(log.support_needed),
                at=log.reviewed_at,
                read_at=log.reviewed_at + timedelta(hours=2) if rng.random() < 0.7 else None,
            )
    return 1


def _refresh_clocks(rep: User) -> None:
    """The stall clock and last contact as the recorded activities left them."""
    latest = (
        Activity.objects.filter(daily_log__rep=rep, opportunity__isnull=False)
        .values("opportunity")
        .annotate(last=Max("when"))
    )
    for row in latest:
        Opportunity.objects.filter(pk=row["opportunity"]).update(last_activity_at=row["last"])
    for row in Activity.objects.filter(daily_log__rep=rep).values("account").annotate(last=Max("when")):
        Account.objects.filter(pk=row["account"]).update(last_contact_at=row["last"])
