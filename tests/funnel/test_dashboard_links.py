"""Every dashboard figure links to the opportunity list, and the list shows exactly the deals it counts.

A small fixed world over March 2026 in Shanghai time (the cast's time zone), with deals on the edges of
the period that fall on the other side of it in UTC.
"""

from datetime import datetime
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

import pytest

from funnel.models import Stage
from reps.models import Role
from tests.factories import OpportunityFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def world(cast, pipeline, team1):
    stage = {name: Stage.objects.get(name=name) for name in ("Qualified", "Proposal", "Negotiation", "Won", "Lost")}
    web, fair = SourceFactory(name="Website"), SourceFactory(name="Trade fair")
    departed = UserFactory(username="r4", role=Role.REP, team=team1, is_active=False)

    def deal(name, owner, stage_name, created, amount=1000, source=None, closed=None, close_date=None):
        return OpportunityFactory(
            name=name, owner=cast[owner] if isinstance(owner, str) else owner, stage=stage[stage_name],
            amount=Decimal(amount), source=source, created_at=created, closed_at=closed, expected_close_date=close_date,
        )  # fmt: skip

    deal("A", "rep", "Qualified", at(3, 2), 1000, web, close_date=datetime(2026, 3, 20).date())
    deal("B", "rep", "Proposal", at(2, 10), 2000, close_date=datetime(2026, 4, 15).date())
    deal("C", "rep", "Won", at(3, 5), 5000, web, closed=at(3, 15))
    deal("D", "rep", "Lost", at(1, 10), 700, fair, closed=at(3, 31, 23, 30))  # 15:30 UTC: still March
    deal("E", "rep", "Won", at(3, 1, 0, 30), 900, web, closed=at(4, 1, 0, 30))  # created Feb 28, won Mar 31 in UTC
    deal("F", "teammate", "Proposal", at(3, 10), 3000, fair, close_date=datetime(2026, 3, 25).date())
    deal("G", "teammate", "Won", at(2, 1), 4000, closed=at(3, 20))
    deal("H", "teammate", "Negotiation", at(3, 31, 23), 6000, web)
    deal("I", "other_rep", "Proposal", at(3, 5), 8000, web, close_date=datetime(2026, 3, 10).date())
    deal("J", "other_rep", "Won", at(3, 6), 9000, web, closed=at(3, 12))
    deal("K", departed, "Qualified", at(3, 3), 1500)
    return {**cast, "departed": departed, "web": web, "fair": fair}


def figures(response) -> list[tuple[str, int, str]]:
    """(what, the figure shown, its link) for every linked count on the page."""
    context = response.context
    pairs = [(f"stage {row['stage'].name}", row["count"], row["url"]) for row in context["by_stage"]]
    pairs += [(f"week {row['week']}", row["count"], row["url"]) for row in context["inflow"]]
    links, outcomes = context["links"], context["outcomes"]
    pairs += [("forecast", context["forecast"]["count"], links["forecast"]), ("won", outcomes["won"], links["won"]),
              ("lost", outcomes["lost"], links["lost"])]  # fmt: skip
    for row in context["sources"]:
        name = row["source__name"] or "no source"
        pairs += [(f"{name} {key}", row[key], row["urls"][key]) for key in ("inflow", "inflow_won", "won")]
    for row in context["reps"]:
        pairs += [(f"{row['owner__username']} open", row["open_count"], row["urls"]["open"])]
        pairs += [(f"{row['owner__username']} {key}", row[key], row["urls"][key]) for key in ("inflow", "won", "lost")]
    return pairs


def listed(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    names = sorted(deal.name for deal in response.context["rows"])
    assert len(names) == response.context["count"]  # one page holds them all in this world
    return names


def follow_every_link(client, params: dict) -> dict[str, list[str]]:
    """Opens the dashboard, checks each figure against the list its link opens; returns what each listed."""
    response = client.get("/dashboard/", params)
    content = response.content.decode()
    seen = {}
    for what, shown, url in figures(response):
        assert f'href="{escape(url)}"' in content, what
        seen[what] = listed(client, url)
        assert len(seen[what]) == shown, (what, url, seen[what])
    return seen


def test_managers_figures_each_open_exactly_their_deals(client_for, world):
    seen = follow_every_link(client_for(world["manager"]), MARCH)
    assert seen["stage Qualified"] == ["A", "K"]  # the departed rep's deal too
    assert seen["stage Proposal"] == ["B", "F"]
    assert seen["stage Negotiation"] == ["H"]
    assert seen["forecast"] == ["A", "F"]
    assert seen["won"] == ["C", "G"]  # not E: won on April 1st in Shanghai
    assert seen["lost"] == ["D"]  # lost late on March 31st in Shanghai
    assert seen["Website inflow"] == ["A", "C", "E", "H"]  # E: created March 1st in Shanghai
    assert seen["Website inflow_won"] == ["C", "E"]
    assert seen["Website won"] == ["C"]
    assert seen["no source inflow"] == ["K"]
    assert seen["no source won"] == ["G"]
    assert seen["r1 open"] == ["A", "B"]
    assert seen["r1 inflow"] == ["A", "C", "E"]
    assert seen["r2 won"] == ["G"]
    assert seen["r4 open"] == ["K"]
    assert sum(len(names) for what, names in seen.items() if what.startswith("week")) == 6


def test_amounts_link_to_the_same_deals_as_their_counts(client_for, world):
    client = client_for(world["manager"])
    response = client.get("/dashboard/", MARCH)
    for row in response.context["by_stage"]:
        deals = client.get(row["url"]).context["rows"]
        assert sum(deal.amount for deal in deals) == row["total"], row["stage"].name
    assert response.context["forecast"]["total"] == Decimal(4000)
    won = client.get(response.context["links"]["won"]).context["rows"]
    assert sum(deal.amount for deal in won) == response.context["outcomes"]["won_amount"] == Decimal(9000)


@pytest.mark.parametrize(
    ("viewer", "params", "owners"),
    [
        ("manager", {"owner": "teammate"}, {"r2"}),
        ("manager", {"source": "web"}, {"r1", "r2"}),
        ("admin", {"team": "other"}, {"r3"}),
        ("admin", {}, {"r1", "r2", "r3", "r4"}),
        ("rep", {}, {"r1"}),
        ("other_manager", {}, {"r3"}),
    ],
)
def test_links_keep_the_dashboards_filters_and_scope(client_for, world, team2, viewer, params, owners):
    values = {"teammate": world["teammate"].pk, "web": world["web"].pk, "other": team2.pk}
    client = client_for(world[viewer])
    seen = follow_every_link(client, {**MARCH, **{key: values[value] for key, value in params.items()}})
    owner_of = {"A": "r1", "B": "r1", "C": "r1", "D": "r1", "E": "r1", "F": "r2", "G": "r2", "H": "r2", "I": "r3",
                "J": "r3", "K": "r4"}  # fmt: skip
    listed_owners = {owner_of[name] for names in seen.values() for name in names}
    assert listed_owners == owners
    if params.get("source"):
        assert not {"B", "D", "F", "G", "K"} & {name for names in seen.values() for name in names}


@pytest.mark.parametrize(
    ("viewer", "tampered"),
    [("rep", "teammate"), ("rep", "other_rep"), ("manager", "other_rep"), ("other_manager", "rep")],
)
def test_no_link_opens_deals_outside_the_viewers_scope(client_for, world, team1, team2, viewer, tampered):
    """A rep or manager naming someone they may not see gets their own scope's figures and links, never more."""
    client = client_for(world[viewer])
    mine = {"rep": {"r1"}, "manager": {"r1", "r2", "r4"}, "other_manager": {"r3"}}[viewer]
    team = team2 if tampered == "other_rep" else team1
    for params in ({"owner": world[tampered].pk}, {"team": team.pk}):
        response = client.get("/dashboard/", {**MARCH, **params})
        for what, shown, url in figures(response):
            deals = client.get(url).context["rows"]
            assert {deal.owner.username for deal in deals} <= mine, (what, url)
            assert len(deals) == shown, what


def test_each_reps_forecast_links_to_their_open_deals_closing_in_the_period(client_for, world):
    client = client_for(world["manager"])
    rows = {row["owner__username"]: row for row in client.get("/dashboard/", MARCH).context["reps"]}
    # r1: A closes 20 March (B in April); r2: F closes 25 March; Proposal is 40 %, Qualified 10 %.
    assert listed(client, rows["r1"]["urls"]["forecast"]) == ["A"]
    assert listed(client, rows["r2"]["urls"]["forecast"]) == ["F"]
    assert (rows["r1"]["forecast_weighted"], rows["r2"]["forecast_weighted"]) == (100, 1200)
