"""The daily alert digest: each manager gets, in their own language, the alerts first seen in their
scope over the last day, as HTML and plain text, each linked to its subject (as in the inbox), and what changed
since the start of their last working day (funnel.health.changes: deals moved, won, lost, slipped, gone stalled).
No new alert and no change, no e-mail."""

import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Case, Q, Value, When
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reps.models import Role, User

from ..models import Alert, AlertSeverity, HealthSettings
from . import changes as deal_changes
from .links import subject_url

DIGEST_WINDOW = timedelta(days=1)
SEVERITY_RANK = Case(
    When(severity=AlertSeverity.CRITICAL, then=Value(0)),
    When(severity=AlertSeverity.WARNING, then=Value(1)),
    default=Value(2),
)


def digest_alerts(manager: User, now: datetime) -> list[Alert]:
    """Open alerts in the manager's scope first seen within the last day, most severe first."""
    return list(
        Alert.objects.visible_to(manager)
        .filter(first_seen__gte=now - DIGEST_WINDOW, first_seen__lt=now, resolved_at__isnull=True)
        .select_related("rep", "opportunity", "stage", "team", "pipeline")
        .annotate(rank=SEVERITY_RANK)
        .order_by("rank", "kind", "rep__username", "id")
    )


def digest_changes(manager: User, now: datetime, working_days=None) -> deal_changes.Changes:
    """What changed among the manager's deals since the start of their last working day, up to `now`."""
    since = deal_changes.since_last_working_day(manager, now, working_days)
    return deal_changes.changes_since(manager, since)


def _link_changes(changes: deal_changes.Changes | None, site_url: str) -> None:
    for kind in changes.kinds if changes else []:
        kind.link = site_url + kind.url
        for deal in kind.rows:
            deal.link = site_url + reverse("opportunities:detail", args=[deal.pk])


def digest_message(
    manager: User, alerts: list[Alert], changes: deal_changes.Changes | None = None
) -> EmailMultiAlternatives:
    """The e-mail for one manager, rendered in their language and time zone."""
    site_url = settings.SITE_URL.rstrip("/")
    for alert in alerts:
        alert.link = site_url + subject_url(alert, manager)
    _link_changes(changes, site_url)
    with translation.override(manager.language), timezone.override(zoneinfo.ZoneInfo(manager.time_zone)):
        context = {
            "manager": manager,
            "alerts": alerts,
            "changes": changes if changes and changes.total else None,
            "inbox_url": settings.SITE_URL.rstrip("/") + reverse("health:alert_list"),
            "site_url": settings.SITE_URL.rstrip("/"),
        }
        if alerts:
            subject = ngettext(
                "Loudou: %(count)d new funnel alert", "Loudou: %(count)d new funnel alerts", len(alerts)
            ) % {"count": len(alerts)}
        else:
            subject = _("Loudou: what changed in your funnel")
        text = render_to_string("funnel/email/digest.txt", context)
        html = render_to_string("funnel/email/digest.html", context)
    message = EmailMultiAlternatives(subject, text, to=[manager.email])
    message.attach_alternative(html, "text/html")
    return message


def send_alert_digests(now: datetime | None = None) -> int:
    """Sends each active manager or admin with an e-mail address their digest (new alerts, what changed); returns
    how many were sent."""
    now = now or timezone.now()
    managers = User.objects.active().filter(Q(role=Role.MANAGER) | Q(role=Role.ADMIN)).exclude(email="")
    working_days = HealthSettings.current().working_days
    sent = 0
    for manager in managers:
        alerts = digest_alerts(manager, now)
        changes = digest_changes(manager, now, working_days)
        if alerts or changes.total:
            digest_message(manager, alerts, changes).send()
            sent += 1
    return sent
