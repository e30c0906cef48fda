"""Database guards that make a table append-only for the application (QUALITY S31, G-A8).

PostgreSQL refuses UPDATE and DELETE of a row; SQLite (development only) refuses UPDATE, since
Django's test flush there empties tables with DELETE.
On SQLite, a later migration that alters such a table rebuilds it and drops the trigger:
call protect() again after it.
"""

from django.db import migrations

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION loudou_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def append_only_sql(table: str, vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            PG_FUNCTION,
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION loudou_append_only();",
        ]
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
        ]
    return []


def drop_sql(table: str, vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};"]
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_append_only;"]
    return []


def protect(table: str) -> migrations.RunPython:
    def forwards(apps, schema_editor):
        for statement in append_only_sql(table, schema_editor.connection.vendor):
            schema_editor.execute(statement, params=None)

    def backwards(apps, schema_editor):
        for statement in drop_sql(table, schema_editor.connection.vendor):
            schema_editor.execute(statement, params=None)

    return migrations.RunPython(forwards, backwards)
