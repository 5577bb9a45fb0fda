"""Writing many checked rows at once, without the unit of work's per-object bookkeeping.

Bulk paths (``$import``) build their rows as unsaved ORM objects (or plain values), checked
exactly as a single create would check them, then write them here in the session's
transaction: on PostgreSQL with one ``COPY`` per table, elsewhere with one multi-row
``INSERT``. Only the columns a row was given are written as given; the others take their
column defaults, as a flush would (a Python default is computed here, a server default by
the database). ORM objects stay outside the session: they are the caller's record of what
was written (ids, values), not rows the session tracks.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Table,
    any_,
    bindparam,
    insert,
    inspect,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session


def insert_rows(session: Session, rows: Sequence[object]) -> None:
    """Insert unsaved ORM objects, one statement per table (and set of given columns).

    A missing primary key is made now by its column's default (our UUIDv7 ids), so callers
    can read each object's ``id`` afterwards.
    """
    groups: dict[tuple[Table, tuple[str, ...]], list[dict[str, object]]] = {}
    for row in rows:
        mapper = inspect(type(row))
        state = inspect(row)
        values: dict[str, object] = {}
        for prop in mapper.column_attrs:
            if prop.key in state.dict:
                values[prop.columns[0].key] = state.dict[prop.key]
        for column in mapper.primary_key:
            if values.get(column.key) is None and column.default is not None:
                made = _python_default(column)
                setattr(row, column.key, made)
                values[column.key] = made
        groups.setdefault((mapper.local_table, tuple(sorted(values))), []).append(values)
    for (table, _), values_list in groups.items():
        insert_values(session, table, values_list)


def insert_values(
    session: Session | Connection, table: Table, values_list: list[dict[str, Any]]
) -> None:
    """Insert rows given as column values (every row the same columns) into ``table``, in the
    transaction of ``session`` (or of a connection).

    Pending work of a session is flushed first, so the rows land after what they refer to.
    """
    if not values_list:
        return
    if isinstance(session, Session):
        session.flush()
        connection = session.connection()
    else:
        connection = session
    dialect = connection.dialect
    given = [c for c in table.columns if c.key in values_list[0]]
    defaulted = [c for c in table.columns if c.key not in values_list[0] and c.default is not None]
    if dialect.name != "postgresql" or any(
        c.default.is_sequence or c.default.is_clause_element  # type: ignore[union-attr]
        for c in defaulted
    ):
        session.execute(insert(table), values_list)
        return
    columns = given + defaulted
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    converted = [(i, p) for i, p in enumerate(processors) if p is not None]
    keys = [c.key for c in given]
    names = ", ".join(dialect.identifier_preparer.format_column(c) for c in columns)
    target = dialect.identifier_preparer.format_table(table)
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        for values in values_list:
            row = [values[k] for k in keys]
            row.extend(_python_default(c) for c in defaulted)
            for index, process in converted:
                if row[index] is not None:
                    row[index] = process(row[index])
            copy.write_row(row)


def among(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values`` for a batch's many values.

    On PostgreSQL the values go as one array parameter (``column = ANY(:values)``): an ``IN``
    list of hundreds of ids costs SQLAlchemy a bound parameter each to render, on every run,
    and the statement's text changes with their number. Elsewhere an ``IN`` list.
    """
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(values)


def _python_default(column: Column[Any]) -> object:
    """A column's Python-side default for one new row (a value, or a call of its function)."""
    default = column.default
    assert default is not None
    if default.is_callable:  # type: ignore[attr-defined]
        return default.arg(None)  # type: ignore[attr-defined,operator]
    return default.arg  # type: ignore[attr-defined]
