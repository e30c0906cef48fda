"""The alerts inbox's plans on PostgreSQL with thousands of alerts opened in one moment (as a scan opens
them): a deep page reads one index in order and no more rows than the page holds, for every role."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funnel.health.views import NEWEST_FIRST
from funnel.models import Alert
from funnel.opportunities.filters import cursor_for
from reps.models import Role
from tests.factories import UserFactory

from .test_alerts import NOW

pytestmark = pytest.mark.django_db
ALERTS = 6_000
PAGE = 26  # the page and one more, to know there is a next page


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's")


@pytest.fixture
def crowd(cast, team2):
    """ALERTS open alerts first seen in the same moment, spread over the three reps and sixty more of the other
    team (so the manager's team holds a small share, as one team of twenty does), and fresh statistics."""
    others = [UserFactory(username=f"crowd{n:02}", role=Role.REP, team=team2).pk for n in range(60)]
    owners = [cast["rep"].pk, cast["teammate"].pk, cast["other_rep"].pk, *others]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO funnel_alert (kind, severity, key, rep_id, first_seen, last_seen, ack_reason, details) "
            "SELECT 'stalled', 'warning', 'stalled:opp:' || n, (%s::bigint[])[1 + n %% %s], %s, %s, '', '{}' "
            "FROM generate_series(1, %s) AS n",
            [owners, len(owners), NOW, NOW, ALERTS],
        )
        cursor.execute("ANALYZE funnel_alert")
    return cast


def plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def deep_page_plan(client, user) -> dict:
    """The executed plan of the query that picks a page from the middle of the user's open alerts."""
    visible = Alert.objects.visible_to(user).open().order_by("-first_seen", "-id")
    middle = visible[visible.count() // 2]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("health:alert_list"), {"after": cursor_for(middle, NEWEST_FIRST)})
    assert response.status_code == 200
    page = [
        q["sql"] for q in queries if q["sql"].startswith('SELECT "funnel_alert"."id"') and f"LIMIT {PAGE}" in q["sql"]
    ]
    assert len(page) == 1
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + page[0])
        return cursor.fetchone()[0][0]["Plan"]


@pytest.mark.parametrize(
    ("who", "index", "owners"),
    [("admin", "alert_open_newest", 1), ("manager", "alert_rep_open_newest", 3), ("rep", "alert_rep_open_newest", 1)],
)  # the manager's scope: themself, the rep and the teammate
def test_a_deep_inbox_page_reads_the_intended_index_for_a_page_of_rows(crowd, client_for, who, index, owners):
    plan = deep_page_plan(client_for(crowd[who]), crowd[who])
    scans = [node for node in plan_nodes(plan) if node.get("Relation Name") == "funnel_alert"]
    picking = [node for node in scans if node.get("Index Name") != "funnel_alert_pkey"]
    assert picking and all(node["Node Type"] == "Index Scan" and node["Index Name"] == index for node in picking)
    # The rows read do not grow with the depth: a page per owner at most (the manager's team has three reps).
    assert all(node["Actual Rows"] * node["Actual Loops"] <= PAGE * owners for node in scans)
