"""Team targets: set by an admin only (audited), and read on the dashboard's forecast as coverage.

Period: 2 to 29 November 2026. Team T1 (r1, r2; manager m1), team T2 (r3; manager m2).
r1 won 1000 on 20/11; r2 has 500 in Negotiation (80 %) expected 28/11 and 2000 in Proposal expected 15/12;
r3 won 700 on 10/11 and has 1000 in Negotiation expected 20/11.
Targets: T1 1–30 Nov 5000, T1 2–29 Nov 5000, T1 9–15 Nov 1000, T1 Oct–Dec 20000, T2 2–29 Nov 9000.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from funnel.health import diagnoses as health
from funnel.models import Stage, Target
from reps.models import AuditAction, AuditEvent
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

NOVEMBER = {"period": "custom", "start": "2026-11-02", "end": "2026-11-29"}


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def won_on(owner, day: int, amount: int):
    closed = timezone.make_aware(datetime(2026, 11, day, 10))
    return OpportunityFactory(owner=owner, stage=stage("Won"), amount=Decimal(amount), closed_at=closed)


def target(team, start: date, end: date, amount: int, by) -> Target:
    return Target.objects.create(team=team, period_start=start, period_end=end, amount=Decimal(amount), created_by=by)


@pytest.fixture
def book(cast, pipeline, team1, team2):
    won_on(cast["rep"], 20, 1000)
    OpportunityFactory(owner=cast["teammate"], stage=stage("Negotiation"), amount=Decimal(500),
                       expected_close_date=date(2026, 11, 28))  # fmt: skip
    OpportunityFactory(owner=cast["teammate"], stage=stage("Proposal"), amount=Decimal(2000),
                       expected_close_date=date(2026, 12, 15))  # fmt: skip
    won_on(cast["other_rep"], 10, 700)
    OpportunityFactory(owner=cast["other_rep"], stage=stage("Negotiation"), amount=Decimal(1000),
                       expected_close_date=date(2026, 11, 20))  # fmt: skip
    admin = cast["admin"]
    target(team1, date(2026, 11, 1), date(2026, 11, 30), 5000, admin)  # starts before the 2nd: not within
    target(team1, date(2026, 11, 2), date(2026, 11, 29), 5000, admin)
    target(team1, date(2026, 11, 9), date(2026, 11, 15), 1000, admin)
    target(team1, date(2026, 10, 1), date(2026, 12, 31), 20000, admin)
    target(team2, date(2026, 11, 2), date(2026, 11, 29), 9000, admin)
    return cast


def coverage(response) -> dict | None:
    return response.context["coverage"]


def rows(response) -> list[tuple]:
    """Each target in force on the period's last day: team, amount, won, weighted, remaining, coverage, alert."""
    return [
        (row["target"].team.name, row["target"].amount, row["won"], row["weighted"], row["remaining"],
         row["coverage"], row["severity"])
        for row in coverage(response)["rows"]
    ]  # fmt: skip


# --- coverage on the dashboard ---------------------------------------------------------------------
# A target is read as the forecast alert reads it: won within its own period, and the weighted open deals
# expected to close by its last day. The page shows the targets in force on the period's last day (29 Nov).

Q4 = ("T1", 20000, 1000, Decimal(1200), 19000, Decimal("0.06"), "critical")  # 400 + 2000 × 40 % expected 15/12
T1_NOV = ("T1", 5000, 1000, Decimal(400), 4000, Decimal("0.10"), "critical")  # 500 × 80 % expected 28/11
T2_NOV = ("T2", 9000, 700, Decimal(800), 8300, Decimal("0.10"), "critical")  # 800 ÷ 8300 = 0.096…


def test_manager_reads_the_teams_targets_in_force_at_the_periods_end(client_for, book):
    response = client_for(book["manager"]).get("/dashboard/", NOVEMBER)
    # Q4 first (it starts first), then November 1–30 and November 2–29; 9–15 November has ended by the 29th
    assert rows(response) == [Q4, T1_NOV, T1_NOV]
    assert coverage(response)["total"] is None  # a quarter and its month are not added up
    content = response.content.decode()
    assert "<td>T1</td>" in content and "0.06×" in content and content.count('data-testid="target-at-risk"') == 3


def test_manager_tampering_with_team_still_reads_only_their_teams_targets(client_for, book, team2):
    response = client_for(book["manager"]).get("/dashboard/", {**NOVEMBER, "team": team2.pk})
    assert rows(response) == [Q4, T1_NOV, T1_NOV]


def test_admin_reads_every_teams_targets_or_one_teams(client_for, book, team2):
    client = client_for(book["admin"])
    assert rows(client.get("/dashboard/", NOVEMBER)) == [Q4, T1_NOV, T1_NOV, T2_NOV]
    assert rows(client.get("/dashboard/", {**NOVEMBER, "team": team2.pk})) == [T2_NOV]


def test_targets_of_one_period_are_added_up(client_for, book, team1):
    Target.objects.filter(team=team1).exclude(period_start=date(2026, 11, 2)).delete()
    response = client_for(book["admin"]).get("/dashboard/", NOVEMBER)
    # 5000 + 9000; won 1000 + 700; weighted 400 + 800; remaining 4000 + 8300; 1200 ÷ 12300 = 0.097…
    assert coverage(response)["total"] == {
        "amount": 14000, "won": 1700, "weighted": 1200, "remaining": 12300, "coverage": Decimal("0.10")}  # fmt: skip
    assert b'data-testid="coverage-total"' in response.content


def test_a_met_target_shows_a_dash_for_coverage(client_for, book, team2):
    Target.objects.filter(team=team2).update(amount=Decimal(600))
    response = client_for(book["admin"]).get("/dashboard/", {**NOVEMBER, "team": team2.pk})
    assert rows(response) == [("T2", 600, 700, Decimal(800), -100, None, None)]
    assert b'data-testid="coverage-ratio">\xe2\x80\x94<' in response.content


def test_no_target_in_force_at_the_periods_end_says_so(client_for, book):
    response = client_for(book["manager"]).get("/dashboard/", {"period": "custom", "start": "2027-01-03",
                                                                "end": "2027-01-10"})  # fmt: skip
    assert coverage(response)["rows"] == []
    assert b"No team target is in force on 01/10/2027" in response.content


def test_one_reps_figures_are_not_read_against_a_team_target(client_for, book):
    assert coverage(client_for(book["rep"]).get("/dashboard/", NOVEMBER)) is None
    manager = client_for(book["manager"])
    assert coverage(manager.get("/dashboard/", {**NOVEMBER, "owner": book["teammate"].pk})) is None


def test_the_default_period_reads_the_targets_in_force_today_as_the_alert_does(client_for, book, team1):
    """Issue 10: "Last 90 days" and "This quarter" end today; the forecast looks forward to each target's end."""
    with time_machine.travel(datetime(2026, 11, 25, 12, tzinfo=UTC), tick=False):
        findings = {row["key"]: row["severity"] for row in health.forecast_risk_findings(timezone.now())}
        for period in ("90d", "quarter", "month"):
            response = client_for(book["manager"]).get("/dashboard/", {"period": period})
            assert rows(response) == [Q4, T1_NOV, T1_NOV], period
            alerts = {f"forecast_risk:team:{row['target'].team_id}:target:{row['target'].pk}": row["severity"]
                      for row in coverage(response)["rows"]}  # fmt: skip
            assert alerts.items() <= findings.items()  # each row's verdict is the scan's


# --- the admin's target page -----------------------------------------------------------------------

NEW = {"team": None, "period_start": "2027-01-01", "period_end": "2027-03-31", "amount": "12000"}


def test_admin_sets_a_target_and_it_is_audited(client_for, cast, team1):
    response = client_for(cast["admin"]).post("/dashboard/targets/", {**NEW, "team": team1.pk})
    assert response.status_code == 302
    saved = Target.objects.get()
    assert (saved.team, saved.period_end, saved.amount, saved.created_by) == (
        team1, date(2027, 3, 31), 12000, cast["admin"])  # fmt: skip
    event = AuditEvent.objects.get(action=AuditAction.CONFIG_CHANGED, object_type="funnel.target")
    assert event.detail["amount"] == [None, "12000.00"] and event.actor == cast["admin"]


def test_admin_edits_a_target_and_the_change_is_audited(client_for, cast, team1):
    saved = target(team1, date(2027, 1, 1), date(2027, 3, 31), 12000, cast["admin"])
    client = client_for(cast["admin"])
    assert client.get(f"/dashboard/targets/{saved.pk}/").status_code == 200
    response = client.post(f"/dashboard/targets/{saved.pk}/", {**NEW, "team": team1.pk, "amount": "15000"})
    assert response.status_code == 302
    saved.refresh_from_db()
    assert saved.amount == 15000
    event = AuditEvent.objects.get(action=AuditAction.CONFIG_CHANGED, object_id=str(saved.pk))
    assert event.detail == {"amount": ["12000.00", "15000.00"]}


def test_target_list_shows_every_target(client_for, book):
    response = client_for(book["admin"]).get("/dashboard/targets/")
    assert response.status_code == 200
    assert len(response.context["targets"]) == 5


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"period_end": "2026-12-31"}, b"The period must end on or after its first day."),
        ({"amount": "-1"}, b"greater than or equal to 0"),
    ],
)
def test_a_backwards_period_or_negative_amount_is_refused(client_for, cast, team1, changes, message):
    response = client_for(cast["admin"]).post("/dashboard/targets/", {**NEW, "team": team1.pk, **changes})
    assert response.status_code == 200
    assert message in response.content
    assert not Target.objects.exists()


def test_a_second_target_for_the_same_team_and_dates_is_refused(client_for, cast, team1):
    client = client_for(cast["admin"])
    client.post("/dashboard/targets/", {**NEW, "team": team1.pk})
    response = client.post("/dashboard/targets/", {**NEW, "team": team1.pk, "amount": "1"})
    assert b"already has a target for these dates" in response.content
    assert Target.objects.get().amount == 12000


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_rep_and_manager_cannot_see_or_set_targets(client_for, cast, team1, role):
    saved = target(team1, date(2027, 1, 1), date(2027, 3, 31), 12000, cast["admin"])
    client = client_for(cast[role])
    assert client.get("/dashboard/targets/").status_code == 403
    assert (
        client.post("/dashboard/targets/", {**NEW, "team": team1.pk, "period_start": "2027-02-01"}).status_code == 403
    )
    assert client.post(f"/dashboard/targets/{saved.pk}/", {**NEW, "team": team1.pk, "amount": "1"}).status_code == 403
    assert list(Target.objects.values_list("amount", flat=True)) == [12000]
    assert not AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).exists()
