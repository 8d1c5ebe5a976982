"""One UPDATE for many rows that each get their own values, without Django's CASE expressions.

``QuerySet.bulk_update`` writes ``SET f = CASE WHEN id = 1 THEN … WHEN id = 2 THEN … END`` for
every field and resolves each WHEN as an ORM expression: for a delivery batch (13 fields by 32
messages) that cost more CPU than the sends themselves — about 20 ms per call even for one row.
On PostgreSQL this writes ``UPDATE t SET f = v.f … FROM (VALUES (…), (…)) AS v(…) WHERE t.id =
v.id`` instead: the same single statement, built as a string. Other databases (SQLite, the
embedded default) keep ``bulk_update``.

Like ``bulk_update``: no signals, no ``auto_now``; callers set every value they list.
"""

from django.db import connections, router
from django.db.models import Model


def rows_update(rows: list[Model], field_names: list[str]) -> None:
    """Write ``field_names`` of every row in ``rows`` (all of one model) in one statement."""
    if not rows:
        return
    model = type(rows[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, field_names)
        return
    meta = model._meta
    fields = [meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    pk = meta.pk
    columns = [pk, *fields]
    # Each value is cast to its column's type: VALUES alone would type them from the first row.
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in columns) + ")"
    params = []
    for instance in rows:
        params.append(pk.get_db_prep_save(instance.pk, connection))
        for field in fields:
            params.append(field.get_db_prep_save(getattr(instance, field.attname), connection))
    names = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
    # Only quoted names of the model's own table and columns, and %s placeholders, go in the text.
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * len(rows))}) AS v ({names}) "
        f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
