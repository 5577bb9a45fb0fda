"""Writing many checked rows at once, without the unit of work's per-object bookkeeping.

Bulk paths (``$import``) build their rows as unsaved ORM objects, checked exactly as a single
create would check them, then write them here: one multi-row ``INSERT`` per table and set of
columns. Only the attributes a row was given are written; the others take their column
defaults, as a flush would. The objects stay outside the session: they are the caller's
record of what was written (ids, values), not rows the session tracks.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session


def insert_rows(session: Session, rows: Sequence[object]) -> None:
    """Insert unsaved ORM objects, one statement per table (and set of given columns).

    A missing primary key is made now by its column's default (our UUIDv7 ids), so callers
    can read each object's ``id`` afterwards. Pending work of the session is flushed first,
    so the rows land after what they may refer to.
    """
    if not rows:
        return
    session.flush()
    groups: dict[tuple[object, tuple[str, ...]], list[dict[str, object]]] = {}
    for row in rows:
        mapper = inspect(type(row))
        state = inspect(row)
        values: dict[str, object] = {}
        for prop in mapper.column_attrs:
            if prop.key in state.dict:
                values[prop.columns[0].key] = state.dict[prop.key]
        for column in mapper.primary_key:
            if values.get(column.key) is None and column.default is not None:
                made = column.default.arg(None)  # type: ignore[union-attr,operator]
                setattr(row, column.key, made)
                values[column.key] = made
        groups.setdefault((mapper.local_table, tuple(sorted(values))), []).append(values)
    for (table, _), values_list in groups.items():
        session.execute(insert(table), values_list)  # type: ignore[arg-type]
