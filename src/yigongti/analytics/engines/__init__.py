"""Engines that compute the indicator catalog over the lake: DuckDB (the embedded default) and
Spark (local mode here, a cluster in a province), behind one interface.

Both run the same SQL (``catalog.compile``), DuckDB's text as written and Spark's as sqlglot
transpiled it, over views named after the lake's datasets, and both answer the RESULTS Arrow
table. ``engines.spark`` imports pyspark, an optional extra: nothing here imports it until a
Spark engine is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from yigongti.analytics.catalog.model import Catalog
from yigongti.analytics.lake.schema import DATASETS
from yigongti.analytics.results import RESULTS

ENGINES = ("duckdb", "spark")
Files = Mapping[str, Sequence[Path]]  # dataset -> its live Parquet files


class EngineUnavailable(RuntimeError):
    """The engine's library is not installed (pyspark is an optional extra)."""


class Engine(Protocol):
    """What computes the whole catalog from the lake's files."""

    name: str

    def compute(self, catalog: Catalog, files: Files, county_code: str) -> pa.Table:
        """Every indicator at its grains and periods, as a RESULTS table."""
        ...


def engine_named(name: str) -> Engine:
    """A new engine by name (``duckdb`` or ``spark``)."""
    if name == "duckdb":
        from yigongti.analytics.engines.duckdb import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from yigongti.analytics.engines.spark import SparkEngine

        return SparkEngine()
    raise ValueError(f"unknown engine {name!r}; one of {', '.join(ENGINES)}")


def empty_table(dataset: str) -> pa.Table:
    """A table of ``dataset``'s schema without rows: a dataset nobody has loaded yet."""
    return DATASETS[dataset].arrow_schema().empty_table()


ORDER = [(name, "ascending") for name in ("indicator", "grain", "unit_id", "period_kind", "period")]


def as_results(table: pa.Table) -> pa.Table:
    """An engine's answer in exactly the RESULTS schema (column order, types, nullability),
    sorted by indicator, grain, unit and period, so equal answers are equal tables."""
    return table.select(RESULTS.names).cast(RESULTS).sort_by(ORDER)


__all__ = [
    "ENGINES",
    "Engine",
    "EngineUnavailable",
    "Files",
    "as_results",
    "empty_table",
    "engine_named",
]
