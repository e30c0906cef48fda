"""Alerts: the scan's dedupe, re-seen and auto-resolve; the constraint; the inbox and acknowledgement."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from funnel.health import services as alert_services
from funnel.health.services import alerts_sync, scan_funnel
from funnel.models import Alert, AlertKind, AlertSeverity, Stage, Target
from funnel.opportunities import services
from funnel.tasks import scan_funnel_task
from tests.factories import OpportunityFactory

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def stalled(owner, **fields):
    stage = Stage.objects.get(pipeline__is_default=True, name="Proposal")
    fields.setdefault("stage_entered_at", NOW - timedelta(days=30))
    return OpportunityFactory(owner=owner, stage=stage, **fields)


def stalled_alert(opportunity, **fields) -> Alert:
    return Alert.objects.create(
        kind=AlertKind.STALLED,
        key=f"stalled:opp:{opportunity.pk}",
        rep=opportunity.owner,
        opportunity=opportunity,
        stage=opportunity.stage,
        **fields,
    )


def finding(key: str, rep) -> dict:
    return {"key": key, "kind": AlertKind.GAP, "severity": "warning", "rep_id": rep.pk,
            "opportunity_id": None, "stage_id": None, "day": None}  # fmt: skip


# --- alerts_sync and the scan ------------------------------------------------------------------------


def test_new_findings_open_alerts(rep, pipeline):
    assert alerts_sync(findings=[finding("gap:a", rep)], kinds=[AlertKind.GAP], now=NOW) == (1, 0, 0)
    alert = Alert.objects.get()
    assert (alert.key, alert.first_seen, alert.last_seen, alert.resolved_at) == ("gap:a", NOW, NOW, None)


def test_seen_again_updates_last_seen_only(rep, pipeline):
    alerts_sync(findings=[finding("gap:a", rep)], kinds=[AlertKind.GAP], now=NOW)
    later = NOW + timedelta(minutes=15)
    assert alerts_sync(findings=[finding("gap:a", rep)], kinds=[AlertKind.GAP], now=later) == (0, 1, 0)
    alert = Alert.objects.get()
    assert (alert.first_seen, alert.last_seen) == (NOW, later)


def test_cleared_condition_resolves_the_alert_and_a_new_one_opens_if_it_returns(rep, pipeline):
    alerts_sync(findings=[finding("gap:a", rep)], kinds=[AlertKind.GAP], now=NOW)
    assert alerts_sync(findings=[], kinds=[AlertKind.GAP], now=NOW + timedelta(hours=1)) == (0, 0, 1)
    assert Alert.objects.get().resolved_at == NOW + timedelta(hours=1)
    alerts_sync(findings=[finding("gap:a", rep)], kinds=[AlertKind.GAP], now=NOW + timedelta(hours=2))
    assert Alert.objects.count() == 2
    assert Alert.objects.open().count() == 1


def test_sync_leaves_other_kinds_alone(rep, pipeline):
    alerts_sync(findings=[finding("gap:a", rep)], kinds=[AlertKind.GAP], now=NOW)
    alerts_sync(findings=[], kinds=[AlertKind.EMPTY_CUP], now=NOW)
    assert Alert.objects.open().count() == 1


def test_database_refuses_a_second_open_alert_with_the_same_key(rep, pipeline):
    opportunity = stalled(rep)
    stalled_alert(opportunity)
    with pytest.raises(IntegrityError), transaction.atomic():
        stalled_alert(opportunity)


def test_a_resolved_alert_does_not_block_a_new_open_one(rep, pipeline):
    opportunity = stalled(rep)
    stalled_alert(opportunity, resolved_at=NOW)
    stalled_alert(opportunity)
    assert Alert.objects.count() == 2


def test_a_racing_scan_that_finds_the_alert_already_open_inserts_nothing(rep, pipeline):
    """Two scans read "nothing open" at once; the second insert is ignored by the constraint."""
    opportunity = stalled(rep)
    stalled_alert(opportunity)
    Alert.objects.bulk_create(
        [Alert(kind=AlertKind.STALLED, key=f"stalled:opp:{opportunity.pk}", rep=rep)], ignore_conflicts=True
    )
    assert Alert.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_scans_racing_open_each_alert_once(rep, teammate, pipeline):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    for owner in (rep, teammate) * 5:
        stalled(owner)
    start, results, errors = threading.Barrier(2), [], []

    def scan():
        try:
            start.wait()
            results.append(scan_funnel(NOW)[AlertKind.STALLED])
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [(0, 10, 0), (10, 0, 0)]  # the second waited for the first, then saw its alerts
    assert Alert.objects.filter(kind=AlertKind.STALLED).count() == 10


def test_scan_twice_opens_each_alert_once(rep, teammate, pipeline):
    stalled(rep), stalled(teammate)
    first = scan_funnel(NOW)
    assert first[AlertKind.STALLED] == (2, 0, 0)
    count = Alert.objects.count()
    second = scan_funnel(NOW + timedelta(minutes=15))
    assert all(new == 0 and resolved == 0 for new, _seen, resolved in second.values())
    assert second[AlertKind.STALLED] == (0, 2, 0)
    assert Alert.objects.count() == count


def test_a_deal_moving_on_resolves_its_stalled_alert(rep, pipeline):
    opportunity = stalled(rep)
    scan_funnel(NOW)
    opportunity.stage_entered_at = NOW
    opportunity.save()
    assert scan_funnel(NOW + timedelta(minutes=15))[AlertKind.STALLED] == (0, 0, 1)
    assert not Alert.objects.open().filter(kind=AlertKind.STALLED).exists()


def test_scan_without_now_takes_it_from_the_database_clock(rep, pipeline, monkeypatch):
    stage = Stage.objects.get(pipeline__is_default=True, name="Proposal")
    OpportunityFactory(owner=rep, stage=stage, stage_entered_at=NOW)
    monkeypatch.setattr(alert_services, "db_now", lambda: NOW + timedelta(days=stage.stall_days, seconds=-1))
    assert scan_funnel()[AlertKind.STALLED] == (0, 0, 0)
    monkeypatch.setattr(alert_services, "db_now", lambda: NOW + timedelta(days=stage.stall_days, seconds=1))
    assert scan_funnel()[AlertKind.STALLED] == (1, 0, 0)


def test_a_worker_clock_off_by_years_does_not_move_the_scans_now():
    if connection.vendor != "postgresql":
        pytest.skip("embedded SQLite runs in this process, on this process's clock")
    with time_machine.travel(datetime(2001, 1, 1, tzinfo=UTC)):
        assert alert_services.db_now().year > 2001


@pytest.mark.parametrize("count", [5, 50])
def test_scan_queries_do_not_grow_with_the_number_of_deals(
    count, rep, teammate, manager, team1, pipeline, django_assert_num_queries
):
    for i in range(count):
        stalled((rep, teammate)[i % 2], expected_close_date=NOW.date())
    november_target(team1, manager, 10_000_000)
    connection.features.supports_json_field  # noqa: B018 (SQLite checks it with a query, once per connection)
    # On PostgreSQL one advisory lock per kind, and the stalled sync's temporary table of stalled deals
    # (work_mem, create, analyse, drop).
    locks = 7 + 4 if connection.vendor == "postgresql" else 0
    # Stalled: savepoint, stages, resolve, re-see, INSERT … SELECT, release. The other kinds: their
    # diagnosis (blockage: stages, per rep and stage, the owners' teams; empty cup: stages, inflow windows,
    # inflow, its groups shared with gap's; forecast: targets, won, weighted; quota at risk: its threshold,
    # the quotas in force (none here: no won or weighted to read); missing log: working days, reps, logs),
    # then savepoint, read, updates, insert (when something is new), release.
    with django_assert_num_queries(48 + locks):
        scan_funnel(NOW)
    with django_assert_num_queries(45 + locks):  # nothing new for the other kinds to insert
        scan_funnel(NOW + timedelta(minutes=15))


def november_target(team, by, amount) -> Target:
    return Target.objects.create(
        team=team, period_start=date(2026, 11, 1), period_end=date(2026, 11, 30), amount=Decimal(amount), created_by=by
    )


def test_a_won_deal_closing_the_forecast_gap_resolves_the_alert(rep, manager, team1, pipeline):
    """Target 10,000; a Negotiation deal of 5,000 (80 %) expected on the 28th weighs 4,000: at risk, critical.
    Winning a 6,000 deal leaves 4,000 to win, which the 4,000 covers."""
    negotiation = Stage.objects.get(pipeline__is_default=True, name="Negotiation")
    OpportunityFactory(owner=rep, stage=negotiation, amount=Decimal(5000), expected_close_date=date(2026, 11, 28))
    closing = OpportunityFactory(
        owner=rep, stage=negotiation, amount=Decimal(6000), expected_close_date=date(2027, 1, 5)
    )
    november_target(team1, manager, 10_000)
    assert scan_funnel(NOW)[AlertKind.FORECAST_RISK] == (1, 0, 0)
    alert = Alert.objects.get(kind=AlertKind.FORECAST_RISK)
    assert (alert.key, alert.rep, alert.team, alert.severity) == (
        f"forecast_risk:team:{team1.pk}:target:{team1.targets.get().pk}",
        manager,
        team1,
        AlertSeverity.CRITICAL,
    )
    later = NOW + timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        services.opportunity_mark_won(opportunity=closing, by=rep, version=closing.version)
        assert scan_funnel(later + timedelta(minutes=15))[AlertKind.FORECAST_RISK] == (0, 0, 1)
    alert.refresh_from_db()
    assert alert.resolved_at == later + timedelta(minutes=15)


def test_forecast_alerts_go_to_the_teams_manager_and_stay_out_of_the_reps_view(cast, team1, pipeline):
    november_target(team1, cast["manager"], 10_000)
    scan_funnel(NOW)
    seen = {name: Alert.objects.visible_to(cast[name]).filter(kind=AlertKind.FORECAST_RISK).count() for name in cast}
    assert seen == {"rep": 0, "teammate": 0, "manager": 1, "other_rep": 0, "other_manager": 0, "admin": 1}


def test_the_task_runs_the_scan(rep, pipeline):
    stalled(rep, stage_entered_at=datetime(2020, 1, 1, tzinfo=UTC))
    result = scan_funnel_task.apply().get()
    assert result[AlertKind.STALLED] == [1, 0, 0]


def test_the_beat_schedule_runs_the_scan_every_15_minutes():
    from config.celery import app

    entry = app.conf.beat_schedule["scan-funnel"]
    assert entry["task"] == scan_funnel_task.name
    assert entry["schedule"].minute == {0, 15, 30, 45}


def test_scan_funnel_command_prints_the_summary(rep, pipeline, capsys):
    stalled(rep, stage_entered_at=datetime(2020, 1, 1, tzinfo=UTC))
    call_command("scan_funnel")
    out = capsys.readouterr().out
    assert "stalled" in out and "missing_log" in out


# --- the inbox ------------------------------------------------------------------------------------


@pytest.fixture
def alerts(cast, pipeline):
    """One open stalled alert per person of the cast who owns deals."""
    names = ("rep", "teammate", "manager", "other_rep", "other_manager")
    return {name: stalled_alert(stalled(cast[name], name=f"Deal of {name}")) for name in names}


@pytest.mark.parametrize(
    ("viewer", "seen"),
    [
        ("rep", {"rep"}),
        ("manager", {"rep", "teammate", "manager"}),
        ("other_manager", {"other_rep", "other_manager"}),
        ("admin", {"rep", "teammate", "manager", "other_rep", "other_manager"}),
    ],
)
def test_inbox_shows_the_alerts_the_viewer_may_see(viewer, seen, cast, alerts, client_for):
    response = client_for(cast[viewer]).get(reverse("health:alert_list"))
    assert response.status_code == 200
    shown = {name for name in alerts if f"Deal of {name}".encode() in response.content}
    assert shown == seen


def test_inbox_links_each_alert_to_its_subject(cast, alerts, client_for, rep):
    response = client_for(rep).get(reverse("health:alert_list"))
    url = reverse("opportunities:detail", args=[alerts["rep"].opportunity_id])
    assert f'href="{url}"'.encode() in response.content


def test_inbox_filters_by_kind_and_state(cast, alerts, client_for, manager):
    alerts["rep"].acknowledged_at = NOW
    alerts["rep"].save()
    client = client_for(manager)
    assert b"Deal of rep" not in client.get(reverse("health:alert_list")).content
    acknowledged = client.get(reverse("health:alert_list"), {"state": "acknowledged"}).content
    assert b"Deal of rep" in acknowledged and b"Deal of teammate" not in acknowledged
    assert b"Deal of" not in client.get(reverse("health:alert_list"), {"kind": AlertKind.GAP}).content


def test_inbox_query_count_does_not_grow_with_alerts(
    cast, pipeline, client_for, admin_user, django_assert_max_num_queries
):
    for _ in range(30):
        stalled_alert(stalled(cast["rep"]))
    client = client_for(admin_user)
    with django_assert_max_num_queries(11):  # 8 + the team filter's choices + the navigation's alert and bell counts
        assert client.get(reverse("health:alert_list")).status_code == 200


def test_manager_acknowledges_a_teams_alert_with_a_reason(alerts, manager, client_for):
    url = reverse("health:alert_acknowledge", args=[alerts["rep"].pk])
    response = client_for(manager).post(url, {"reason": "Customer on holiday until Monday"})
    assert response.status_code == 302
    alert = Alert.objects.get(pk=alerts["rep"].pk)
    assert (alert.acknowledged_by, alert.ack_reason) == (manager, "Customer on holiday until Monday")
    assert alert.acknowledged_at is not None and alert.resolved_at is None


def test_acknowledging_needs_a_reason(alerts, manager, client_for):
    client_for(manager).post(reverse("health:alert_acknowledge", args=[alerts["rep"].pk]), {"reason": ""})
    assert Alert.objects.get(pk=alerts["rep"].pk).acknowledged_at is None


def test_manager_cannot_acknowledge_another_teams_alert(alerts, manager, client_for):
    response = client_for(manager).post(
        reverse("health:alert_acknowledge", args=[alerts["other_rep"].pk]), {"reason": "x"}
    )
    assert response.status_code == 404
    assert b"Deal of other_rep" not in response.content
    assert Alert.objects.get(pk=alerts["other_rep"].pk).acknowledged_at is None


def test_rep_cannot_acknowledge_even_their_own_alert(alerts, rep, client_for):
    response = client_for(rep).post(reverse("health:alert_acknowledge", args=[alerts["rep"].pk]), {"reason": "x"})
    assert response.status_code == 403
    assert Alert.objects.get(pk=alerts["rep"].pk).acknowledged_at is None


def test_rep_gets_404_for_a_teammates_alert(alerts, rep, client_for):
    response = client_for(rep).post(reverse("health:alert_acknowledge", args=[alerts["teammate"].pk]), {"reason": "x"})
    assert response.status_code == 404


def test_manager_snoozes_an_alert_until_it_returns_by_itself(alerts, manager, client_for):
    client = client_for(manager)
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            reverse("health:alert_snooze", args=[alerts["rep"].pk]), {"reason": "Waiting for the tender", "days": 3}
        )
        assert response.status_code == 302
        assert b"Deal of rep" not in client.get(reverse("health:alert_list")).content
        assert b"Deal of rep" in client.get(reverse("health:alert_list"), {"state": "acknowledged"}).content
    alert = Alert.objects.get(pk=alerts["rep"].pk)
    assert (alert.snoozed_until, alert.ack_reason, alert.acknowledged_at) == (
        NOW + timedelta(days=3),
        "Waiting for the tender",
        None,
    )
    with time_machine.travel(NOW + timedelta(days=3, seconds=1), tick=False):
        client = client_for(manager)  # signed in again: sessions end after 30 idle minutes
        assert b"Deal of rep" in client.get(reverse("health:alert_list")).content


def test_snoozing_needs_a_reason_and_a_known_length(alerts, manager, client_for):
    url = reverse("health:alert_snooze", args=[alerts["rep"].pk])
    client_for(manager).post(url, {"reason": "", "days": 3})
    client_for(manager).post(url, {"reason": "x", "days": 365})
    assert Alert.objects.get(pk=alerts["rep"].pk).snoozed_until is None


def test_rep_cannot_snooze_and_other_team_gets_404(alerts, rep, manager, client_for):
    own = client_for(rep).post(reverse("health:alert_snooze", args=[alerts["rep"].pk]), {"reason": "x", "days": 1})
    foreign = client_for(manager).post(
        reverse("health:alert_snooze", args=[alerts["other_rep"].pk]), {"reason": "x", "days": 1}
    )
    assert (own.status_code, foreign.status_code) == (403, 404)
    assert not Alert.objects.filter(snoozed_until__isnull=False).exists()


def test_needing_attention_count_follows_visibility_acknowledgement_and_snooze(alerts, cast):
    from funnel.health.badge import alerts_needing_attention_count

    alerts["rep"].acknowledged_at = NOW
    alerts["rep"].save()
    alerts["teammate"].snoozed_until = NOW + timedelta(days=3650)
    alerts["teammate"].save()
    counts = {name: alerts_needing_attention_count(cast[name]) for name in ("rep", "manager", "other_manager", "admin")}
    assert counts == {"rep": 0, "manager": 1, "other_manager": 2, "admin": 3}


def test_inbox_filters_by_rep_within_the_viewers_scope(alerts, manager, teammate, other_rep, client_for):
    client = client_for(manager)
    mine = client.get(reverse("health:alert_list"), {"rep": teammate.pk}).content
    assert b"Deal of teammate" in mine and b"Deal of rep" not in mine
    foreign = client.get(reverse("health:alert_list"), {"rep": other_rep.pk}).content
    assert b"Deal of other_rep" not in foreign  # an invalid filter is dropped, the scope stays the team's


def test_each_kind_of_subject_links_to_its_page(rep, manager, pipeline):
    from funnel.health.links import subject_url

    stage = Stage.objects.get(pipeline__is_default=True, name="Proposal")
    day = datetime(2026, 11, 26).date()
    gap = Alert(kind=AlertKind.GAP, key="k", rep=rep, stage=stage)
    inflow = Alert(kind=AlertKind.EMPTY_CUP, key="k", rep=rep)
    missing = Alert(kind=AlertKind.MISSING_LOG, key="k", rep=rep, day=day)
    opportunities = reverse("opportunities:list")
    assert subject_url(gap, manager) == f"{opportunities}?owner={rep.pk}&stage={stage.pk}"
    assert subject_url(inflow, manager) == f"{opportunities}?owner={rep.pk}"
    assert subject_url(missing, rep) == "/log/day/2026-11-26/"
    assert subject_url(missing, manager) == "/log/review/?date=2026-11-26"


def test_bench_scan_starts_its_first_run_from_no_alerts_and_says_so(rep, pipeline):
    from io import StringIO

    from django.core.management import call_command

    deals = [stalled(rep) for _ in range(3)]
    scan_funnel()  # alerts already there: the first run must not be a rescan
    out = StringIO()
    call_command("bench_scan", stdout=out)
    text = out.getvalue()
    assert f"deleted {Alert.objects.count()} alerts: the first run starts from none" in text
    first, rerun = text.split("first run, from no alerts")[1].split("rerun, unchanged data")
    new_seen_resolved = {line.split()[0]: line.split()[1:] for line in first.splitlines()[2:]}
    assert new_seen_resolved["stalled"] == [str(len(deals)), "0", "0"]
    assert {line.split()[0]: line.split()[1] for line in rerun.splitlines()[2:]}["stalled"] == "0"


def test_forecast_alert_links_to_its_teams_dashboard(cast, team1, pipeline):
    from django.utils import timezone

    from funnel.health.links import subject_url
    from funnel.models import Alert

    now = timezone.now()
    forecast = Alert.objects.create(
        kind="forecast_risk", key="forecast_risk:test", rep=cast["manager"], team=team1, first_seen=now, last_seen=now
    )
    assert subject_url(forecast, cast["manager"]) == f"/dashboard/?team={team1.pk}"
