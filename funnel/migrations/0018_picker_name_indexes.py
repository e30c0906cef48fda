"""Indexes for the pickers (funnel.pickers): names in order, for the first names offered before typing, and on
PostgreSQL the search's own indexes, since a picker's list is searched on the server instead of being sent whole.

- a trigram GIN index on UPPER(name) (what Django's icontains compares): a text of three characters or more
  anywhere in a name, among 100,000 customers or a million deals, without a full scan;
- a text_pattern_ops index on UPPER(name) (istartswith): a search of one or two characters ("华为", which
  has no trigram) matches the start of names.

pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it. SQLite, the embedded
database, gets the ordered indexes only; its books are small.
"""

from django.db import migrations, models

# Whole tables, not only open deals: PostgreSQL keeps statistics on an index's expression (UPPER(name)) only for
# an index without a WHERE, and without them it guesses how many names match, and guesses wrong: it sorted
# every deal whose name holds "BENCH" and walked a whole index looking for "ZZZZ".
TABLES = [("funnel_account", "account"), ("funnel_contact", "contact"), ("funnel_opportunity", "opp")]


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, prefix in TABLES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {prefix}_name_trgm ON {table} USING gin (UPPER(name::text) gin_trgm_ops)"
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {prefix}_name_prefix ON {table} (UPPER(name::text) text_pattern_ops)"
        )
        schema_editor.execute(f"ANALYZE {table}")  # the expression's statistics, which the planner needs at once


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, prefix in TABLES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {prefix}_name_trgm")
        schema_editor.execute(f"DROP INDEX IF EXISTS {prefix}_name_prefix")


class Migration(migrations.Migration):
    dependencies = [("funnel", "0017_dashboard_rollup")]

    operations = [
        migrations.AddIndex(model_name="account", index=models.Index(fields=["name", "id"], name="account_name")),
        migrations.AddIndex(model_name="contact", index=models.Index(fields=["name", "id"], name="contact_name")),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(condition=models.Q(("status", "open")), fields=["name", "id"], name="opp_open_name"),
        ),
        migrations.RunPython(create_search_indexes, drop_search_indexes),
    ]
