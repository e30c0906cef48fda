"""The alerts inbox's pages, at any depth: the ids of a page are picked first, then those alerts are read
with their subjects.

Joining the subjects before the page is cut leaves the plan to the planner's row estimates, and the keyset
condition ((first_seen, id) < the cursor's) is estimated from first_seen alone: after a scan opened
600,000 alerts in one moment it was estimated at one row, and every open alert was joined before the top
26 were kept (2.9–4.1 s at a million deals). So the ids are picked by one LATERAL join whose outer rows
hold the cursor (a materialized row) and the owners: values the planner sees only as parameters, estimated
generically, so the cheapest plan is the same whatever the data, an index read in order until the page is
full:

- for a few owners (a rep; a manager's teams; the rep or team filter) each owner's first ids from the
  (rep, first_seen, id) index, merged: the row comparison (rep, first_seen, id) < (owner, cursor) names
  the owner first, which no other index can start from;
- for everyone (an admin) the first ids from the (first_seen, id) index, or (kind, first_seen, id) for a kind.

On SQLite (development, tests) the page is the first rows of the ordered queryset after the cursor.
"""

from django.db import connection
from django.db.models import BigIntegerField, F, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

from reps.models import User

from ..models import Alert
from ..opportunities.filters import Sort, after_cursor, cursor_for, cursor_values

RELATED = ("rep", "opportunity", "stage", "team", "pipeline", "acknowledged_by")


def inbox_page(
    alerts: QuerySet[Alert], cursor: str, sort: Sort, size: int, owners: QuerySet[User] | None
) -> tuple[list[Alert], str | None]:
    """One page of `alerts` in `sort`'s order after `cursor`, and the next page's cursor (None on the last).

    `owners`: the users whose alerts `alerts` can hold, when they are a few; None when anyone's can be there.
    """
    order = (f"-{sort.key}", "-pk") if sort.descending else (sort.key, "pk")
    if connection.vendor == "postgresql":
        after = cursor_values(alerts, cursor, sort) if cursor else None
        ids = _lateral_ids(alerts.order_by(*order), sort, size + 1, owners, after)
    else:
        ids = (after_cursor(alerts, cursor, sort) if cursor else alerts).order_by(*order).values("pk")[: size + 1]
    rows = list(Alert.objects.filter(pk__in=ids).select_related(*RELATED).order_by(*order))
    if len(rows) > size:
        return rows[:size], cursor_for(rows[size - 1], sort)
    return rows, None


def _lateral_ids(
    ordered: QuerySet[Alert], sort: Sort, limit: int, owners: QuerySet[User] | None, after: tuple | None
) -> RawSQL:
    """The first `limit` ids of `ordered` after `after` (a cursor's sort value and id), as one subquery."""
    owner = RawSQL("inbox_owner.id", (), output_field=BigIntegerField())
    if owners is not None:
        ordered = ordered.filter(rep_id=owner)
    if after is not None:
        compare = TupleLessThan if sort.descending else TupleGreaterThan
        key = RawSQL("inbox_after.key", (), output_field=Alert._meta.get_field(sort.key))
        columns, bound = (F(sort.key), F("pk")), (key, RawSQL("inbox_after.id", (), output_field=BigIntegerField()))
        if owners is not None:  # the owner first: only the per-rep index starts there
            columns, bound = (F("rep_id"), *columns), (owner, *bound)
        ordered = ordered.filter(compare(Tuple(*columns), bound))
    branch_sql, branch_params = ordered.values("pk", sort.key)[:limit].query.sql_with_params()
    if owners is not None:
        owners_sql, owners_params = owners.order_by().values("pk").query.sql_with_params()
    else:
        owners_sql, owners_params = "SELECT NULL::bigint", ()
    direction = "DESC" if sort.descending else "ASC"
    sql = (
        # A materialized row: its values reach the branch as parameters, never folded in as constants.
        "WITH inbox_after AS MATERIALIZED (SELECT %s AS key, %s::bigint AS id) "  # noqa: S608
        f"SELECT picked.id FROM ({owners_sql}) AS inbox_owner (id) CROSS JOIN inbox_after "
        f"CROSS JOIN LATERAL ({branch_sql}) AS picked (id, sort_key) "
        f"ORDER BY picked.sort_key {direction}, picked.id {direction} LIMIT %s"
    )  # both parts are Django's SQL with their parameters
    return RawSQL(sql, (*(after or (None, None)), *owners_params, *branch_params, limit))  # noqa: S611
