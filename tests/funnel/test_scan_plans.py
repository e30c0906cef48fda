"""The funnel-health scan's plans on PostgreSQL: what the planner does with an empty or a freshly filled
alert table (autovacuum may be off, so the statistics are whatever the last ANALYZE left)."""

import pytest
from django.db import connection

from funnel.health import services as alert_services
from funnel.models import Alert

from .test_alerts import NOW, stalled

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("query plans and table statistics are PostgreSQL's")


def analyze(*tables: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(tables)}")


def plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def copies(deal, count: int) -> None:
    """`count` more rows like `deal`, written by the database: enough deals for the planner's big-table plans."""
    columns = [field.column for field in deal._meta.concrete_fields if not field.primary_key]
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(  # names from the model
            f"INSERT INTO funnel_opportunity ({names}) SELECT {names} FROM funnel_opportunity, "  # noqa: S608
            "generate_series(1, %s) WHERE id = %s",
            [count, deal.pk],
        )


@pytest.mark.django_db(transaction=True)  # TRUNCATE and ANALYZE committed, as on a real clean start
def test_first_stalled_scan_reads_the_alert_table_once_though_it_was_analysed_empty(rep, pipeline):
    copies(stalled(rep), 2_999)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE funnel_alert")  # a clean start: no alert, not even a page of dead ones
    analyze("funnel_alert", "funnel_opportunity")
    plans = []

    def explain_inserts(execute, sql, params, many, context):
        """The executed plan of each INSERT into the alert table, taken just before it runs for real."""
        if sql.startswith(("INSERT INTO funnel_alert", 'INSERT INTO "funnel_alert"')):
            raw = context["cursor"].cursor  # psycopg2's own cursor: this wrapper is not called again
            raw.execute("SAVEPOINT explain")
            raw.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plans.append(raw.fetchone()[0][0]["Plan"])
            raw.execute("ROLLBACK TO SAVEPOINT explain")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain_inserts):
        assert alert_services.stalled_sync(now=NOW)[0] == 3_000
    reads = [node for node in plan_nodes(plans[0]) if node.get("Relation Name") == "funnel_alert"]
    reads = [node for node in reads if node["Node Type"] != "ModifyTable"]
    # An anti-join rescanning the table per deal, while the statement appends to it, took minutes at 100k.
    assert reads and all(node["Actual Loops"] == 1 for node in reads)


def test_a_scan_that_opens_many_alerts_leaves_fresh_statistics(rep, pipeline, monkeypatch):
    monkeypatch.setattr(alert_services, "ANALYZE_AFTER", 10)
    for _ in range(12):
        stalled(rep)
    analyze("funnel_alert")
    alert_services.stalled_sync(now=NOW)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'funnel_alert'")
        assert cursor.fetchone()[0] == Alert.objects.count() == 12
