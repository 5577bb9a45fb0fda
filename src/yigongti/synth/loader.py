"""Bulk writes through the raw DBAPI connection: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

Values are written in the exact text SQLAlchemy itself stores, so the ORM reads them back: on
SQLite a ``Uuid`` is 32 lowercase hex digits, a ``Date`` is ``YYYY-MM-DD``, an aware
``DateTime`` is ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC and a boolean is 0 or 1. PostgreSQL parses
the same hex and date text; its timestamps carry ``+00``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from sqlalchemy import Connection, Engine, inspect

from yigongti.db.migrate import load_models

# SQLite page cache during bulk loads (KiB): keeps the unique indexes that stay in place (ID
# numbers, randomly keyed conditions) in memory instead of spilling their pages again and
# again, and gives the index builds at the end room to sort.
BULK_CACHE_KIB = 512 * 1024


@contextmanager
def bulk_connection(engine: Engine) -> Iterator[Connection]:
    """A connection tuned for bulk loads; run each chunk in ``connection.begin()``.

    On SQLite, foreign keys are not checked while it is out (the generator's rows are
    consistent by construction, and the tests run ``PRAGMA foreign_key_check``) and the page
    cache is large; both are restored before the connection goes back to the pool.
    """
    with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            yield connection
            return
        raw = connection.connection.driver_connection
        cache = raw.execute("PRAGMA cache_size").fetchone()[0]
        # Outside any transaction (the pysqlite driver is in autocommit mode), where SQLite
        # honours the foreign_keys pragma.
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        try:
            yield connection
        finally:
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute(f"PRAGMA cache_size={cache}")


@contextmanager
def deferred_indexes(connection: Connection, tables: Sequence[str]) -> Iterator[None]:
    """Drop the tables' secondary (non-unique) indexes for the load, then build them again.

    Building an index once over sorted keys is far cheaper than inserting millions of random
    keys into it. The indexes come back even if the load fails. Unique indexes stay, so
    duplicates are still refused while loading.
    """
    metadata = load_models().metadata
    dropped = []
    with connection.begin():
        for table in tables:
            present = {ix["name"] for ix in inspect(connection).get_indexes(table)}
            for index in metadata.tables[table].indexes:
                if not index.unique and index.name in present:
                    index.drop(connection)
                    dropped.append(index)
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        with connection.begin():
            for index in dropped:
                index.create(connection)


class BulkWriter:
    """Writes whole columns into a table inside the connection's transaction."""

    def __init__(self, connection: Connection) -> None:
        self.dialect = connection.dialect.name
        self.raw = connection.connection.driver_connection
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"bulk writes support SQLite and PostgreSQL, not {self.dialect}")

    def timestamps(self, ms: np.ndarray) -> list[str]:
        """UTC instants (milliseconds since the epoch) as this database's timestamp text."""
        text = np.datetime_as_string(ms.astype("datetime64[ms]").astype("datetime64[us]"))
        codes = text.astype("U26").view(np.uint32).reshape(len(ms), 26).copy()
        codes[:, 10] = ord(" ")
        rows = np.ascontiguousarray(codes).view("U26").ravel().tolist()
        if self.dialect == "postgresql":
            return [row + "+00" for row in rows]
        return rows

    def flags(self, values: np.ndarray) -> list[int] | list[bool]:
        """Booleans as this database stores them."""
        if self.dialect == "sqlite":
            return values.astype(np.int8).tolist()
        return values.astype(bool).tolist()

    def insert(self, table: str, columns: dict[str, Sequence[object]]) -> int:
        """Append the rows made of ``columns`` (equal-length sequences, None for NULL)."""
        names = ", ".join(columns)
        rows = zip(*columns.values(), strict=True)  # streamed, never held as a list
        if self.dialect == "sqlite":
            marks = ", ".join("?" * len(columns))
            self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        else:
            with (
                self.raw.cursor() as cursor,
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        return len(next(iter(columns.values()), ()))
