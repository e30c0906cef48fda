"""The team dashboard: figures from what the user may see, narrowed (never widened) by its filter."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from funnel.models import Alert, AlertKind, AlertSeverity, Stage
from reps.models import AuditAction, AuditEvent, Role
from reps.quotas import month_of, quarter_of
from tests.factories import OpportunityFactory, PipelineFactory, UserFactory

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


@pytest.fixture
def deals(cast, pipeline):
    OpportunityFactory(owner=cast["rep"], stage=stage("Proposal"), amount=Decimal(1000))
    OpportunityFactory(owner=cast["teammate"], stage=stage("Proposal"), amount=Decimal(7000))
    OpportunityFactory(owner=cast["other_rep"], stage=stage("Proposal"), amount=Decimal(9000))
    return cast


def proposal(response) -> dict:
    return next(row for row in response.context["by_stage"] if row["stage"].name == "Proposal")


def test_manager_sees_the_team_funnel_and_each_rep(client_for, deals):
    response = client_for(deals["manager"]).get("/dashboard/")
    assert response.status_code == 200
    assert (proposal(response)["count"], proposal(response)["total"]) == (2, 8000)
    assert [row["owner__username"] for row in response.context["reps"]] == ["r2", "r1"]


def test_rep_tampering_with_team_or_owner_sees_only_their_own_numbers(client_for, deals, team2):
    client = client_for(deals["rep"])
    for params in ({}, {"team": team2.pk}, {"owner": deals["other_rep"].pk}, {"owner": deals["teammate"].pk}):
        response = client.get("/dashboard/", params)
        assert (proposal(response)["count"], proposal(response)["total"]) == (1, 1000), params
        assert [row["owner__username"] for row in response.context["reps"]] == ["r1"]


def test_manager_cannot_read_the_other_teams_numbers(client_for, deals, team2):
    client = client_for(deals["manager"])
    for params in ({"team": team2.pk}, {"owner": deals["other_rep"].pk}):
        response = client.get("/dashboard/", params)
        assert proposal(response)["total"] == 8000, params
    assert b"9,000" not in client.get("/dashboard/", {"owner": deals["other_rep"].pk}).content


def test_manager_narrows_to_one_rep(client_for, deals):
    response = client_for(deals["manager"]).get("/dashboard/", {"owner": deals["teammate"].pk})
    assert (proposal(response)["count"], proposal(response)["total"]) == (1, 7000)


def test_admin_sees_every_team_or_one(client_for, deals, team2):
    client = client_for(deals["admin"])
    assert proposal(client.get("/dashboard/"))["total"] == 17000
    assert proposal(client.get("/dashboard/", {"team": team2.pk}))["total"] == 9000


def test_stage_count_links_to_the_list_of_exactly_those_deals(client_for, deals):
    client = client_for(deals["manager"])
    owner = deals["teammate"].pk
    response = client.get("/dashboard/", {"owner": owner})
    pipeline, proposal_stage = response.context["pipeline"].pk, stage("Proposal").pk
    link = f"/opportunities/?owner={owner}&amp;pipeline={pipeline}&amp;stage={proposal_stage}"
    assert link.encode() in response.content
    listed = client.get(link.replace("&amp;", "&"))
    assert [row.owner.username for row in listed.context["rows"]] == ["r2"]


def their_today(user) -> date:
    """The day in the person's own time zone, as their pages count it (near midnight it is not the site's)."""
    return timezone.localdate(timezone=ZoneInfo(user.time_zone))


def test_periods_resolve_to_dates(client_for, deals):
    client = client_for(deals["manager"])
    today = their_today(deals["manager"])
    response = client.get("/dashboard/", {"period": "month"})  # to date, and the forecast to the month's end
    assert (response.context["start"], response.context["end"]) == month_of(today)
    response = client.get("/dashboard/", {"period": "90d"})
    assert (response.context["start"], response.context["end"]) == (today - timedelta(days=89), today)
    custom = {"period": "custom", "start": "2026-01-01", "end": "2026-03-31"}
    response = client.get("/dashboard/", custom)
    assert (response.context["start"], response.context["end"]) == (date(2026, 1, 1), date(2026, 3, 31))


def test_unfiltered_page_reports_and_shows_this_quarter_to_its_end(client_for, deals):
    """Issue 14: the default period ended today, so the forecast (deals expected to close in it) read 0."""
    response = client_for(deals["manager"]).get("/dashboard/")
    assert (response.context["start"], response.context["end"]) == quarter_of(their_today(deals["manager"]))
    assert b'id="id_period"><option value="quarter">' in response.content


def test_the_default_period_forecasts_the_deals_expected_to_close_this_quarter(client_for, deals, stages):
    today = their_today(deals["manager"])
    OpportunityFactory(owner=deals["rep"], stage=stages["Proposal"], amount=Decimal(1000),
                       expected_close_date=quarter_of(today)[1])  # fmt: skip
    response = client_for(deals["manager"]).get("/dashboard/")
    assert response.context["forecast"]["count"] >= 1


def test_a_backwards_custom_period_falls_back_to_this_quarter(client_for, deals):
    response = client_for(deals["manager"]).get(
        "/dashboard/", {"period": "custom", "start": "2026-03-31", "end": "2026-01-01"}
    )
    assert response.status_code == 200
    assert (response.context["start"], response.context["end"]) == quarter_of(their_today(deals["manager"]))
    assert response.context["filters"].errors


def test_rep_table_sorts_by_an_allowed_key_only(client_for, deals):
    client = client_for(deals["manager"])
    names = [row["name"] for row in client.get("/dashboard/", {"sort": "name"}).context["reps"]]
    assert names == sorted(names)
    by_weight = client.get("/dashboard/", {"sort": "owner__password"}).context["reps"]  # unknown: the default
    assert [row["owner__username"] for row in by_weight] == ["r2", "r1"]


def test_other_pipeline_is_chosen_by_filter(client_for, deals):
    other = PipelineFactory(name="Service")
    response = client_for(deals["manager"]).get("/dashboard/", {"pipeline": other.pk})
    assert response.context["pipeline"] == other
    assert response.context["by_stage"] == []
    assert b"This pipeline has no open stages." in response.content


def test_dashboard_without_a_pipeline_shows_the_empty_state(client_for, rep):
    response = client_for(rep).get("/dashboard/")
    assert response.status_code == 200
    assert b"No pipeline is set up yet" in response.content


def test_empty_funnel_renders_dashes_not_errors(client_for, cast, pipeline):
    response = client_for(cast["manager"]).get("/dashboard/")
    assert response.status_code == 200
    assert response.context["outcomes"]["win_rate"] is None
    # the team's reps are still listed, with zeros: an empty cup shows
    assert sorted(row["owner__username"] for row in response.context["reps"]) == ["r1", "r2"]
    assert all(row["open_count"] == 0 and row["win_rate"] is None for row in response.context["reps"])


def test_page_carries_chart_data_as_json_and_no_inline_script(client_for, deals):
    content = client_for(deals["manager"]).get("/dashboard/").content.decode()
    assert '<script id="dashboard-data" type="application/json">' in content
    assert "js/dashboard.js" in content
    assert 'style="' not in content


def test_export_of_the_rep_table_is_scoped_neutralised_and_audited(client_for, deals):
    deals["teammate"].first_name, deals["teammate"].last_name = "=HYPERLINK(1)", ""
    deals["teammate"].save()
    response = client_for(deals["manager"]).get("/dashboard/export.csv", {"owner": deals["other_rep"].pk})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["'=HYPERLINK(1)", str(deals["rep"].get_full_name())]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r", "\0")) for row in rows for cell in row)
    assert AuditEvent.objects.filter(action=AuditAction.EXPORTED, actor=deals["manager"]).count() == 1


def test_export_is_refused_past_the_hourly_budget(client_for, deals, settings):
    settings.EXPORTS_PER_HOUR = 1
    client = client_for(deals["manager"])
    assert client.get("/dashboard/export.csv").status_code == 200
    response = client.get("/dashboard/export.csv", {"sort": "name"})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/?sort=name"


def test_rep_export_holds_only_their_own_row(client_for, deals, team2):
    response = client_for(deals["rep"]).get("/dashboard/export.csv", {"team": team2.pk})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2


@pytest.mark.parametrize("rows", [1, 30])
def test_dashboard_query_count_does_not_grow_with_rows(client_for, cast, pipeline, rows, django_assert_num_queries):
    stages = list(Stage.objects.filter(kind="open"))
    for index in range(rows):
        OpportunityFactory(owner=cast["rep"] if index % 2 else cast["teammate"], stage=stages[index % len(stages)])
    client = client_for(cast["manager"])
    client.get("/dashboard/")  # the first read folds the new deals into the rollup
    # session, user with their team, the active pipelines (the default, and later the filter's choices), its
    # open stages, the owners in view (with their names) and whether they are everyone, the rollup's state;
    # the figures: forecast per owner, open deals per stage, inflow, flow and its lengths, outcomes, sources,
    # per rep (period, re-entries, open deals); targets; the quotas in force (issue 14); rendering: the
    # filter's other choices (team, rep: the people of the rep's recent plan and visits, then the chosen one;
    # source; territory); the alerts panel (list, count); the per-rep table's data-quality column (issue 15); what
    # changed since the last working day (the working days, then one read per kind of change: issue 15)
    cache.clear()  # the figures are kept per scope and rollup refresh: first the read that adds them up
    with django_assert_num_queries(32):
        assert client.get("/dashboard/").status_code == 200
    # Read again before the next refresh: the figures come from the cache (the page's own reads and the
    # quotas, the data-quality column and what changed remain).
    with django_assert_num_queries(22):
        assert client.get("/dashboard/").status_code == 200
    # A rep's page is added up the same way, from their own rows, with no targets (they are per team); their
    # own quota is read.
    client = client_for(cast["rep"])
    client.get("/")  # the session's first page also counts the nav's alerts
    with django_assert_num_queries(25):
        assert client.get("/dashboard/").status_code == 200


def test_a_rep_with_no_deals_is_listed_with_zeros(client_for, deals, team1):
    UserFactory(username="r4", role=Role.REP, team=team1)
    UserFactory(username="r5", role=Role.REP, team=team1, is_active=False)  # gone, and no deals: not listed
    response = client_for(deals["manager"]).get("/dashboard/")
    rows = {row["owner__username"]: row for row in response.context["reps"]}
    assert list(rows) == ["r2", "r1", "r4"]
    assert (rows["r4"]["open_count"], rows["r4"]["weighted"], rows["r4"]["win_rate"]) == (0, 0, None)
    assert f"owner={rows['r4']['owner']}".encode() in response.content


def test_the_empty_rows_never_widen_the_scope(client_for, cast, pipeline, team2):
    rep = client_for(cast["rep"])
    for params in ({}, {"team": team2.pk}, {"owner": cast["other_rep"].pk}, {"owner": cast["teammate"].pk}):
        assert [row["owner__username"] for row in rep.get("/dashboard/", params).context["reps"]] == ["r1"], params
    manager = client_for(cast["manager"])
    for params in ({"team": team2.pk}, {"owner": cast["other_rep"].pk}):
        names = sorted(row["owner__username"] for row in manager.get("/dashboard/", params).context["reps"])
        assert names == ["r1", "r2"], params
    narrowed = manager.get("/dashboard/", {"owner": cast["teammate"].pk}).context["reps"]
    assert [row["owner__username"] for row in narrowed] == ["r2"]


def test_bench_dashboard_prints_a_row_per_user(cast, pipeline):
    OpportunityFactory(owner=cast["rep"], stage=stage("Proposal"), amount=Decimal(1000))
    out = io.StringIO()
    call_command("bench_dashboard", requests=2, users="r1,m1,a", slowest=1, moves=1, stdout=out)
    lines = out.getvalue().splitlines()
    assert "any period" in lines[1] and lines[-1].startswith("refresh after 1 moves: 1 owners in")
    assert "R_sql" in lines[1] and "T_floor" in lines[1]
    rows = [line.split() for line in lines if line.startswith("dashboard")]
    assert [row[1] for row in rows] == ["a", "m1", "r1"]
    assert [int(row[2]) for row in rows] == [1, 1, 1]  # the rows each dashboard covers: T_floor's count


def test_bench_dashboard_refuses_unknown_users(db):
    with pytest.raises(CommandError):
        call_command("bench_dashboard", requests=1, users="nobody", stdout=io.StringIO())


# --- the alerts panel -------------------------------------------------------------------------------


def alert(owner, severity=AlertSeverity.WARNING, **fields) -> Alert:
    deal = OpportunityFactory(owner=owner, stage=stage("Proposal"), name=f"Deal of {owner.username}")
    fields.setdefault("opportunity", deal)
    return Alert.objects.create(kind=AlertKind.STALLED, key=f"k{Alert.objects.count()}", rep=owner,
                                severity=severity, **fields)  # fmt: skip


def panel(response) -> list[str]:
    return [row.key for row, _url in response.context["alerts"]["rows"]]


def test_alerts_panel_shows_what_the_viewer_may_see(client_for, cast, pipeline):
    mine, teammates, foreign = alert(cast["rep"]), alert(cast["teammate"]), alert(cast["other_rep"])
    assert panel(client_for(cast["rep"]).get("/dashboard/")) == [mine.key]
    assert sorted(panel(client_for(cast["manager"]).get("/dashboard/"))) == sorted([mine.key, teammates.key])
    assert panel(client_for(cast["other_manager"]).get("/dashboard/")) == [foreign.key]


def test_alerts_panel_leaves_out_acknowledged_snoozed_and_resolved_ones(client_for, cast, pipeline):
    now = timezone.now()
    alert(cast["rep"], acknowledged_at=now)
    alert(cast["rep"], snoozed_until=now + timedelta(days=1))
    alert(cast["rep"], resolved_at=now)
    due = alert(cast["rep"], snoozed_until=now - timedelta(minutes=1))  # its snooze is over
    response = client_for(cast["manager"]).get("/dashboard/")
    assert panel(response) == [due.key]


def test_alerts_panel_shows_the_ten_most_severe_and_counts_the_rest(client_for, cast, pipeline):
    infos = [alert(cast["rep"], AlertSeverity.INFO) for _ in range(9)]
    critical = alert(cast["teammate"], AlertSeverity.CRITICAL)
    warnings = [alert(cast["rep"]) for _ in range(2)]
    response = client_for(cast["manager"]).get("/dashboard/")
    shown = panel(response)
    assert shown[:3] == [critical.key, warnings[1].key, warnings[0].key]
    assert len(shown) == 10 and {row.key for row in infos} > set(shown[3:])
    assert response.context["alerts"]["more"] == 2
    assert b"2 more alerts in the inbox" in response.content


def test_alerts_panel_counts_the_rest_only_up_to_a_cap(client_for, cast, pipeline, monkeypatch):
    monkeypatch.setattr("funnel.insights.views.ALERTS_COUNTED", 12)
    for _ in range(14):
        alert(cast["rep"])
    response = client_for(cast["manager"]).get("/dashboard/")
    assert (response.context["alerts"]["more"], response.context["alerts"]["more_than"]) == (2, True)
    assert b"Over 2 more alerts in the inbox" in response.content
    alert(cast["rep"], resolved_at=timezone.now())  # not counted: only what needs attention
    Alert.objects.filter(pk__in=Alert.objects.open().values("pk")[:2]).update(acknowledged_at=timezone.now())
    response = client_for(cast["manager"]).get("/dashboard/")
    assert (response.context["alerts"]["more"], response.context["alerts"]["more_than"]) == (2, False)


def test_alerts_panel_links_each_alert_to_its_subject_and_the_inbox(client_for, cast, pipeline):
    mine = alert(cast["rep"])
    content = client_for(cast["rep"]).get("/dashboard/").content
    assert f'href="/opportunities/{mine.opportunity_id}/"'.encode() in content
    assert b'href="/alerts/"' in content


def test_alerts_panel_follows_the_filters_team_and_rep(client_for, cast, pipeline, team1, team2):
    mine, teammates = alert(cast["rep"]), alert(cast["teammate"])
    forecast = Alert.objects.create(kind=AlertKind.FORECAST_RISK, key="forecast_risk:t1", rep=cast["admin"], team=team1)
    alert(cast["other_rep"])
    client = client_for(cast["admin"])
    assert sorted(panel(client.get("/dashboard/", {"team": team1.pk}))) == sorted(
        [mine.key, teammates.key, forecast.key]
    )
    response = client.get("/dashboard/", {"owner": cast["teammate"].pk})
    assert panel(response) == [teammates.key]
    assert f'href="/alerts/?rep={cast["teammate"].pk}"'.encode() in response.content
    assert b"Team \xe2\x80\x9cT1\xe2\x80\x9d" in client.get("/dashboard/", {"team": team1.pk}).content


def test_a_rep_filtering_another_teams_rep_still_sees_only_their_own_alerts(client_for, cast, pipeline, team2):
    mine = alert(cast["rep"])
    alert(cast["other_rep"])
    client = client_for(cast["rep"])
    for params in ({"team": team2.pk}, {"owner": cast["other_rep"].pk}):
        assert panel(client.get("/dashboard/", params)) == [mine.key], params


def test_alerts_panel_names_the_team_of_a_team_alert(client_for, cast, pipeline, team1):
    team_alert = alert(cast["manager"], AlertSeverity.CRITICAL, opportunity=None, team=team1, stage=stage("Proposal"))
    Alert.objects.filter(pk=team_alert.pk).update(kind=AlertKind.BLOCKAGE)
    response = client_for(cast["manager"]).get("/dashboard/")
    assert panel(response) == [team_alert.key]
    row = response.content.decode().split('data-testid="dashboard-alert"')[1].split("</li>")[0]
    assert "Stage “Proposal”" in row and f"· {team1.name}</span>" in row
    assert str(cast["manager"]) not in row


def test_every_table_row_has_as_many_cells_as_its_header(client_for, deals):
    """A column added to a header but not to its rows (or to the wrong table) shifts every figure under it."""
    from html.parser import HTMLParser

    class Tables(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tables, self.row = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables.append([])
            elif tag == "tr" and self.tables:
                self.row = 0
            elif tag in ("td", "th") and self.row is not None:
                self.row += 1

        def handle_endtag(self, tag):
            if tag == "tr" and self.row is not None:
                self.tables[-1].append(self.row)
                self.row = None

    parser = Tables()
    parser.feed(client_for(deals["manager"]).get("/dashboard/").content.decode())
    assert len(parser.tables) >= 5
    for widths in parser.tables:
        assert len(set(widths)) == 1, widths


def test_alerts_panel_says_why_each_alert_was_raised(client_for, cast, pipeline):
    entered = (timezone.now() - timedelta(days=41)).isoformat()
    alert(cast["rep"], details={"entered": entered, "stall_days": 14, "last_activity": None, "next_step": None})
    page = client_for(cast["rep"]).get("/dashboard/").content.decode()
    why = page.split('data-testid="dashboard-alert-why">', 1)[1].split("<", 1)[0]
    assert "for 41 days" in why and "stalls after 14" in why
