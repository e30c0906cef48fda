"""Indexes for the global search (funnel.search.finder), on PostgreSQL; the pickers' indexes (0018) serve it too.

- Two characters ("宁波") have no trigram, so the trigram indexes of 0018 cannot find them inside a name. A GIN
  index on the name's two-character pieces (loudou_bigrams: "宁波港" → {宁波, 波港}) finds a two-character
  text anywhere in a name: having the piece is being a substring, no recheck needed.
- Phone numbers are compared as their digits ("138 0013-8000" = "13800138000"): a trigram GIN index on the
  digits of the phone finds three digits or more anywhere in it, however the number was written.
- A contact's e-mail: a trigram index on UPPER(email), and its prefix index, as for names.

pg_trgm indexes CJK characters under this database's locale (C.UTF-8 here: show_trgm('宁波港集团') gives six
trigrams); the pieces of loudou_bigrams are plain substrings and depend on no locale. SQLite gets nothing: its
search compares the text (LIKE) over a small book.
"""

from django.db import migrations

# COST: computing the pieces of every row is slow (tens of microseconds a name); priced as it is, the planner
# reads the index instead of filtering a rep's 5,000 deals, or walking a name index, through the function.
BIGRAMS = """
CREATE OR REPLACE FUNCTION loudou_bigrams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 10000 AS $$
    SELECT coalesce(array_agg(DISTINCT substr(value, i, 2)), '{}')
    FROM generate_series(1, char_length(value) - 1) AS i
$$
"""

INDEXES = [
    ("account_name_bigrams", "funnel_account", "gin (loudou_bigrams(UPPER(name::text)))"),
    ("contact_name_bigrams", "funnel_contact", "gin (loudou_bigrams(UPPER(name::text)))"),
    ("opp_name_bigrams", "funnel_opportunity", "gin (loudou_bigrams(UPPER(name::text)))"),
    ("account_phone_digits", "funnel_account", "gin (regexp_replace(phone::text, '[^0-9]+', '', 'g') gin_trgm_ops)"),
    ("contact_phone_digits", "funnel_contact", "gin (regexp_replace(phone::text, '[^0-9]+', '', 'g') gin_trgm_ops)"),
    ("contact_email_trgm", "funnel_contact", "gin (UPPER(email::text) gin_trgm_ops)"),
    ("contact_email_prefix", "funnel_contact", "(UPPER(email::text) text_pattern_ops)"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(BIGRAMS)
    for name, table, definition in INDEXES:
        using = "USING " if definition.startswith("gin") else ""
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {using}{definition}")
    for table in {table for _name, table, _definition in INDEXES}:
        schema_editor.execute(f"ANALYZE {table}")  # the expressions' statistics, which the planner needs at once


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _definition in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute("DROP FUNCTION IF EXISTS loudou_bigrams(text)")


class Migration(migrations.Migration):
    dependencies = [("funnel", "0025_alert_kind_index_without_stalled")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
