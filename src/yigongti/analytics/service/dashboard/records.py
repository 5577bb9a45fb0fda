"""The lake rows behind a number: the drill-down from a value to what it was counted from."""

from __future__ import annotations

from pathlib import Path

import duckdb
from sqlalchemy.orm import Session

from yigongti.analytics.catalog.compile import q, records_sql
from yigongti.analytics.catalog.model import Indicator, Measure
from yigongti.analytics.compute import lake_files
from yigongti.analytics.engines.duckdb import DuckDBEngine
from yigongti.analytics.lake.schema import DATASETS
from yigongti.analytics.service.dashboard.reading import (
    catalog_in_force,
    check_grain,
    indicator_of,
    period_kind_of,
    results_of,
    unit_in,
    units_of,
)
from yigongti.analytics.service.dashboard.views import MeasureRecords, RecordsPage
from yigongti.kernel import invalid_field
from yigongti.security import Actor, record, roles

SIDES = ("numerator", "denominator")
MAX_RECORDS_PAGE = 200


def records_behind(
    session: Session,
    actor: Actor,
    lake_root: Path,
    indicator: str,
    grain: str,
    unit_id: str,
    period: str,
    side: str = "numerator",
    limit: int = 50,
    offset: int = 0,
) -> RecordsPage:
    """The lake rows behind the numerator (or denominator) of an indicator at a unit in a
    period, ``limit`` rows of each measure from ``offset`` on, in month and key order.

    The rows name no person (``resident_key`` only); the read is audited all the same (see
    the module's note). A growth indicator has no rows of its own: its records are those of
    the indicator it grows from, in this period and the same period a year before.
    """
    actor.require(roles.AGGREGATE_READ)
    check_grain(grain)
    period_kind_of(period)
    _check_page(side, limit, offset)
    catalog = catalog_in_force(session)
    definition = indicator_of(catalog, indicator, grain)
    _check_side(definition, side)
    unit_in(units_of(lake_root, results_of(lake_root)), grain, unit_id)
    queries = records_sql(catalog, indicator, side, grain, unit_id, period, limit=None)
    with DuckDBEngine().connect(lake_files(lake_root)) as connection:
        measures = [
            _measure_records(connection, catalog.measures[code], sql, limit, offset)
            for code, sql in queries.items()
        ]
    shown = sum(len(m.rows) for m in measures)
    record(
        session,
        actor,
        "read",
        "lake_records",
        indicator,
        detail=f"{side} at {grain} {unit_id} in {period}: {shown} rows from {offset}",
    )
    return RecordsPage(indicator, side, grain, unit_id, period, limit, offset, measures)


def _check_page(side: str, limit: int, offset: int) -> None:
    if side not in SIDES:
        raise invalid_field(
            "side", "side is numerator or denominator", "side 应为 numerator 或 denominator"
        )
    if not 1 <= limit <= MAX_RECORDS_PAGE:
        raise invalid_field(
            "limit",
            f"limit is 1 to {MAX_RECORDS_PAGE} rows",
            f"每页行数应为 1 至 {MAX_RECORDS_PAGE}",
        )
    if offset < 0:
        raise invalid_field("offset", "offset may not be negative", "offset 不能为负数")


def _check_side(indicator: Indicator, side: str) -> None:
    if indicator.growth_of is not None:
        raise invalid_field(
            "indicator",
            f"{indicator.en} is a year-on-year growth: open the records of the indicator it "
            f"grows from ({indicator.growth_of}) for this period and a year before",
            f"「{indicator.zh}」是同比增长率：请查看其基础指标（{indicator.growth_of}）"
            "本期与上年同期的明细",
        )
    if side == "denominator" and indicator.denominator is None:
        raise invalid_field(
            "side",
            f"{indicator.en} has no denominator",
            f"「{indicator.zh}」没有分母",
        )


def _measure_records(
    connection: duckdb.DuckDBPyConnection, measure: Measure, sql: str, limit: int, offset: int
) -> MeasureRecords:
    dataset = DATASETS[measure.dataset]
    column = measure.column if measure.aggregate == "sum" else None
    summed = f"SUM({q(column)})" if column else "COUNT(*)"
    total, amount = connection.execute(f"SELECT COUNT(*), {summed} FROM ({sql})").fetchone()
    # The order again outside: a subquery's ORDER BY does not bind the rows that come out.
    order = ", ".join(q(c) for c in dict.fromkeys(("month", dataset.key)))
    cursor = connection.execute(
        f"SELECT * FROM ({sql}) ORDER BY {order} LIMIT ? OFFSET ?", [limit, offset]
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    return MeasureRecords(
        measure=measure.code,
        zh=measure.zh,
        en=measure.en,
        dataset=dataset.name,
        aggregate=measure.aggregate,
        column=column,
        amount=float(amount or 0),
        total=int(total),
        columns=list(dataset.names),
        rows=[{c: row.get(c) for c in dataset.names} for row in rows],
    )
