"""CSV export of each dashboard table (?table=): the page's scope and filters, translated headers, neutralised
cells, audited and within the hourly export budget."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from funnel.models import Source, Stage, Target
from funnel.models.rollup import RollupState
from reps.models import AuditAction, AuditEvent
from tests.factories import OpportunityFactory, SourceFactory, StageChangeFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
TABLES = ["stages", "flow", "inflow", "sources", "reps", "forecast"]


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def world(cast, pipeline, team1):
    """Team T1: R1 has an open, a won and a lost deal; R2 an open one that moved on from Qualified.
    Team T2: R3 has an open and a won deal, and the same kind of move. A target for T1 in March."""
    stage = {name: Stage.objects.get(name=name) for name in ("Qualified", "Proposal", "Won", "Lost")}
    web, fair = SourceFactory(name="Website"), SourceFactory(name="Trade fair")

    def deal(owner, stage_name, created, amount, source=None, **fields):
        return OpportunityFactory(owner=cast[owner], stage=stage[stage_name], created_at=created,
                                  amount=Decimal(amount), source=source, **fields)  # fmt: skip

    r1_open = deal("rep", "Qualified", at(3, 2), 1000, web, expected_close_date=date(2026, 3, 20))
    deal("rep", "Won", at(3, 5), 5000, web, closed_at=at(3, 15))
    deal("rep", "Lost", at(3, 3), 700, fair, closed_at=at(3, 10))
    r2_open = deal("teammate", "Proposal", at(3, 10), 3000)
    r3_open = deal("other_rep", "Proposal", at(3, 5), 8000, web, expected_close_date=date(2026, 3, 10))
    deal("other_rep", "Won", at(3, 6), 9000, web, closed_at=at(3, 12))
    StageChangeFactory(opportunity=r1_open, to_stage=stage["Qualified"], at=at(3, 2))
    for opportunity in (r2_open, r3_open):
        StageChangeFactory(opportunity=opportunity, to_stage=stage["Qualified"], at=at(3, 5))
        StageChangeFactory(opportunity=opportunity, from_stage=stage["Qualified"], to_stage=stage["Proposal"],
                           at=at(3, 8))  # fmt: skip
    Target.objects.create(team=team1, period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                          amount=Decimal(20000), created_by=cast["admin"])  # fmt: skip
    return cast


def export(client, table: str, **params) -> list[list[str]]:
    response = client.get("/dashboard/export.csv", {**MARCH, "table": table, **params})
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{table}-2026-03-01-2026-03-31-')
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_stages_table_holds_each_open_stage_in_order(client_for, world):
    rows = export(client_for(world["manager"]), "stages")
    assert rows == [
        ["Stage", "Probability (%)", "Count", "Amount", "Weighted"],
        ["Qualified", "10", "1", "1000.00", "100.00"],
        ["Proposal", "40", "1", "3000.00", "1200.00"],
        ["Negotiation", "80", "0", "0.00", "0.00"],
    ]


def test_flow_table_holds_conversion_and_days_in_stage(client_for, world):
    rows = export(client_for(world["manager"]), "flow")
    assert rows[0] == ["Stage", "Entered", "Moved on", "Conversion (%)", "Average days", "Median days"]
    assert rows[1] == ["Qualified", "2", "1", "50.0", "3.0", "3.0"]  # R2's deal: three days in Qualified
    assert rows[2] == ["Proposal", "1", "0", "0.0", "", ""]  # still there: its stay has no length yet


def test_inflow_table_counts_new_deals_per_week(client_for, world):
    rows = export(client_for(world["manager"]), "inflow")
    assert rows[0] == ["Week of", "New opportunities"]
    weeks = dict(rows[1:])
    assert (weeks["2026-03-02"], weeks["2026-03-09"], weeks["2026-02-23"]) == ("3", "1", "0")
    assert sum(int(count) for count in weeks.values()) == 4


def test_sources_table_holds_inflow_conversion_and_wins_per_source(client_for, world):
    rows = export(client_for(world["manager"]), "sources")
    assert rows[0] == ["Source", "New", "Of those won", "Conversion (%)", "Won in period", "Won amount"]
    assert sorted(rows[1:]) == [
        ["No source", "1", "0", "0.0", "0", "0.00"],
        ["Trade fair", "1", "0", "0.0", "0", "0.00"],
        ["Website", "2", "1", "50.0", "1", "5000.00"],
    ]


def test_reps_table_holds_a_row_per_rep(client_for, world):
    rows = export(client_for(world["manager"]), "reps", sort="name")
    assert rows[0][:6] == ["Rep", "Open deals", "Open amount", "Weighted", "Forecast (weighted)", "New in period"]
    assert rows[0][8:13] == ["Won", "Lost", "Won amount", "Win rate (%)", "Average deal size"]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {world["rep"].get_full_name(), world["teammate"].get_full_name()}
    mine = by_name[world["rep"].get_full_name()]
    assert mine[1:6] == ["1", "1000.00", "100.00", "100.00", "3"]  # the open deal closes this period
    assert mine[8:13] == ["1", "1", "5000.00", "50.0", "5000.00"]


def test_forecast_table_holds_the_period_outcomes_and_the_teams_target(client_for, world):
    figures = dict(export(client_for(world["manager"]), "forecast")[1:])
    assert (figures["Period start"], figures["Period end"]) == ("2026-03-01", "2026-03-31")
    assert figures["Expected to close (deals)"] == "1"
    assert figures["Expected to close: weighted"] == "100.00"
    assert (figures["Won (deals)"], figures["Lost (deals)"], figures["Win rate (%)"]) == ("1", "1", "50.0")
    label = "T1 2026-03-01–2026-03-31"
    assert (figures[f"Target: {label}"], figures[f"Remaining: {label}"], figures[f"Coverage: {label}"]) == (
        "20000.00", "15000.00", "0.01")  # fmt: skip
    one_rep = dict(export(client_for(world["manager"]), "forecast", owner=world["rep"].pk)[1:])
    assert not any(name.startswith("Target") for name in one_rep)  # targets are per team


@pytest.mark.parametrize("table", TABLES)
def test_a_manager_never_exports_another_teams_rows(client_for, world, team2, table):
    client = client_for(world["manager"])
    own = export(client, table)
    for tampered in ({"team": team2.pk}, {"owner": world["other_rep"].pk}):
        assert export(client, table, **tampered) == own, tampered
    # the other team's figures do differ, so the comparison above can tell them apart
    assert export(client_for(world["admin"]), table, team=team2.pk) != own
    text = "\n".join(",".join(row) for row in own)
    assert world["other_rep"].get_full_name() not in text
    assert "8000" not in text and "9000" not in text


@pytest.mark.parametrize("table", TABLES)
def test_a_rep_exports_only_their_own_figures(client_for, world, table):
    client = client_for(world["rep"])
    own = export(client, table)
    assert export(client, table, owner=world["teammate"].pk) == own
    assert export(client_for(world["manager"]), table, owner=world["rep"].pk) == own
    text = "\n".join(",".join(row) for row in own)
    assert "3000" not in text and world["teammate"].get_full_name() not in text


def test_each_export_is_audited_with_its_table_and_rows(client_for, world):
    client = client_for(world["manager"])
    for table in TABLES:
        export(client, table)
    events = AuditEvent.objects.filter(action=AuditAction.EXPORTED, actor=world["manager"]).order_by("pk")
    assert [event.detail["table"] for event in events] == [f"dashboard_{table}" for table in TABLES]
    assert events[0].detail["rows"] == 3  # three open stages
    assert "table=stages" in events[0].detail["filters"]


def test_exports_past_the_hourly_budget_are_refused_and_not_audited(client_for, world, settings):
    settings.EXPORTS_PER_HOUR = 2
    client = client_for(world["manager"])
    export(client, "stages")
    export(client, "flow")
    response = client.get("/dashboard/export.csv", {"table": "sources", "sort": "name"})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/?sort=name"  # back to the page, without the table
    assert AuditEvent.objects.filter(action=AuditAction.EXPORTED, actor=world["manager"]).count() == 2
    assert b"You have exported 2 times in the last hour." in client.get(response["Location"]).content


def test_an_unknown_table_is_not_found_and_no_table_means_the_reps(client_for, world):
    client = client_for(world["manager"])
    assert client.get("/dashboard/export.csv", {"table": "users"}).status_code == 404
    assert client.get("/dashboard/export.csv", {"table": "../reps"}).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORTED).exists()
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/export.csv").content.decode("utf-8-sig"))))
    assert rows[0][0] == "Rep"


def test_cells_that_look_like_formulas_are_neutralised(client_for, world):
    Stage.objects.filter(name="Qualified").update(name="=HYPERLINK(1)")
    Source.objects.filter(name="Website").update(name="@SUM(A1)")
    client = client_for(world["manager"])
    for table in ("stages", "flow", "sources"):
        cells = [cell for row in export(client, table) for cell in row]
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells), table
    assert export(client, "stages")[1][0] == "'=HYPERLINK(1)"


def test_headers_are_in_the_users_language(client_for, world):
    world["manager"].language = "zh-hans"
    world["manager"].save()
    client = client_for(world["manager"])
    assert export(client, "stages")[0] == ["阶段", "成功概率（%）", "数量", "金额", "加权金额"]
    assert export(client, "inflow")[0][0] == "周起始日"
    assert dict(export(client, "forecast")[1:])["赢单率（%）"] == "50.0"


def test_the_page_links_each_table_with_its_filters(client_for, world):
    response = client_for(world["manager"]).get("/dashboard/", {**MARCH, "owner": world["rep"].pk})
    content = response.content.decode()
    filters = f"period=custom&amp;start=2026-03-01&amp;end=2026-03-31&amp;owner={world['rep'].pk}"
    for table in TABLES:
        assert f'href="/dashboard/export.csv?{filters}&amp;table={table}"' in content, table


def test_an_export_says_what_the_page_said_as_of_the_same_time(client_for, world):
    """The file holds the figures the page shows, from the same rollup, and its name says as of when."""
    client = client_for(world["manager"])
    page = client.get("/dashboard/", MARCH)
    rows = export(client, "stages")
    assert [int(cell) for cell in rows[1][2:3]] == [row["count"] for row in page.context["by_stage"]][:1]
    stamp = timezone.localtime(RollupState.objects.get().refreshed_at, ZoneInfo(world["manager"].time_zone))
    response = client.get("/dashboard/export.csv", {**MARCH, "table": "stages"})
    assert response["Content-Disposition"].endswith(f'-{stamp.strftime("%Y%m%d-%H%M")}.csv"')
