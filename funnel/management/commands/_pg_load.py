"""PostgreSQL bulk loading for the benchmark seeders: rows made by the server in one INSERT … SELECT each
(no row crosses the wire), and the indexes and foreign keys of the loaded tables set aside during a large
load and rebuilt after it (one sorted pass per index, one anti-join per foreign key, instead of work on
every row).
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection, models


def insert_select(model: type[models.Model], columns: Sequence[str], select: str, params: dict) -> int:
    """INSERT INTO the model's table `columns` the rows of `select` (its columns in that order).

    Every other concrete column but an automatic primary key gets its field's default, so a column
    added later with a default needs no change here. Returns the number of rows written.
    """
    given = set(columns)
    rest = [
        field
        for field in model._meta.concrete_fields
        if field.column not in given and not (field.primary_key and isinstance(field, models.AutoField))
    ]
    defaults = {f"default_{n}": field.get_db_prep_save(_default(field), connection) for n, field in enumerate(rest)}
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name in [*columns, *(field.column for field in rest)])
    values = "".join(f", %({name})s" for name in defaults)
    # Names come from the model, `select` from the caller's constants; values travel as parameters.
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT given.*{values} FROM ({select}) AS given"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, **defaults})
        return cursor.rowcount


def reserve_ids(model: type[models.Model], count: int) -> int:
    """The first of `count` consecutive new primary keys of the model's table, for rows written with ids.

    Moves the table's sequence past them, and holds (until the transaction ends) a lock that keeps other
    writers of the table, who would draw from the sequence, waiting.
    """
    assert connection.in_atomic_block, "reserve_ids needs the load's transaction"
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(
            "SELECT setval(seq, nextval(seq) + %s - 1) - %s + 1 FROM pg_get_serial_sequence(%s, %s) AS seq",
            [count, count, model._meta.db_table, model._meta.pk.column],
        )
        return cursor.fetchone()[0]


def _default(field: models.Field):
    value = field.get_default()
    return value.value if isinstance(value, models.Choices) else value


@contextmanager
def indexes_set_aside(*model_classes: type[models.Model]) -> Iterator[None]:
    """Drops the non-unique indexes and the foreign keys of the models' tables, and rebuilds them on exit.

    Must run inside the load's transaction: if the load fails, the rollback brings them back unchanged.
    Unique indexes and the primary key stay (they guard the data while it goes in).
    """
    assert connection.in_atomic_block, "indexes_set_aside needs the load's transaction"
    quote = connection.ops.quote_name
    saved = []
    with connection.cursor() as cursor:
        # Check the rows this transaction already wrote now (a table with pending checks cannot be altered),
        # then go back to checking at commit, as Django's deferrable foreign keys do.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for model in model_classes:
            table = model._meta.db_table
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                "AND contype = 'f' ORDER BY conname",
                [table],
            )
            foreign_keys = cursor.fetchall()
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = "
                "x.indexrelid WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary "
                "ORDER BY i.relname",
                [table],
            )
            indexes = cursor.fetchall()
            for name, _definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
            saved.append((table, foreign_keys, indexes))
    yield
    with connection.cursor() as cursor:
        # Sorting in memory (this machine has it) instead of in files, for this transaction only.
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        for table, foreign_keys, indexes in saved:
            for _name, definition in indexes:
                cursor.execute(definition)
            for name, definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")


def refresh_statistics(*model_classes: type[models.Model]) -> None:
    """Fresh planner statistics (and, outside a transaction, the visibility map for index-only scans):
    autovacuum may be off, and the planner would otherwise guess from an empty table."""
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in model_classes)
    with connection.cursor() as cursor:
        cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM (ANALYZE)'} {tables}")
