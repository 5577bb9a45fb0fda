"""Export of the operational database into the lake, month by month, only what changed.

The exporter alone reads the operational tables, and it reads them in bulk: one query per
dataset and month, never row by row through the ORM. PostgreSQL is read through ADBC, whose
rows arrive as Arrow (``fetch_arrow_table``, binary COPY underneath). SQLite is read through
Python's own ``sqlite3`` module, each query fetched whole and turned into Arrow columns: ADBC's
SQLite driver carries its own copy of the SQLite library, and two copies in one process do not
see each other's POSIX locks, so the ADBC connection, closing, believes it is the last one and
deletes the WAL and shared-memory files under the application's open connections (SQLite's
"How To Corrupt An SQLite Database File", section 2.2.1; seen here as "disk I/O error").
Every query of one run sees one database snapshot (PostgreSQL: a repeatable-read, read-only
transaction; SQLite: one read transaction of a query-only connection).

What goes where:

- ``institutions``: the dimension, read whole on every run; its one file is replaced only when
  its content changed.
- ``visits`` from ``encounters``: the month is the Asia/Shanghai calendar month the visit
  started, except an inpatient stay, which counts in the month it ended (discharge). A stay not
  yet discharged is left out until it is. ``resident_key`` is the resident's record id,
  ``department`` the department's code (the NHC catalogue code, the same across institutions).
- ``fees`` from ``fee_lines``: each line in its visit's month, with its visit's kind and
  institution (lines of open stays are left out with their stay). ``line_id`` is the line's id.
- ``bookings`` from the ``booking_facts`` view: the month of the booking's day;
  ``wait_seconds`` is ``called_at - checked_in_at`` in whole seconds when both are set.

Incremental runs. For each monthly dataset one grouped query computes every month's
fingerprint in the database: the row count and change stamps (largest and sum of ids, sums of
amounts, of timestamps in epoch seconds and of the lengths of codes, counts of optional
values). A month whose fingerprint differs from the watermark of the last export, or whose
files are missing from the lake, is read and written again: its export files are replaced in
the same manifest commit as every other month of the run. Months that no longer have rows lose
their export files. Pushed files (``upload-*``) are never touched.

Limits of the fingerprint: a change that keeps every count and sum (a diagnosis code rewritten
in place by another of the same length, a visit moved to another department, two amounts
swapped between lines of one month, a booking's status moved between statuses of equal length
without any time stamp changing) is not seen. ``full=True`` (``ygt lake export --full``)
rewrites every month regardless.

Order of commits: the lake's manifest first, then the watermarks (in the caller's session, or
in a short unit of work of the exporter's own). A crash between the two leaves watermarks of
the previous run, so the next run rewrites those months again: extra work, never lost rows.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import URL, Engine, delete, select
from sqlalchemy.orm import Session

from yigongti.analytics.lake.schema import BOOKINGS, FEES, INSTITUTIONS, VISITS, Dataset
from yigongti.analytics.lake.store import Lake, LakeEntry, LakeTransaction, split_by
from yigongti.analytics.models import LakeWatermark
from yigongti.db import unit_of_work
from yigongti.kernel import now, uuid7

Progress = Callable[[str, int, int], None]
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class DatasetExport:
    """What one export did to one dataset: months rewritten, left alone, removed; rows written."""

    dataset: str
    rewritten: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    rows: int
    files: int


@dataclass(frozen=True)
class ExportReport:
    """What one export did, dataset by dataset."""

    datasets: tuple[DatasetExport, ...]

    def of(self, dataset: str) -> DatasetExport:
        """The part of the report about ``dataset``."""
        return next(d for d in self.datasets if d.dataset == dataset)

    @property
    def rows(self) -> int:
        """Rows written in all."""
        return sum(d.rows for d in self.datasets)

    @property
    def files(self) -> int:
        """Files written in all."""
        return sum(d.files for d in self.datasets)


# --- SQL of each backend ------------------------------------------------------------------


@dataclass(frozen=True)
class _Sql:
    """The few expressions that differ between SQLite and PostgreSQL."""

    sqlite: bool

    def uuid(self, column: str) -> str:
        """A UUID column as canonical text (SQLite keeps 32 hex digits, no dashes)."""
        if not self.sqlite:
            return f"CAST({column} AS TEXT)"
        parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
        pieces = " || '-' || ".join(f"substr({column}, {a}, {n})" for a, n in parts)
        return f"lower({pieces})"

    def key(self, column: str) -> str:
        """A key column as text that orders like the key (for ``max`` in fingerprints)."""
        return f"CAST({column} AS TEXT)"

    def month(self, moment: str) -> str:
        """The Asia/Shanghai month (YYYY-MM) of a UTC timestamp column (UTC+8, no DST)."""
        if self.sqlite:
            return f"strftime('%Y-%m', {moment}, '+8 hours')"
        return f"to_char({moment} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"

    def day_month(self, day: str) -> str:
        """The month (YYYY-MM) of a date column."""
        return f"substr({day}, 1, 7)" if self.sqlite else f"to_char({day}, 'YYYY-MM')"

    def epoch(self, moment: str) -> str:
        """Whole seconds since 1970 of a timestamp column."""
        if self.sqlite:
            return f"CAST(strftime('%s', {moment}) AS INTEGER)"
        return f"CAST(floor(extract(epoch FROM {moment})) AS BIGINT)"


@dataclass(frozen=True)
class _Source:
    """How a monthly dataset is read: its columns, rows, month and fingerprint."""

    dataset: Dataset
    columns: Callable[[_Sql], dict[str, str]]  # dataset column -> SQL expression
    rows: str  # FROM ... WHERE ...
    month: Callable[[_Sql], str]
    order: str
    stamps: Callable[[_Sql], list[str]]  # aggregates that move when exported content changes


def _visit_month(sql: _Sql) -> str:
    return (
        f"CASE WHEN e.kind = 'inpatient' THEN {sql.month('e.ended_at')} "
        f"ELSE {sql.month('e.started_at')} END"
    )


# Inpatient stays count when they end; open ones are not exported until then.
_VISITS_FROM = (
    "FROM encounters e LEFT JOIN departments d ON d.id = e.department_id "
    "WHERE (e.kind <> 'inpatient' OR e.ended_at IS NOT NULL)"
)
_FEES_FROM = (
    "FROM fee_lines f JOIN encounters e ON e.id = f.encounter_id "
    "WHERE (e.kind <> 'inpatient' OR e.ended_at IS NOT NULL)"
)
_BOOKINGS_FROM = "FROM booking_facts b WHERE 1 = 1"

VISITS_SOURCE = _Source(
    VISITS,
    lambda sql: {
        "visit_id": sql.uuid("e.id"),
        "institution_id": sql.uuid("e.institution_id"),
        "month": _visit_month(sql),
        "resident_key": sql.uuid("e.resident_id"),
        "kind": "e.kind",
        "started_at": "e.started_at",
        "ended_at": "e.ended_at",
        "department": "d.code",
        "diagnosis_code": "e.diagnosis_code",
        "total_fen": "e.total_fen",
        "referral": "e.referral",
        "referred_from_id": sql.uuid("e.referred_from_id"),
    },
    _VISITS_FROM,
    _visit_month,
    "e.id",
    lambda sql: [
        f"max({sql.key('e.id')})",
        "sum(e.total_fen)",
        f"sum({sql.epoch('e.started_at')})",
        f"sum({sql.epoch('e.ended_at')})",
        "count(e.ended_at)",
        "count(e.department_id)",
        "sum(length(e.diagnosis_code))",
        "sum(length(e.kind))",
        "sum(length(e.referral))",
        "count(e.referred_from_id)",
    ],
)

FEES_SOURCE = _Source(
    FEES,
    lambda sql: {
        "line_id": "CAST(f.id AS TEXT)",
        "visit_id": sql.uuid("e.id"),
        "institution_id": sql.uuid("e.institution_id"),
        "month": _visit_month(sql),
        "kind": "e.kind",
        "category": "f.category",
        "amount_fen": "f.amount_fen",
    },
    _FEES_FROM,
    _visit_month,
    "f.id",
    lambda sql: [
        "max(f.id)",
        "sum(f.id)",
        "sum(f.amount_fen)",
        "sum(length(f.category))",
        "sum(length(e.kind))",
    ],
)

BOOKINGS_SOURCE = _Source(
    BOOKINGS,
    lambda sql: {
        "booking_id": sql.uuid("b.booking_id"),
        "institution_id": sql.uuid("b.institution_id"),
        "month": sql.day_month("b.day"),
        "day": "b.day",
        "channel": "b.channel",
        "slot_channel": "b.slot_channel",
        "status": "b.status",
        "on_time": "b.on_time",
        "checked_in_at": "b.checked_in_at",
        "called_at": "b.called_at",
    },
    _BOOKINGS_FROM,
    lambda sql: sql.day_month("b.day"),
    "b.booking_id",
    lambda sql: [
        f"max({sql.key('b.booking_id')})",
        "sum(length(b.status))",
        "count(b.confirmed_at)",
        "count(b.checked_in_at)",
        f"sum({sql.epoch('b.checked_in_at')})",
        "count(b.called_at)",
        f"sum({sql.epoch('b.called_at')})",
        "count(b.completed_at)",
        "count(b.ended_at)",
        "count(b.on_time)",
        "sum(CASE WHEN b.on_time THEN 1 ELSE 0 END)",
    ],
)

SOURCES = (VISITS_SOURCE, FEES_SOURCE, BOOKINGS_SOURCE)


def _institutions_sql(sql: _Sql) -> str:
    return (
        f"SELECT {sql.uuid('i.id')} AS institution_id, i.code AS code, i.name AS name, "
        "i.tier AS tier, i.kind AS kind, i.ownership AS ownership, "
        f"{sql.uuid('i.community_id')} AS community_id, c.name AS community_name "
        "FROM institutions i LEFT JOIN medical_communities c ON c.id = i.community_id "
        "ORDER BY i.code"
    )


# --- reading in bulk ----------------------------------------------------------------------

Fetch = Callable[[str], pa.Table]


def _check_readable(url: URL) -> None:
    """Refuse a database the exporter cannot read from a connection of its own."""
    backend = url.get_backend_name()
    if backend == "sqlite" and (not url.database or url.database == ":memory:"):
        raise ValueError("the lake export reads an SQLite file; an in-memory database has none")
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"the lake export reads SQLite or PostgreSQL, not {backend}")


def _sqlite_rows(connection: sqlite3.Connection, query: str) -> pa.Table:
    cursor = connection.execute(query)
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table({name: pa.array(values) for name, values in zip(names, columns, strict=True)})


def _adbc_rows(connection: Any, query: str) -> pa.Table:
    cursor = connection.cursor()
    try:
        cursor.execute(query)
        return cursor.fetch_arrow_table()
    finally:
        cursor.close()


@contextmanager
def snapshot_reader(url: URL) -> Iterator[Fetch]:
    """``fetch(query) -> Arrow table`` on the database of a SQLAlchemy ``url``, every query of
    the block in one read-only snapshot.

    PostgreSQL through ADBC (``postgresql+psycopg://`` becomes the libpq ``postgresql://``),
    SQLite through a query-only ``sqlite3`` connection of its own (see the module's docstring).
    """
    _check_readable(url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        lite = sqlite3.connect(url.database, isolation_level=None, timeout=30)
        try:
            lite.execute("PRAGMA query_only = ON")
            lite.execute("BEGIN")  # deferred: the snapshot starts with the first read
            yield lambda query: _sqlite_rows(lite, query)
        finally:
            lite.close()
        return
    import adbc_driver_postgresql.dbapi as postgresql

    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = postgresql.connect(plain)
    try:
        cursor = connection.cursor()
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.close()
        yield lambda query: _adbc_rows(connection, query)
    finally:
        connection.close()


def _typed(values: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    """A fetched column as the lake's type (SQLite's timestamps and dates arrive as text)."""
    if pa.types.is_timestamp(target) and not pa.types.is_timestamp(values.type):
        # SQLite keeps UTC instants as text without an offset: parse, then say they are UTC.
        return pc.assume_timezone(values.cast(pa.string()).cast(pa.timestamp("us")), "UTC")
    if pa.types.is_date(target) and not pa.types.is_date(values.type):
        values = values.cast(pa.string())
    return values.cast(target)


def _arrow(fetched: pa.Table, dataset: Dataset) -> pa.Table:
    """The fetched rows as a table of the dataset's columns and types."""
    return pa.table(
        {
            c.name: _typed(fetched.column(c.name), c.type)
            for c in dataset.columns
            if c.name in fetched.column_names
        }
    )


def _with_wait(table: pa.Table) -> pa.Table:
    """Bookings with ``wait_seconds``: check-in to call, whole seconds, when both happened."""
    waited = pc.subtract(table.column("called_at"), table.column("checked_in_at"))
    micros = waited.cast(pa.int64())
    seconds = pc.divide(micros, 1_000_000)
    # A call recorded before its check-in is a clock error, not a negative wait.
    seconds = pc.if_else(pc.less(seconds, 0), pa.scalar(None, pa.int64()), seconds)
    return table.append_column("wait_seconds", seconds)


# --- one run ------------------------------------------------------------------------------


def _fingerprints(fetch: Fetch, sql: _Sql, source: _Source) -> dict[str, tuple[str, int]]:
    """Month -> (fingerprint, rows) of a dataset, computed in the database in one query."""
    stamps = ", ".join(
        f"COALESCE(CAST({stamp} AS TEXT), '') AS s{i}" for i, stamp in enumerate(source.stamps(sql))
    )
    query = (
        f"SELECT {source.month(sql)} AS month, count(*) AS n, {stamps} "
        f"{source.rows} GROUP BY 1 ORDER BY 1"
    )
    found = {}
    for row in fetch(query).to_pylist():
        month, rows = row.pop("month"), int(row.pop("n"))
        if month is None or not MONTH.match(month):
            raise ValueError(f"{source.dataset.name}: month {month!r} out of range")
        digest = hashlib.sha256("|".join(str(v) for v in row.values()).encode()).hexdigest()
        found[month] = (f"{rows}:{digest}", rows)
    return found


def _month_rows(fetch: Fetch, sql: _Sql, source: _Source, month: str) -> pa.Table:
    """The rows of one month of a dataset, as the lake's table."""
    columns = ", ".join(f"{expr} AS {name}" for name, expr in source.columns(sql).items())
    query = (
        f"SELECT {columns} {source.rows} AND {source.month(sql)} = '{month}' "
        f"ORDER BY {source.order}"
    )
    table = _arrow(fetch(query), source.dataset)
    if source.dataset is BOOKINGS:
        table = _with_wait(table)
    # Cast once here, so that the month's parts, one per institution, conform as they are.
    return table.select(list(source.dataset.names)).cast(source.dataset.arrow_schema())


def _export_institutions(fetch: Fetch, sql: _Sql, tx: LakeTransaction) -> DatasetExport:
    fetched = fetch(_institutions_sql(sql))
    if fetched.num_rows == 0:
        table = INSTITUTIONS.arrow_schema().empty_table()
    else:
        table = _arrow(fetched, INSTITUTIONS).cast(INSTITUTIONS.arrow_schema())
    live = tx.entries(INSTITUTIONS.name)
    if live and pq.ParquetFile(tx.lake.root / live[0].path).read().equals(table):
        return DatasetExport(INSTITUTIONS.name, (), (), (), 0, 0)
    tx.write_table(INSTITUTIONS.name, table, None, None, INSTITUTIONS.name)
    return DatasetExport(INSTITUTIONS.name, (), (), (), table.num_rows, 1)


@dataclass
class _Marks:
    """The watermarks an export read, and those it will store or drop."""

    known: dict[tuple[str, str], str]
    store: dict[tuple[str, str], tuple[str, int]]
    drop: set[tuple[str, str]]


def _export_source(
    fetch: Fetch,
    sql: _Sql,
    source: _Source,
    tx: LakeTransaction,
    marks: _Marks,
    *,
    full: bool,
    progress: Progress,
    run: str,
) -> DatasetExport:
    name = source.dataset.name
    current = _fingerprints(fetch, sql, source)
    exported: dict[str, list[LakeEntry]] = {}
    for entry in tx.entries(name):
        if entry.source == "export" and entry.month:
            exported.setdefault(entry.month, []).append(entry)
    changed = [
        month
        for month, (fingerprint, _) in current.items()
        if full or marks.known.get((name, month)) != fingerprint or month not in exported
    ]
    known_months = {m for (d, m) in marks.known if d == name}
    vanished = sorted((known_months | set(exported)) - set(current))
    rows = files = 0
    for done, month in enumerate(changed, start=1):
        for entry in exported.get(month, []):
            tx.remove(entry)
        table = _month_rows(fetch, sql, source, month)
        for institution_id, part in split_by(table, "institution_id"):
            tx.write_table(name, part, month, institution_id, run)
            files += 1
        rows += table.num_rows
        marks.store[(name, month)] = current[month]
        progress(name, done, len(changed))
    for month in vanished:
        for entry in exported.get(month, []):
            tx.remove(entry)
        marks.drop.add((name, month))
    rewritten = set(changed)
    unchanged = tuple(m for m in current if m not in rewritten)
    return DatasetExport(name, tuple(changed), unchanged, tuple(vanished), rows, files)


def _read_marks(session: Session) -> dict[tuple[str, str], str]:
    return {(m.dataset, m.month): m.fingerprint for m in session.scalars(select(LakeWatermark))}


def _save_marks(session: Session, marks: _Marks) -> None:
    for dataset, month in marks.drop:
        session.execute(
            delete(LakeWatermark).where(
                LakeWatermark.dataset == dataset, LakeWatermark.month == month
            )
        )
    at = now()
    for (dataset, month), (fingerprint, rows) in marks.store.items():
        mark = session.get(LakeWatermark, (dataset, month))
        if mark is None:
            session.add(
                LakeWatermark(
                    dataset=dataset, month=month, fingerprint=fingerprint, rows=rows, exported_at=at
                )
            )
        else:
            mark.fingerprint, mark.rows, mark.exported_at = fingerprint, rows, at
    session.flush()


def _quiet(stage: str, done: int, total: int) -> None:
    """No progress to show."""


def export_lake(
    engine: Engine,
    lake: Lake,
    *,
    session: Session | None = None,
    full: bool = False,
    progress: Progress | None = None,
) -> ExportReport:
    """Export the operational database into the lake: the months that changed since last time.

    Reads through ADBC on ``engine``'s database; writes the lake in one transaction (one
    manifest commit), then the watermarks: through ``session`` when given (the caller commits
    it, after this returns), else in a unit of work of its own. ``full`` rewrites every month.
    ``progress(dataset, months done, months to do)`` is called as months are written.
    """
    sql = _Sql(sqlite=engine.url.get_backend_name() == "sqlite")
    _check_readable(engine.url)  # before anything is read or written
    if session is not None:
        known = _read_marks(session)
    else:
        # A short transaction of its own: on SQLite a write transaction held through the whole
        # export would stop every other writer of the database for that long.
        with unit_of_work(engine) as own:
            known = _read_marks(own)
    marks = _Marks(known, {}, set())
    run = f"export-{uuid7().hex}"
    with lake.transaction() as tx, snapshot_reader(engine.url) as fetch:
        reports = [_export_institutions(fetch, sql, tx)]
        for source in SOURCES:
            reports.append(
                _export_source(
                    fetch,
                    sql,
                    source,
                    tx,
                    marks,
                    full=full,
                    progress=progress or _quiet,
                    run=run,
                )
            )
    if session is not None:
        _save_marks(session, marks)
    else:
        with unit_of_work(engine) as own:
            _save_marks(own, marks)
    return ExportReport(tuple(reports))
