"""Computing the catalog over the lake, and the computed values saved beside it.

``compute_catalog`` takes the live files of every dataset from the lake's manifest and hands
them to an engine; ``save_results`` writes the RESULTS table to ``<lake>/_results/`` in one
rename, so a reader sees the previous values or the new ones, never half of them.
``effective_catalog`` is the built-in catalog with the bureau's saved versions laid over it.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti.analytics.catalog.model import (
    Catalog,
    builtin_catalog,
    indicator_from,
    measure_from,
)
from yigongti.analytics.engines import Engine, Files, engine_named
from yigongti.analytics.lake.schema import DATASETS
from yigongti.analytics.lake.store import Lake
from yigongti.analytics.models import IndicatorVersion
from yigongti.analytics.results import RESULTS
from yigongti.kernel import now

RESULTS_DIR = "_results"
RESULTS_FILE = "results.parquet"
COMPUTED_AT = b"computed_at"


def lake_files(lake_root: Path) -> Files:
    """The live Parquet files of every dataset, from one snapshot of the lake's manifest."""
    snapshot = Lake(Path(lake_root)).snapshot()
    return {name: snapshot.files(name) for name in DATASETS}


def compute_catalog(
    catalog: Catalog, lake_root: Path, county_code: str, engine: str | Engine = "duckdb"
) -> pa.Table:
    """Every indicator of ``catalog`` at its grains and periods over the lake (RESULTS)."""
    runner = engine_named(engine) if isinstance(engine, str) else engine
    return runner.compute(catalog, lake_files(lake_root), county_code)


def results_path(lake_root: Path) -> Path:
    """Where the computed values live: ``<lake>/_results/results.parquet``."""
    return Path(lake_root) / RESULTS_DIR / RESULTS_FILE


def save_results(lake_root: Path, table: pa.Table) -> datetime:
    """Write ``table`` (RESULTS) as the lake's computed values, atomically; the time it was
    computed is kept in the file's metadata and returned."""
    computed_at = now()
    path = results_path(lake_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.cast(RESULTS).replace_schema_metadata(
        {COMPUTED_AT: computed_at.isoformat().encode()}
    )
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "wb") as sink:
            pq.write_table(table, sink, compression="zstd")
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, path)  # readers see the old file or the new one, whole
    finally:
        temporary.unlink(missing_ok=True)
    return computed_at


def load_results(lake_root: Path) -> pa.Table | None:
    """The computed values (RESULTS), or None when nothing has been computed yet."""
    path = results_path(lake_root)
    if not path.exists():
        return None
    return pq.read_table(path)


def computed_at(lake_root: Path) -> datetime | None:
    """When the saved values were computed, or None when there are none."""
    path = results_path(lake_root)
    if not path.exists():
        return None
    metadata = pq.read_schema(path).metadata or {}
    stamp = metadata.get(COMPUTED_AT)
    return datetime.fromisoformat(stamp.decode()) if stamp else None


def effective_catalog(session: Session) -> Catalog:
    """The built-in catalog with the latest saved version of each code laid over it; codes the
    bureau added come after the built-in ones, in the order they were first saved."""
    catalog = builtin_catalog()
    rows = session.scalars(
        select(IndicatorVersion).order_by(IndicatorVersion.saved_at, IndicatorVersion.version)
    ).all()
    latest: dict[tuple[str, str], IndicatorVersion] = {}
    for row in rows:
        key = (row.kind, row.code)
        if key not in latest or row.version > latest[key].version:
            latest[key] = row
    measures = dict(catalog.measures)
    indicators = dict(catalog.indicators)
    for (kind, code), row in latest.items():
        definition = {**row.definition, "code": code, "version": row.version}
        if kind == "measure":
            measures[code] = measure_from(definition)
        else:
            indicators[code] = indicator_from(definition)
    return Catalog(measures, indicators)
