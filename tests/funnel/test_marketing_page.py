"""The marketing page (/dashboard/marketing/): per source and per campaign, what the deals created in the period
became (reached each stage, won, lost, cycle, won amount), their cost and cost per won deal; sortable, exported
as CSV, each count linked to the deals; over the deals the reader may see."""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funnel.models import MarketingCost, Stage, StageChange
from reps.models import AuditAction, AuditEvent
from tests.factories import CampaignFactory, OpportunityFactory, SourceFactory

pytestmark = pytest.mark.django_db

URL = "/dashboard/marketing/"
EXPORT = "/dashboard/marketing/export.csv"
PERIOD = {"period": "custom", "start": "2026-01-01", "end": "2026-03-31"}
CREATED = datetime(2026, 2, 10, 12, tzinfo=ZoneInfo("Asia/Shanghai"))


def deal(owner, path, *, source=None, campaign=None, amount="100000", created=CREATED, days=10):
    """A deal created at `created` that went through the stages named in `path` (one a day) and now sits in the
    last; a won or lost one closed `days` after it was created."""
    stages = {stage.name: stage for stage in Stage.objects.all()}
    last = stages[path[-1]]
    closed = created + timedelta(days=days) if last.kind != "open" else None
    opportunity = OpportunityFactory(owner=owner, stage=last, source=source, campaign=campaign, amount=Decimal(amount),
                                     created_at=created, closed_at=closed)  # fmt: skip
    for index, name in enumerate(path):
        StageChange.objects.create(opportunity=opportunity, to_stage=stages[name], at=created + timedelta(days=index),
                                   from_stage=stages[path[index - 1]] if index else None)  # fmt: skip
    return opportunity


def page(client, **params):
    response = client.get(URL, {**PERIOD, **params})
    assert response.status_code == 200
    return response


def rows_by_name(response) -> dict:
    return {row.name or None: row for row in response.context["figures"]["rows"]}


def shares(row) -> list:
    return [(cell["stage"].name, cell["count"], cell["share"]) for cell in row.stages]


@pytest.fixture
def website(db):
    return SourceFactory(name="Website")


@pytest.fixture
def book(cast, pipeline, website):
    """Four Website deals of the rep: one still qualified, one lost at proposal, one won through every stage,
    one created straight into proposal; a won Referral deal of the teammate; a deal without source of the other
    team; and a Website deal created before the period."""
    referral = SourceFactory(name="Referral")
    rep = cast["rep"]
    return {
        "qualified": deal(rep, ["Qualified"], source=website),
        "lost": deal(rep, ["Qualified", "Proposal", "Lost"], source=website),
        "won": deal(rep, ["Qualified", "Proposal", "Negotiation", "Won"], source=website, amount="200000"),
        "skipped": deal(rep, ["Proposal"], source=website),
        "referral": deal(cast["teammate"], ["Qualified", "Won"], source=referral, amount="50000", days=20),
        "none": deal(cast["other_rep"], ["Qualified"]),
        "earlier": deal(rep, ["Qualified", "Won"], source=website, created=CREATED - timedelta(days=90)),
    }


def test_each_source_shows_what_its_new_deals_became(client_for, cast, book):
    rows = rows_by_name(page(client_for(cast["admin"])))
    website = rows["Website"]
    assert website.inflow == 4  # the deal created before the period is not counted
    # Reached a stage or a later one: the won deal went through all; the one created in Proposal passed Qualified.
    assert shares(website) == [("Qualified", 4, Decimal("100.0")), ("Proposal", 3, Decimal("75.0")),
                               ("Negotiation", 1, Decimal("25.0"))]  # fmt: skip
    assert (website.won, website.lost, website.win_rate) == (1, 1, Decimal("50.0"))
    assert website.cycle_days == Decimal("10.0") and website.won_amount == Decimal("200000")
    referral = rows["Referral"]
    assert shares(referral) == [("Qualified", 1, Decimal("100.0")), ("Proposal", 1, Decimal("100.0")),
                                ("Negotiation", 1, Decimal("100.0"))]  # fmt: skip
    assert (referral.won, referral.cycle_days) == (1, Decimal("20.0"))
    assert rows[None].inflow == 1 and rows[None].win_rate is None  # the deals without a source
    total = page(client_for(cast["admin"])).context["figures"]["total"]
    assert (total.inflow, total.won, total.lost, total.won_amount) == (6, 2, 1, Decimal("250000"))


def test_the_campaign_tab_groups_by_campaign(client_for, cast, pipeline, website):
    fair = CampaignFactory(name="Trade fair 2026", source=website)
    deal(cast["rep"], ["Qualified", "Won"], campaign=fair, source=website)
    deal(cast["rep"], ["Qualified"], campaign=fair, source=website)
    deal(cast["rep"], ["Qualified"], source=website)
    response = page(client_for(cast["manager"]), by="campaign")
    rows = rows_by_name(response)
    assert (rows["Trade fair 2026"].inflow, rows["Trade fair 2026"].won) == (2, 1)
    assert rows[None].inflow == 1
    assert [row.name for row in response.context["figures"]["rows"]] == ["Trade fair 2026", ""]
    assert "No campaign" in response.content.decode()


@pytest.mark.parametrize(
    ("viewer", "inflow"),
    [("rep", 4), ("teammate", 1), ("manager", 5), ("other_manager", 1), ("admin", 6)],
)
def test_each_reader_counts_only_the_deals_they_may_see(client_for, cast, book, viewer, inflow):
    response = page(client_for(cast[viewer]))
    assert response.context["figures"]["total"].inflow == inflow


def test_a_tampered_team_or_rep_does_not_widen_the_scope(client_for, cast, book, team2):
    response = page(client_for(cast["rep"]), team=team2.pk, owner=cast["other_rep"].pk)
    assert response.context["figures"]["total"].inflow == 4


def test_costs_give_the_cost_per_won_deal_to_an_admin_over_every_deal(client_for, cast, book, website, admin_user):
    MarketingCost.objects.create(source=website, period_start=date(2026, 2, 1), period_end=date(2026, 2, 28),
                                 amount=Decimal("30000"), updated_by=admin_user)  # fmt: skip
    # Half of this month falls in the period: half of its cost counts.
    MarketingCost.objects.create(source=website, period_start=date(2026, 3, 17), period_end=date(2026, 4, 15),
                                 amount=Decimal("6000"), updated_by=admin_user)  # fmt: skip
    idle = SourceFactory(name="Billboards")  # spent money, brought nothing
    MarketingCost.objects.create(source=idle, period_start=date(2026, 1, 1), period_end=date(2026, 1, 31),
                                 amount=Decimal("5000"), updated_by=admin_user)  # fmt: skip
    response = page(client_for(cast["admin"]))
    rows = rows_by_name(response)
    assert (rows["Website"].cost, rows["Website"].cost_per_won) == (Decimal("33000.00"), Decimal("33000.00"))
    assert (rows["Billboards"].inflow, rows["Billboards"].cost, rows["Billboards"].cost_per_won) == (
        0, Decimal("5000.00"), None)  # fmt: skip
    assert rows["Referral"].cost is None and rows["Referral"].cost_per_won is None  # shown as —
    assert response.context["figures"]["total"].cost == Decimal("38000.00")
    assert 'data-testid="cost-per-won"' in response.content.decode()


def test_costs_are_not_divided_by_a_part_of_the_deals(client_for, cast, book, website, admin_user, team1):
    MarketingCost.objects.create(source=website, period_start=date(2026, 2, 1), period_end=date(2026, 2, 28),
                                 amount=Decimal("30000"), updated_by=admin_user)  # fmt: skip
    for client, params in ((client_for(cast["manager"]), {}), (client_for(cast["admin"]), {"team": team1.pk})):
        response = page(client, **params)
        assert rows_by_name(response)["Website"].cost is None
        assert "Billboards" not in response.content.decode()
        assert 'data-testid="costs-hidden"' in response.content.decode()
        assert 'data-testid="cost-per-won"' not in response.content.decode()


def test_every_column_sorts_both_ways_and_a_bad_sort_is_ignored(client_for, cast, book, pipeline):
    client = client_for(cast["admin"])
    names = lambda response: [row.name for row in response.context["figures"]["rows"]]  # noqa: E731
    assert names(page(client)) == ["Website", "Referral", ""]  # most new deals first
    assert names(page(client, sort="win_rate")) == ["Website", "Referral", ""]  # lowest first; none last
    assert names(page(client, sort="-win_rate")) == ["Referral", "Website", ""]
    assert names(page(client, sort="name")) == ["Referral", "Website", ""]
    negotiation = Stage.objects.get(name="Negotiation")
    assert names(page(client, sort=f"-stage-{negotiation.pk}")) == ["Referral", "Website", ""]
    for tampered in ("password", "-cost;drop", f"stage-{negotiation.pk + 999}", "--inflow", "stage-x"):
        assert names(page(client, sort=tampered)) == ["Website", "Referral", ""]
    heads = {head["key"]: head for head in page(client, sort="-won").context["headers"]}
    assert heads["won"]["aria_sort"] == "descending" and "sort=won" in heads["won"]["url"]
    assert "sort=-inflow" in heads["inflow"]["url"] and "sort=name" in heads["name"]["url"]


def test_a_cost_column_is_no_sort_for_those_who_do_not_see_costs(client_for, cast, book):
    names = [row.name for row in page(client_for(cast["manager"]), sort="cost").context["figures"]["rows"]]
    assert names == ["Website", "Referral"]  # the default order


def test_each_count_links_to_the_same_deals_in_the_list(client_for, cast, book):
    client = client_for(cast["manager"])
    rows = rows_by_name(page(client))
    for row in (rows["Website"], rows["Referral"]):
        for key, expected in (("inflow", row.inflow), ("won", row.won), ("lost", row.lost)):
            listed = client.get(row.urls[key])
            assert listed.status_code == 200
            assert listed.context["count"] == expected, (row.name, key)


def test_the_deals_without_a_source_or_campaign_link_to_none(client_for, cast, book):
    client = client_for(cast["admin"])
    rows = rows_by_name(page(client))
    assert "source=none" in rows[None].urls["inflow"]
    assert client.get(rows[None].urls["inflow"]).context["count"] == 1
    campaign_rows = rows_by_name(page(client, by="campaign"))
    assert "campaign=none" in campaign_rows[None].urls["inflow"]
    assert client.get(campaign_rows[None].urls["inflow"]).context["count"] == 6


def test_export_holds_the_pages_rows_in_its_order_and_is_audited(client_for, cast, book, website, admin_user):
    MarketingCost.objects.create(source=website, period_start=date(2026, 2, 1), period_end=date(2026, 2, 28),
                                 amount=Decimal("30000"), updated_by=admin_user)  # fmt: skip
    response = client_for(cast["admin"]).get(EXPORT, {**PERIOD, "sort": "name"})
    assert response.status_code == 200
    assert 'filename="marketing-source-2026-01-01-2026-03-31.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Source", "New", "Reached “Qualified”", "Reached “Qualified” (%)"]
    assert rows[0][-2:] == ["Cost", "Cost per won deal"]
    assert [row[0] for row in rows[1:]] == ["Referral", "Website", "No source", "Total"]
    assert rows[2][1] == "4" and rows[2][-2:] == ["30000.00", "30000.00"]
    assert AuditEvent.objects.filter(action=AuditAction.EXPORTED, detail__table="marketing_source").count() == 1


def test_a_managers_export_holds_their_teams_deals_and_no_costs(client_for, cast, book):
    response = client_for(cast["manager"]).get(EXPORT, {**PERIOD, "by": "campaign"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Campaign" and "Cost" not in rows[0]
    assert rows[1][:2] == ["No campaign", "5"]


def test_names_are_neutralised_in_the_csv_and_escaped_on_the_page(client_for, cast, pipeline):
    deal(cast["rep"], ["Qualified"], source=SourceFactory(name="=HYPERLINK(1)<b>"))
    client = client_for(cast["rep"])
    assert "&lt;b&gt;" in page(client).content.decode()
    rows = list(csv.reader(io.StringIO(client.get(EXPORT, PERIOD).content.decode("utf-8-sig"))))
    assert rows[1][0] == "'=HYPERLINK(1)<b>"


def test_an_empty_period_says_so(client_for, cast, pipeline):
    response = page(client_for(cast["rep"]))
    assert response.context["figures"]["rows"] == []
    assert 'data-testid="marketing-empty"' in response.content.decode()


@pytest.mark.parametrize("url", [URL, EXPORT])
def test_everyone_signed_in_may_read_it_and_nobody_may_post(client, client_for, cast, pipeline, url):
    assert client.get(url).status_code == 302  # to sign in
    assert client.post(url).status_code == 302
    for role in ("rep", "manager", "admin"):
        assert client_for(cast[role]).get(url).status_code == 200
        assert client_for(cast[role]).post(url).status_code == 405


def test_the_query_count_does_not_grow_with_the_deals(client_for, cast, pipeline, admin_user):
    client = client_for(cast["admin"])

    def add(count: int, first: int) -> None:
        for index in range(first, first + count):
            source = SourceFactory(name=f"Source {index}")
            campaign = CampaignFactory(name=f"Campaign {index}", source=source)
            deal(cast["rep"], ["Qualified", "Proposal", "Won"], source=source, campaign=campaign)
            february = {"period_start": date(2026, 2, 1), "period_end": date(2026, 2, 28)}
            MarketingCost.objects.create(campaign=campaign, amount=Decimal("100"), updated_by=admin_user, **february)

    def queries() -> int:
        cache.clear()  # the grouped rows are kept a few minutes: read them afresh each time
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL, {**PERIOD, "by": "campaign"}).status_code == 200
        return len(captured)

    add(1, 0)
    client.get(URL)
    one = queries()
    add(12, 1)
    # session, user, the filter's pipelines, the open stages (shown, then all of them for the history), the grouped
    # deals, the period's costs, the names; rendering: the filter's own choices (teams, sources…)
    assert queries() == one <= 13


def test_the_figures_are_kept_a_few_minutes_and_say_as_of_when(client_for, cast, book):
    client = client_for(cast["manager"])
    first = page(client)
    assert 'data-testid="as-of"' in first.content.decode()
    deal(cast["rep"], ["Qualified"], source=SourceFactory(name="Website"))
    assert page(client, by="campaign", sort="name").context["figures"]["total"].inflow == 5  # the kept rows
    cache.clear()
    assert page(client).context["figures"]["total"].inflow == 6
    # Another team's manager never reads the rows kept for this one.
    assert page(client_for(cast["other_manager"])).context["figures"]["total"].inflow == 1
