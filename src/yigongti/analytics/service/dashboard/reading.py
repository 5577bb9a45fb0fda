"""Reading the computed values and the lake's units, and the checks every use case shares."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from yigongti.analytics.catalog.model import Catalog, Indicator
from yigongti.analytics.compute import effective_catalog, load_results
from yigongti.analytics.lake.store import Lake
from yigongti.analytics.results import GRAINS, PERIOD_KINDS
from yigongti.analytics.service.dashboard.views import Unit, not_computed
from yigongti.kernel import NotFound, invalid_field

_PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|Q[1-4])?$")
GRAIN_ZH = {"institution": "机构", "community": "医共体", "county": "全县"}


def period_kind_of(period: str) -> str:
    """The kind of a period: ``month`` (2026-03), ``quarter`` (2026Q1) or ``year`` (2026).

    ``Invalid`` (field ``period``) for anything else.
    """
    if not _PERIOD.match(period):
        raise invalid_field(
            "period",
            f"Not a period: {period!r}; use a month 2026-03, a quarter 2026Q1 or a year 2026",
            f"期间格式不对：{period!r}；请写月份 2026-03、季度 2026Q1 或年份 2026",
        )
    return "month" if "-" in period else "quarter" if "Q" in period else "year"


def check_kind(period_kind: str) -> None:
    """``Invalid`` (field ``period_kind``) unless it is month, quarter or year."""
    if period_kind not in PERIOD_KINDS:
        raise invalid_field(
            "period_kind",
            f"Unknown period kind {period_kind!r}: use month, quarter or year",
            f"期间类型 {period_kind!r} 无效：应为 month、quarter 或 year",
        )


def check_grain(grain: str) -> None:
    """``Invalid`` (field ``grain``) unless it is institution, community or county."""
    if grain not in GRAINS:
        raise invalid_field(
            "grain",
            f"Unknown grain {grain!r}: use institution, community or county",
            f"统计层级 {grain!r} 无效：应为 institution、community 或 county",
        )


def indicator_of(catalog: Catalog, code: str, grain: str | None = None) -> Indicator:
    """The catalog's indicator ``code``; ``Invalid`` if there is none or it has no values at
    ``grain`` (an in-county visit rate is a county figure only)."""
    indicator = catalog.indicators.get(code)
    if indicator is None:
        raise invalid_field(
            "indicator", f"Unknown indicator: {code!r}", f"指标目录中没有该指标：{code!r}"
        )
    if grain is not None and grain not in indicator.grains:
        raise invalid_field(
            "grain",
            f"{indicator.en} is not computed per {grain}",
            f"指标「{indicator.zh}」不按{GRAIN_ZH.get(grain, grain)}计算",
        )
    return indicator


def catalog_in_force(session: Session) -> Catalog:
    """The catalog in force: the built-in one with the bureau's saved versions."""
    return effective_catalog(session)


def results_of(lake_root: Path) -> pa.Table:
    """The computed values (RESULTS); ``NotComputed`` before the first compute."""
    table = load_results(lake_root)
    if table is None or table.num_rows == 0:
        raise not_computed()
    return table


def rows_where(table: pa.Table, **equals: str) -> list[dict[str, Any]]:
    """The rows of ``table`` whose columns equal the given values."""
    mask = None
    for column, value in equals.items():
        test = pc.equal(table[column], value)
        mask = test if mask is None else pc.and_(mask, test)
    return (table if mask is None else table.filter(mask)).to_pylist()


def units_of(lake_root: Path, results: pa.Table) -> dict[str, Unit]:
    """Every unit by id: the county (as the results name it) and the lake's institutions and
    communities (from its ``institutions`` dimension)."""
    files = Lake(lake_root).files("institutions")
    if not files:
        raise not_computed()
    units: dict[str, Unit] = {}
    for row in rows_where(results, grain="county", period_kind="year")[:1]:
        units[row["unit_id"]] = Unit("county", row["unit_id"], None)
    for row in pq.read_table(files).to_pylist():
        community = row.get("community_id")
        if community and community not in units:
            units[community] = Unit("community", community, row.get("community_name"))
        units[row["institution_id"]] = Unit(
            "institution",
            row["institution_id"],
            row["name"],
            tier=row["tier"],
            community_id=community,
            community_name=row.get("community_name"),
        )
    return units


def unit_in(units: dict[str, Unit], grain: str, unit_id: str) -> Unit:
    """The unit ``unit_id`` of ``grain``; ``NotFound`` if the lake has none."""
    unit = units.get(unit_id)
    if unit is None or unit.grain != grain:
        raise NotFound(
            en=f"No {grain} {unit_id!r} in the data center",
            zh=f"数据中心中没有该{GRAIN_ZH.get(grain, grain)}：{unit_id!r}",
        )
    return unit


def county_in(units: dict[str, Unit]) -> Unit:
    """The county among ``units``."""
    for unit in units.values():
        if unit.grain == "county":
            return unit
    raise not_computed()
