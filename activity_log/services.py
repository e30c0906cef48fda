"""Writes to the daily log. Days are the rep's local days (a visit at 00:30 in Shanghai belongs to
the new Shanghai day, whatever the UTC date). A submitted log is never changed silently: changes
after submission are amendments with a reason.
"""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import DateTimeField, F, Max, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from funnel.models import Account, Opportunity, Stage
from funnel.opportunities import services as funnel_services
from reps.models import User

from . import notifications, schedule
from .models import Activity, Amendment, Comment, DailyLog, PlanItem, PlanItemStatus

# Fields of an activity a rep types; everything else is set here.
ACTIVITY_FIELDS = [
    "kind", "account", "opportunity", "contact", "when", "place", "outcome", "next_step", "next_date", "next_time",
]  # fmt: skip


class LogError(Exception):
    """A write the daily log refuses; str(error) is the message for the user."""


def local_date(user: User, moment: datetime) -> date:
    """The calendar day `moment` falls on in the user's own time zone."""
    return moment.astimezone(zoneinfo.ZoneInfo(user.time_zone)).date()


def local_today(user: User) -> date:
    return local_date(user, timezone.now())


def day_end(user: User, day: date) -> datetime:
    """The first instant after `day` in the user's time zone (DST-safe: 23 h and 25 h days)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zoneinfo.ZoneInfo(user.time_zone))


def submission_deadline(user: User, day: date) -> datetime:
    return day_end(user, day) + timedelta(hours=settings.DAILY_LOG_GRACE_HOURS)


def daily_log_get(*, rep: User, day: date) -> DailyLog:
    """The rep's log for `day`, created (with the proposed plan) on first use; safe under races."""
    log = DailyLog.objects.filter(rep=rep, date=day).first()
    if log is not None:
        return log
    try:
        with transaction.atomic():
            log = DailyLog.objects.create(rep=rep, date=day)
            if day == local_today(rep):
                plan_propose(log=log)
            return log
    except IntegrityError:  # another request created it a moment ago
        return DailyLog.objects.get(rep=rep, date=day)


def plan_propose(*, log: DailyLog) -> list[PlanItem]:
    """Adds yesterday's unfinished plan items and the scheduled activities due today (visits' follow-ups and
    deals' next steps, activity_log.schedule), once each. A fixed number of queries however many items: the
    copies take the ids of kind, customer, deal and contact, never the rows."""
    previous = DailyLog.objects.filter(rep=log.rep, date__lt=log.date).order_by("-date").first()
    already = {pk for pair in log.plan.values_list("carried_from", "follows_up") for pk in pair if pk is not None}
    proposed, position = [], log.plan.aggregate(n=Max("position"))["n"] or 0
    if previous is not None:
        unfinished = previous.plan.exclude(status=PlanItemStatus.DONE).exclude(pk__in=already)
        for item in unfinished:
            position += 1
            proposed.append(
                PlanItem(
                    daily_log=log,
                    kind_id=item.kind_id,
                    account_id=item.account_id,
                    opportunity_id=item.opportunity_id,
                    contact_id=item.contact_id,
                    goal=item.goal,
                    carried_from_id=item.pk,
                    position=position,
                )
            )
    due = Activity.objects.filter(daily_log__rep=log.rep, next_date=log.date).exclude(pk__in=already)
    for activity in due:
        position += 1
        proposed.append(
            PlanItem(
                daily_log=log,
                kind_id=activity.kind_id,
                account_id=activity.account_id,
                opportunity_id=activity.opportunity_id,
                contact_id=activity.contact_id,
                goal=activity.next_step,
                follows_up_id=activity.pk,
                position=position,
            )
        )
    planned = {item.opportunity_id for item in proposed if item.opportunity_id}
    proposed += schedule.next_steps_due(log=log, position=position, planned_deals=planned)
    return PlanItem.objects.bulk_create(proposed)


def _check_scope(*, rep: User, account: Account, opportunity: Opportunity | None, contact) -> None:
    """The customer, deal and contact must be the rep's to see, and belong together (QUALITY S9)."""
    if not Account.objects.visible_to(rep).filter(pk=account.pk).exists():
        raise LogError(_("That customer is not in your book."))
    if opportunity is not None and (
        opportunity.account_id != account.pk
        or not Opportunity.objects.visible_to(rep).filter(pk=opportunity.pk).exists()
    ):
        raise LogError(_("That opportunity does not belong to this customer."))
    if contact is not None and contact.account_id != account.pk:
        raise LogError(_("That contact does not work for this customer."))


def _fresh(log: DailyLog) -> DailyLog:
    """The log as stored, locked: whether it is submitted is decided by the database, not a stale copy."""
    return DailyLog.objects.select_for_update().get(pk=log.pk)


@transaction.atomic
def plan_item_add(*, rep: User, log: DailyLog, data: dict) -> PlanItem:
    log = _fresh(log)
    if log.rep_id != rep.pk:
        raise LogError(_("You can only plan your own day."))
    if log.is_submitted:
        raise LogError(_("This day is already submitted."))
    _check_scope(rep=rep, account=data["account"], opportunity=data.get("opportunity"), contact=data.get("contact"))
    position = (log.plan.aggregate(n=Max("position"))["n"] or 0) + 1
    return PlanItem.objects.create(daily_log=log, position=position, **data)


@transaction.atomic
def plan_item_clear(*, item: PlanItem, by: User, done: bool, reason: str = "") -> PlanItem:
    """Marks a plan item done, or carried over to the next day with a reason (日清)."""
    log = _fresh(item.daily_log)
    if log.rep_id != by.pk:
        raise LogError(_("You can only clear your own plan."))
    if log.is_submitted:
        raise LogError(_("This day is already submitted."))
    if not done and not reason.strip():
        raise LogError(_("Say why it is carried over."))
    item.status = PlanItemStatus.DONE if done else PlanItemStatus.CARRIED_OVER
    item.carry_reason = "" if done else reason.strip()
    item.save(update_fields=["status", "carry_reason"])
    return item


@funnel_services.retry_on_lock_conflict  # a deal move inside waits for its row: retried once, then Busy (409)
def activity_record(
    *,
    rep: User,
    data: dict,
    idempotency_key: str | None = None,
    plan_item: PlanItem | None = None,
    move_to: Stage | None = None,
    move_version: int | None = None,
    checklist: list[str] | tuple = (),
    amend_reason: str = "",
) -> Activity:
    """Records an activity on the rep's log for its local day; a double submit returns the first one.

    Updates the stall clock of its opportunity and the customer's last contact, and may move the
    opportunity through the funnel's own service (its gates apply). Adding to an already
    submitted day is an amendment and needs a reason.
    """
    if idempotency_key:
        existing = Activity.objects.filter(idempotency_key=idempotency_key).select_related("daily_log").first()
        if existing is not None and existing.daily_log.rep_id == rep.pk:
            return existing
        if existing is not None:  # keys are unique across reps: someone else's (copied or tampered) form
            raise LogError(_("This form has expired. Reload the page and try again."))
    try:
        with transaction.atomic():
            return _activity_create(
                rep=rep,
                data=data,
                idempotency_key=idempotency_key or None,
                plan_item=plan_item,
                move_to=move_to,
                move_version=move_version,
                checklist=checklist,
                amend_reason=amend_reason,
            )
    except IntegrityError:
        existing = Activity.objects.filter(idempotency_key=idempotency_key).select_related("daily_log").first()
        if existing is None or not idempotency_key:
            raise
        if existing.daily_log.rep_id != rep.pk:
            raise LogError(_("This form has expired. Reload the page and try again.")) from None
        return existing


def _activity_create(*, rep, data, idempotency_key, plan_item, move_to, move_version, checklist, amend_reason):
    _check_scope(rep=rep, account=data["account"], opportunity=data.get("opportunity"), contact=data.get("contact"))
    when = data["when"]
    if when > timezone.now() + timedelta(minutes=5):
        raise LogError(_("An activity cannot be in the future. Plan it instead."))
    day = local_date(rep, when)
    log = daily_log_get(rep=rep, day=day)
    if log.is_submitted and not amend_reason.strip():
        raise LogError(_("That day is already submitted: give a reason to add to it."))
    activity = Activity.objects.create(
        daily_log=log,
        plan_item=plan_item,
        is_backdated=day < local_today(rep),
        idempotency_key=idempotency_key,
        **{field: data.get(field) for field in ACTIVITY_FIELDS if field in data},
    )
    if log.is_submitted:
        Amendment.objects.create(
            daily_log=log, activity=activity, by=rep, reason=amend_reason.strip(), changes={"added": activity.pk}
        )
    if plan_item is not None and plan_item.daily_log_id == log.pk and plan_item.status == PlanItemStatus.PLANNED:
        plan_item.status = PlanItemStatus.DONE
        plan_item.save(update_fields=["status"])
    moment = Value(when, output_field=DateTimeField())
    Account.objects.filter(pk=activity.account_id).update(
        last_contact_at=Greatest(Coalesce(F("last_contact_at"), moment), moment)
    )
    opportunity = activity.opportunity
    if opportunity is not None:
        Opportunity.objects.filter(pk=opportunity.pk).update(
            last_activity_at=Greatest(Coalesce(F("last_activity_at"), moment), moment)
        )
        if data.get("next_step"):
            Opportunity.objects.filter(pk=opportunity.pk).update(  # the step, its day and its time, together
                next_step=data["next_step"][:200], next_step_date=data.get("next_date"),
                next_step_time=data.get("next_time") if data.get("next_date") else None,
            )  # fmt: skip
        if move_to is not None:
            funnel_services.opportunity_move(
                opportunity=opportunity, stage=move_to, by=rep, version=move_version, checklist=checklist
            )
    return activity


@transaction.atomic
def activity_amend(*, activity: Activity, by: User, data: dict, reason: str) -> dict[str, list]:
    """Changes an activity; on a submitted day the reason and the old → new values are kept as an amendment.

    Old values are the row as stored (locked), never the caller's instance: a bound ModelForm has already
    copied the new values onto that. Returns the changes, {field: [old, new]}; empty when nothing changed.
    """
    log = _fresh(activity.daily_log)
    stored = Activity.objects.select_for_update(of=("self",)).get(pk=activity.pk)
    if log.rep_id != by.pk or stored.daily_log_id != log.pk:
        raise LogError(_("You can only correct your own log."))
    _check_scope(rep=by, account=data["account"], opportunity=data.get("opportunity"), contact=data.get("contact"))
    if local_date(by, data["when"]) != log.date:
        raise LogError(_("An amendment keeps the activity on its day. Record a new activity for another day."))
    changes = {
        field: [_amendment_value(_stored_value(stored, field)), _amendment_value(data.get(field))]
        for field in ACTIVITY_FIELDS
        if field in data and _stored_value(stored, field) != _comparable(data.get(field))
    }
    if not changes:
        return {}
    if log.is_submitted and not reason.strip():
        raise LogError(_("This day is submitted: say why you correct it."))
    for field in changes:
        setattr(stored, field, data.get(field))
    stored.save(update_fields=list(changes))
    if log.is_submitted:
        Amendment.objects.create(daily_log=log, activity=stored, by=by, reason=reason.strip(), changes=changes)
    return changes


def _stored_value(activity: Activity, field: str):
    """The stored value, an id for a related row (read without loading the row)."""
    return getattr(activity, Activity._meta.get_field(field).attname)


def _comparable(value):
    return value.pk if isinstance(value, models.Model) else value


def _amendment_value(value) -> str | None:
    """A value as the amendment keeps it: ids for related rows, ISO 8601 (UTC) for moments."""
    if value is None:
        return None
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@transaction.atomic
def daily_log_submit(
    *, log: DailyLog, by: User, summary: str, problems: str = "", support_needed: str = ""
) -> DailyLog:
    """The evening report. Every plan item must be cleared first (日清), and a day is submitted once."""
    log = _fresh(log)
    if log.rep_id != by.pk:
        raise LogError(_("You can only submit your own log."))
    if log.is_submitted:
        raise LogError(_("This day is already submitted."))
    open_items = log.plan.filter(status=PlanItemStatus.PLANNED).count()
    if open_items:
        raise LogError(
            _("Clear your plan first: mark each item done or carry it over with a reason (%(n)d left).")
            % {"n": open_items}
        )
    if not summary.strip():
        raise LogError(_("Write a short summary of the day."))
    now = timezone.now()
    log.summary, log.problems, log.support_needed = summary.strip(), problems.strip(), support_needed.strip()
    log.submitted_at = now
    log.is_late = now >= submission_deadline(log.rep, log.date)
    log.save()
    return log


@transaction.atomic
def daily_log_comment(*, log: DailyLog, by: User, body: str, answers_support: bool = False) -> Comment:
    """A manager's comment (or the rep's reply) on a log the author may see; a comment by someone else than the
    rep is in the rep's notifications."""
    if not DailyLog.objects.visible_to(by).filter(pk=log.pk).exists():
        raise LogError(_("You cannot comment on this log."))
    if not body.strip():
        raise LogError(_("Write a comment."))
    comment = Comment.objects.create(daily_log=log, author=by, body=body.strip(), answers_support=answers_support)
    notifications.comment_posted(comment)  # the rep's bell, in this transaction: no comment, no notification
    return comment


@transaction.atomic
def daily_log_mark_reviewed(*, log: DailyLog, by: User) -> DailyLog:
    log = _fresh(log)
    if log.rep_id == by.pk or not DailyLog.objects.visible_to(by).filter(pk=log.pk).exists():
        raise LogError(_("Only the rep's manager can review this log."))
    if not log.is_submitted:
        raise LogError(_("The log has not been submitted yet."))
    log.reviewed_at, log.reviewed_by = timezone.now(), by
    log.save(update_fields=["reviewed_at", "reviewed_by"])
    return log


def comments_mark_read(*, log: DailyLog, by: User) -> int:
    """The rep has seen the comments on their log."""
    if log.rep_id != by.pk:
        return 0
    return log.comments.exclude(author=by).filter(read_at__isnull=True).update(read_at=timezone.now())
