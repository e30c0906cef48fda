"""Writes of alerts: turning a scan's findings into alerts, and a manager's acknowledgement.

The scan is safe to run twice or concurrently: the partial unique constraint keeps one open alert
per key, and new alerts are inserted with conflicts ignored, so the loser of a race inserts nothing.
"""

from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    F,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from reps.models import User

from .. import hooks
from ..models import Alert, AlertKind, AlertSeverity, Opportunity
from . import diagnoses, freshness, quota_risk

CHUNK = 5000  # keys per UPDATE … WHERE key IN (…)
ANALYZE_AFTER = 10_000  # alerts opened or resolved by one scan that make the alert table's statistics stale

# The funnel's own diagnoses; activity_log adds the missing-log one through funnel.hooks.
DIAGNOSES = {
    AlertKind.STALLED: diagnoses.stalled_findings,
    AlertKind.BLOCKAGE: diagnoses.blockage_findings,
    AlertKind.GAP: diagnoses.gap_findings,
    AlertKind.EMPTY_CUP: diagnoses.empty_cup_findings,
    AlertKind.FORECAST_RISK: diagnoses.forecast_risk_findings,
    AlertKind.QUOTA_RISK: quota_risk.quota_risk_findings,
}


def _chunks(keys: list[str]) -> list[list[str]]:
    return [keys[i : i + CHUNK] for i in range(0, len(keys), CHUNK)]


def _lock(kinds: list[str]) -> None:
    """On PostgreSQL, scans of the same kinds take turns (until commit): the second reads what the first wrote.

    The partial unique constraint already refuses duplicates; the lock also spares the two scans
    from updating the same rows in different orders (QUALITY R5).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["alerts_sync:" + ",".join(sorted(kinds))])


def db_now() -> datetime:
    """The database's clock, so a worker whose clock is off cannot invent or miss alerts (QUALITY R15)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement_timestamp()")  # now() would stop at a surrounding transaction's start
            return cursor.fetchone()[0]
    return timezone.now()  # embedded SQLite runs inside this process, on this very clock


@transaction.atomic
def alerts_sync(*, findings: list[dict], kinds: list[str], now: datetime) -> tuple[int, int, int]:
    """Opens an alert per new finding, marks re-seen ones, resolves open ones of `kinds` no longer found,
    and gives a re-seen alert whose severity changed (a forecast from warning to critical) the new one.

    Returns (new, seen, resolved). Five queries, however many findings there are, plus one UPDATE per
    severity that some re-seen alert changes to and one per CHUNK re-seen alerts whose numbers changed (more
    only when over CHUNK alerts resolve or change at once, since SQLite caps the parameters of one statement).
    """
    _lock(kinds)
    found = {f["key"]: f for f in findings}
    open_alerts = Alert.objects.open().filter(kind__in=kinds)
    rows = {key: (pk, severity, details) for key, pk, severity, details in
            open_alerts.values_list("key", "pk", "severity", "details")}  # fmt: skip
    existing = {key: severity for key, (_pk, severity, _details) in rows.items()}
    gone = existing.keys() - found.keys()
    resolved = sum(open_alerts.filter(key__in=chunk).update(resolved_at=now) for chunk in _chunks(sorted(gone)))
    seen = open_alerts.update(last_seen=now)  # everything still open of these kinds was found again
    _update_severities(open_alerts, existing, found)
    renewed = [Alert(pk=pk, details=found[key].get("details", {})) for key, (pk, _severity, details) in rows.items()
               if key in found and found[key].get("details", {}) != details]  # fmt: skip
    Alert.objects.bulk_update(renewed, ["details"], batch_size=CHUNK)
    new = [Alert(**f, first_seen=now, last_seen=now) for key, f in found.items() if key not in existing]
    Alert.objects.bulk_create(new, ignore_conflicts=True)
    return len(new), seen, resolved


def _update_severities(open_alerts: QuerySet[Alert], existing: dict[str, str], found: dict[str, dict]) -> None:
    """Sets each re-seen alert's severity to its finding's: one UPDATE per severity changed to, not per alert."""
    changed = defaultdict(list)
    for key, severity in existing.items():
        if key in found and found[key]["severity"] != severity:
            changed[found[key]["severity"]].append(key)
    for severity, keys in changed.items():
        for chunk in _chunks(sorted(keys)):
            open_alerts.filter(key__in=chunk).update(severity=severity)


@transaction.atomic
def stalled_sync(*, now: datetime) -> tuple[int, int, int]:
    """alerts_sync for stalled deals, the one kind that grows with the deals, done inside the database.

    Resolves, re-sees and inserts with three statements, so a million deals never pass through Python
    (QUALITY G-C5). Resolving is an anti-join (NOT EXISTS), which PostgreSQL hashes however many rows there
    are; a NOT IN over a subquery this large falls back to rescanning it per row. The deals to alert are
    the stalled ones EXCEPT those with an open alert: a set operation reads the alerts once, before the
    first insert, where an anti-join planned on an empty alert table rescans it per deal while the
    statement fills it (minutes at 100,000 deals). Returns (new, seen, resolved).
    """
    _lock([AlertKind.STALLED])
    if connection.vendor == "postgresql":
        return _stalled_sync_postgresql(now)
    deals = Opportunity.objects.stalled(now).order_by()
    open_alerts = Alert.objects.open().filter(kind=AlertKind.STALLED)
    resolved = open_alerts.filter(~Exists(deals.filter(pk=OuterRef("opportunity_id")))).update(resolved_at=now)
    numbers = Subquery(
        Opportunity.objects.filter(pk=OuterRef("opportunity_id")).values(numbers=diagnoses.STALLED_DETAILS)[:1],
        output_field=JSONField(),
    )
    changed = Q(~Q(details=F("numbers")) | Q(details__isnull=True))
    seen = open_alerts.alias(numbers=numbers).update(
        last_seen=Case(When(changed, then=Value(now)), default=F("last_seen")), details=numbers
    )
    unalerted = deals.values("pk").difference(open_alerts.order_by().values("opportunity_id"))
    return _insert_stalled(Opportunity.objects.filter(pk__in=unalerted).order_by(), now), seen, resolved


# The stalled deals of this scan, found once (one pass over the open deals) and read by the three statements.
_STALLED_SQL = {
    "resolve": (
        "UPDATE funnel_alert SET resolved_at = %(now)s WHERE resolved_at IS NULL AND kind = %(kind)s "
        "AND NOT EXISTS (SELECT 1 FROM scan_stalled AS s WHERE s.id = funnel_alert.opportunity_id)"
    ),
    # Every open stalled alert left is found again (the resolve step took the rest). Only those whose numbers
    # changed are written (with last_seen): the numbers are the deal's dates (diagnoses.STALLED_DETAILS), which
    # change when the deal does, so a rescan writes next to nothing (rewriting all 600,000 took 5 s a scan).
    "seen": (
        "UPDATE funnel_alert AS a SET last_seen = %(now)s, details = s.details FROM scan_stalled AS s "
        "WHERE a.resolved_at IS NULL AND a.kind = %(kind)s AND a.opportunity_id = s.id "
        "AND a.details IS DISTINCT FROM s.details"
    ),
    "insert": (
        "INSERT INTO funnel_alert (kind, severity, key, rep_id, opportunity_id, stage_id, first_seen, last_seen, "
        "ack_reason, details) SELECT %(kind)s, %(severity)s, %(prefix)s || s.id, s.owner_id, s.id, s.stage_id, "
        "%(now)s, %(now)s, '', s.details FROM scan_stalled AS s WHERE s.id IN (SELECT id FROM scan_stalled EXCEPT "
        "SELECT opportunity_id FROM funnel_alert WHERE resolved_at IS NULL AND kind = %(kind)s) "
        "ON CONFLICT DO NOTHING"
    ),
}


def _stalled_sync_postgresql(now: datetime) -> tuple[int, int, int]:
    """stalled_sync's three statements over a temporary table of this scan's stalled deals; hashes and sorts
    of 600,000 rows get the memory they need (this transaction only) instead of spilling to files."""
    deals = (
        Opportunity.objects.stalled(now)
        .order_by()
        .values("pk", "owner_id", "stage_id", numbers=diagnoses.STALLED_DETAILS)
    )
    select, params = deals.query.sql_with_params()
    values = {"now": now, "kind": AlertKind.STALLED.value, "severity": AlertSeverity.WARNING.value}
    counts = {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(
            f"CREATE TEMPORARY TABLE scan_stalled (id, owner_id, stage_id, details) ON COMMIT DROP AS {select}", params
        )
        stalled = cursor.rowcount
        cursor.execute("ANALYZE scan_stalled")
        for step in ("resolve", "seen", "insert"):
            cursor.execute(_STALLED_SQL[step], {**values, "prefix": f"{AlertKind.STALLED}:opp:"})
            counts[step] = cursor.rowcount
        cursor.execute("DROP TABLE scan_stalled")  # within a caller's transaction (tests), not at commit
    counts["seen"] = stalled - counts["insert"]  # found again, whether or not its numbers changed
    if counts["insert"] + counts["resolve"] >= ANALYZE_AFTER:
        _analyze_alerts()
    return counts["insert"], counts["seen"], counts["resolve"]


def _analyze_alerts() -> None:
    """Fresh planner statistics for the alert table after a bulk write. Autovacuum may be off (it is on the
    benchmark machine), and the inbox's and the next scan's plans are chosen from these numbers."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Alert._meta.db_table)}")


def _insert_stalled(deals: QuerySet[Opportunity], now: datetime) -> int:
    """One INSERT … SELECT of an alert per stalled deal; the partial unique constraint skips open ones."""
    rows = deals.annotate(
        alert_kind=Value(AlertKind.STALLED.value),
        alert_severity=Value(AlertSeverity.WARNING.value),
        alert_key=Concat(Value(f"{AlertKind.STALLED}:opp:"), Cast("pk", CharField())),
        alert_seen=Value(now, output_field=DateTimeField()),
        alert_reason=Value(""),
        alert_details=diagnoses.STALLED_DETAILS,
    ).values_list(
        "alert_kind", "alert_severity", "alert_key", "owner_id", "pk", "stage_id", "alert_seen", "alert_seen",
        "alert_reason", "alert_details",
    )  # fmt: skip
    columns = [
        "kind",
        "severity",
        "key",
        "rep_id",
        "opportunity_id",
        "stage_id",
        "first_seen",
        "last_seen",
        "ack_reason",
        "details",
    ]
    select, params = rows.query.sql_with_params()
    into = f"{connection.ops.quote_name(Alert._meta.db_table)} ({', '.join(map(connection.ops.quote_name, columns))})"
    if connection.vendor == "postgresql":
        sql = f"INSERT INTO {into} {select} ON CONFLICT DO NOTHING"
    else:
        sql = f"INSERT OR IGNORE INTO {into} {select}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# Kinds whose findings are few (one per rep, stage or day) go through alerts_sync in Python;
# stalled deals, as many as the deals, are synced inside the database.
SYNCS = {AlertKind.STALLED: stalled_sync}


def scan_funnel(now: datetime | None = None) -> dict[str, tuple[int, int, int]]:
    """Runs every diagnosis and syncs its alerts; returns {kind: (new, seen, resolved)}."""
    now = now or db_now()
    by_kind = {**DIAGNOSES, **hooks.registered_diagnoses()}
    with diagnoses.one_reading():
        counts = {
            str(kind): SYNCS[kind](now=now)
            if kind in SYNCS
            else alerts_sync(findings=diagnosis(now=now), kinds=[kind], now=now)
            for kind, diagnosis in by_kind.items()
        }
    freshness.record_scan(now)  # the inbox's "Checked at"
    return counts


@transaction.atomic
def alert_acknowledge(*, alert: Alert, by: User, reason: str) -> Alert:
    """Records that `by` has seen the alert and why it needs no more attention for now."""
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = by
    alert.ack_reason = reason.strip()
    alert.save(update_fields=["acknowledged_at", "acknowledged_by", "ack_reason"])
    return alert


@transaction.atomic
def alert_snooze(*, alert: Alert, by: User, until: datetime, reason: str) -> Alert:
    """Hides the alert from the inbox until `until`; it comes back by itself if still open then."""
    alert.snoozed_until = until
    alert.acknowledged_by = by
    alert.ack_reason = reason.strip()
    alert.save(update_fields=["snoozed_until", "acknowledged_by", "ack_reason"])
    return alert
