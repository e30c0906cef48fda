"""The in-app notification list (the bell): what is written to it, by whom, and when it counts as read.

A notification names its event with a key, unique per person, so a scheduler run twice, two workers or a
retried request never notify twice: every insert ignores a key already there (ON CONFLICT DO NOTHING). What it
says is worded when shown, in the reader's language (activity_log.bell.wording), from its kind and details.

Producers: the scheduled job (`send_notifications`, every 15 minutes beside the funnel's scan) for next steps
due today and for new alerts on a person's deals; the daily log's comment and the handover, in their own
transaction, for a comment from a manager and a book handed over.
"""

import zoneinfo
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.db.models import CharField, Count, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone

from funnel.models import Alert, HealthSettings, Opportunity, StageKind
from reps.models import Handover, User

from .models import Comment, Notification, NotificationKind

# New alerts are read back this far: a job that was down less long still finds every scan's new ones.
ALERT_LOOKBACK = timedelta(hours=6)
EXCERPT = 140  # characters of a comment kept with its notification


def notify(user: User, kind: str, key: str, details: dict, url: str) -> None:
    """One notification for `user`, unless one with this key is there already."""
    notify_many([Notification(user=user, kind=kind, key=key, details=details, url=url)])


def notify_many(rows: list[Notification]) -> int:
    """Inserts the rows in one statement, skipping the keys a person has already; returns how many were given."""
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


def notification_read(*, notification: Notification, by: User) -> bool:
    """Marks the person's own notification read; False when it was already (nothing changes)."""
    if notification.user_id != by.pk:
        return False
    return bool(Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now()))


def notifications_read_all(*, by: User) -> int:
    """Marks every unread notification of the person read; returns how many."""
    return Notification.objects.filter(user=by).unread().update(read_at=timezone.now())


# --- written with the event ---------------------------------------------------------------------------------


def comment_posted(comment: Comment) -> None:
    """A comment by someone else (the rep's manager) on a rep's log, to the rep; a rep's own reply notifies no one."""
    log = comment.daily_log
    if comment.author_id == log.rep_id:
        return
    details = {"author": str(comment.author), "day": log.date.isoformat(), "excerpt": comment.body[:EXCERPT]}
    url = reverse("log:day", args=[log.date.isoformat()]) + "#comments"
    notify_many([Notification(user_id=log.rep_id, kind=NotificationKind.COMMENT, key=f"comment:{comment.pk}",
                              details=details, url=url)])  # fmt: skip


def handed_over(handover: Handover, moved_to: dict[int, int]) -> None:
    """One notification per receiver of a handover: whose book, and how many of its records are theirs now
    (`moved_to`: receiver id → records)."""
    url = reverse("log:handover_detail", args=[handover.pk])
    giver = str(handover.from_user)
    notify_many([
        Notification(user_id=receiver, kind=NotificationKind.HANDOVER, key=f"handover:{handover.pk}",
                     details={"from": giver, "items": count}, url=url)
        for receiver, count in sorted(moved_to.items())
    ])  # fmt: skip


# --- the scheduled job ---------------------------------------------------------------------------------------


def local_working_days(now: datetime) -> dict[date, list[str]]:
    """The time zones of the active people whose local day (at `now`) is a working day, by that day. One query."""
    working = frozenset(HealthSettings.current().working_days)
    days = defaultdict(list)
    for zone in User.objects.active().order_by().values_list("time_zone", flat=True).distinct():
        local = now.astimezone(zoneinfo.ZoneInfo(zone)).date()
        if local.weekday() in working:
            days[local].append(zone)
    return dict(days)


def steps_due_key() -> Concat:
    """The key of a deal's "next step due" notification, step_due:<deal id>:<date>, built by the database."""
    return Concat(
        Value("step_due:"), Cast("pk", CharField()), Value(":"), Cast("next_step_date", CharField()),
        output_field=CharField(),
    )  # fmt: skip


def notify_steps_due(now: datetime | None = None) -> int:
    """For each active person whose local day has begun and is a working day: a notification per open deal of
    theirs whose next step falls on that day. Set-based: one query finds the due deals of every person that
    have no notification yet, one insert writes them. Returns how many were written."""
    now = now or timezone.now()
    due = Q()
    for day, zones in local_working_days(now).items():
        due |= Q(owner__time_zone__in=zones, next_step_date=day)
    if not due:
        return 0
    notified = Notification.objects.filter(user=OuterRef("owner"), key=OuterRef("step_key"))
    deals = (
        Opportunity.objects.filter(due, status=StageKind.OPEN, owner__is_active=True)
        .annotate(step_key=steps_due_key())
        .exclude(Exists(notified))
        .order_by("pk")
        .values_list("pk", "owner_id", "name", "account__name", "next_step", "next_step_date", "next_step_time")
    )
    return notify_many([
        Notification(
            user_id=owner, kind=NotificationKind.STEP_DUE, key=f"step_due:{pk}:{day.isoformat()}",
            details={"step": step, "deal": name, "customer": customer, "day": day.isoformat(),
                     "time": at.strftime("%H:%M") if at else ""},
            url=reverse("opportunities:detail", args=[pk]),
        )
        for pk, owner, name, customer, step, day, at in deals
    ])  # fmt: skip


def alerts_key(first_seen: datetime) -> str:
    """A scan's alerts share its moment (funnel.health.services.scan_funnel): one key per person and scan."""
    return f"alerts:{first_seen.astimezone(UTC):%Y%m%dT%H%M%S.%f}"


def notify_new_alerts(now: datetime | None = None) -> int:
    """One notification per person and scan that opened alerts on their deals ("3 new alerts on your deals"),
    never one per alert: a first scan of a million deals opens 600,000. Reads the open deal alerts first seen
    in the last ALERT_LOOKBACK, grouped by person and scan (one query), leaves out the pairs notified already
    (one query) and inserts the rest (one). Returns how many were written."""
    now = now or timezone.now()
    found = (
        Alert.objects.open()
        .filter(first_seen__gte=now - ALERT_LOOKBACK, opportunity__isnull=False, rep__is_active=True)
        .values("rep_id", "first_seen")
        .annotate(count=Count("pk"))
        .order_by()
    )
    groups = {(row["rep_id"], alerts_key(row["first_seen"])): row["count"] for row in found}
    if not groups:
        return 0
    keys = {key for _rep, key in groups}
    done = set(
        Notification.objects.filter(user__in={rep for rep, _key in groups}, key__in=keys).values_list("user", "key")
    )
    url = reverse("health:alert_list")
    return notify_many([
        Notification(user_id=rep, kind=NotificationKind.ALERT, key=key, details={"count": count}, url=url)
        for (rep, key), count in sorted(groups.items()) if (rep, key) not in done
    ])  # fmt: skip


def send_notifications(now: datetime | None = None) -> dict[str, int]:
    """The scheduled job: safe to run twice or at once (the keys keep each notification single)."""
    now = now or timezone.now()
    return {"step_due": notify_steps_due(now), "alert": notify_new_alerts(now)}
