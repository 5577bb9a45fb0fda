"""The whole bench: build (or reuse) the lake, time the catalog and the hand-written SQL in turn,
check every value equal, and report the figures.

DuckDB (the default): the compiled catalog on the DuckDB engine against the hand-written
DuckDB SQL over the same views, each run ``repeat`` times in alternation, medians quoted.
Spark: the catalog on the Spark engine (its session started before the clock) against the
same hand-written DuckDB SQL and the DuckDB catalog; ``equal`` then says all three agree.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from yigongti.analytics.catalog.model import builtin_catalog
from yigongti.analytics.compute import lake_files
from yigongti.analytics.engines.duckdb import DuckDBEngine
from yigongti.bench.indicators.handwritten import handwritten_results
from yigongti.bench.indicators.lake import Progress, _quiet, build_lake

COUNTY = "330784"
DEFAULT_ROWS = {"duckdb": 30_000_000, "spark": 2_000_000}
TOLERANCE = 1e-9  # relative; also absolute, for values at or near zero
VALUES = ("numerator", "denominator", "value", "yoy", "mom")
KEYS = ("indicator", "grain", "unit_id", "period_kind", "period")


def default_lake() -> Path:
    """Where the bench keeps its lake between runs (reused when rows and seed match)."""
    return Path(tempfile.gettempdir()) / "ygt-bench-indicators"


@dataclass(frozen=True)
class Comparison:
    """Two RESULTS tables side by side: values compared, those that differ, some examples."""

    values: int
    mismatches: int
    missing_rows: int  # rows one table has and the other lacks
    examples: list[dict[str, Any]]

    @property
    def equal(self) -> bool:
        """Every row in both, every value equal within the tolerance."""
        return self.mismatches == 0 and self.missing_rows == 0


def compare(left: pa.Table, right: pa.Table) -> Comparison:
    """Every value of ``left`` against ``right``, row by row on the key columns: equal when
    both are empty or they differ by at most 1e-9 relative (or absolute, near zero)."""
    con = duckdb.connect()
    con.register("a", left)
    con.register("b", right)
    on = " AND ".join(f"a.{k} = b.{k}" for k in KEYS)
    differs = " OR ".join(
        f"NOT (a.{v} IS NOT DISTINCT FROM b.{v} OR abs(a.{v} - b.{v}) <= "
        f"{TOLERANCE} * greatest(abs(a.{v}), abs(b.{v}), 1))"
        for v in VALUES
    )
    [(matched, differing)] = con.sql(
        f"SELECT count(*), count(*) FILTER ({differs}) FROM a JOIN b ON {on}"
    ).fetchall()
    missing = left.num_rows + right.num_rows - 2 * int(matched)
    examples = (
        con.sql(
            f"SELECT {', '.join('a.' + k for k in KEYS)}, "
            f"{', '.join(f'a.{v} AS a_{v}, b.{v} AS b_{v}' for v in VALUES)} "
            f"FROM a JOIN b ON {on} WHERE {differs} LIMIT 5"
        )
        .to_arrow_table()
        .to_pylist()
    )
    con.close()
    return Comparison(int(matched) * len(VALUES), int(differing), missing, examples)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _timed(work: Callable[[], pa.Table]) -> tuple[float, pa.Table]:
    began = time.perf_counter()
    table = work()
    return time.perf_counter() - began, table


def _handwritten(files: Any) -> pa.Table:
    with DuckDBEngine().connect(files) as con:
        return handwritten_results(con, COUNTY)


def run(
    rows: int | None = None,
    engine: str = "duckdb",
    lake_dir: Path | None = None,
    *,
    seed: int = 1,
    repeat: int = 3,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """The bench's figures (see the module's docstring); the lake stays for the next run."""
    if engine not in DEFAULT_ROWS:
        raise ValueError(f"engine must be duckdb or spark, not {engine!r}")
    rows = rows or DEFAULT_ROWS[engine]
    lake = build_lake(lake_dir or default_lake(), rows, seed, progress=progress)
    files = lake_files(lake.root)
    catalog = builtin_catalog()
    duck = DuckDBEngine()
    figures: dict[str, Any] = {
        "bench": "indicators",
        "engine": engine,
        "rows": lake.fee_lines,
        "requested_rows": rows,
        "lake": {**lake.counts},
        "lake_seconds": round(lake.seconds, 1),
        "lake_reused": lake.reused,
        "repeat": repeat,
        "load_before": round(os.getloadavg()[0], 2),
    }
    catalog_times: list[float] = []
    hand_times: list[float] = []
    spark = None
    if engine == "spark":
        from yigongti.analytics.engines.spark import SparkEngine

        spark = SparkEngine()
        progress("spark", 0, 1)
        spark.session  # noqa: B018 - start the session before the clock
        progress("spark", 1, 1)
    try:
        results = reference = None
        duck_times: list[float] = []
        for n in range(repeat):
            progress("compute", n, repeat)
            if spark is not None:
                seconds, results = _timed(lambda: spark.compute(catalog, files, COUNTY))
                duck_seconds, duck_results = _timed(lambda: duck.compute(catalog, files, COUNTY))
                duck_times.append(duck_seconds)
            else:
                seconds, results = _timed(lambda: duck.compute(catalog, files, COUNTY))
            catalog_times.append(seconds)
            hand_seconds, reference = _timed(lambda: _handwritten(files))
            hand_times.append(hand_seconds)
        progress("compute", repeat, repeat)
    finally:
        if spark is not None:
            spark.stop()
    assert results is not None and reference is not None
    comparison = compare(results, reference)
    if spark is not None:
        against_duckdb = compare(results, duck_results)
        figures["duckdb_catalog_seconds"] = _median(duck_times)
        figures["equal_to_duckdb_catalog"] = against_duckdb.equal
        comparison = Comparison(
            comparison.values,
            comparison.mismatches + against_duckdb.mismatches,
            comparison.missing_rows + against_duckdb.missing_rows,
            comparison.examples + against_duckdb.examples,
        )
    figures.update(
        {
            "catalog_seconds": _median(catalog_times),
            "handwritten_seconds": _median(hand_times),
            "catalog_runs": [round(t, 3) for t in catalog_times],
            "handwritten_runs": [round(t, 3) for t in hand_times],
            "result_rows": results.num_rows,
            "values": comparison.values,
            "mismatches": comparison.mismatches,
            "missing_rows": comparison.missing_rows,
            "equal": comparison.equal,
            "examples": comparison.examples,
        }
    )
    figures["ratio"] = (
        round(figures["catalog_seconds"] / figures["handwritten_seconds"], 3)
        if figures["handwritten_seconds"]
        else 0.0
    )
    return figures


@contextlib.contextmanager
def rich_progress() -> Iterator[Progress]:
    """A ``progress(stage, done, total)`` that draws rich progress bars on the terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bars

    with Bars(
        TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bars:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield progress
