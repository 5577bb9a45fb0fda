"""The DuckDB engine: the catalog's SQL over ``read_parquet`` views, in one embedded process."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from yigongti.analytics.catalog.compile import catalog_sql, lit, records_sql
from yigongti.analytics.catalog.model import Catalog
from yigongti.analytics.engines import Files, as_results, empty_table
from yigongti.analytics.lake.schema import DATASETS


class DuckDBEngine:
    """Computes the catalog with DuckDB; each call opens its own in-memory database."""

    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.threads = threads
        self.memory_limit = memory_limit

    def connect(self, files: Files) -> duckdb.DuckDBPyConnection:
        """An in-memory database with one view per dataset over its files (empty if none)."""
        config: dict[str, str | int] = {}
        if self.threads:
            config["threads"] = self.threads
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        con = duckdb.connect(":memory:", config=config)
        # Spark runs with its session time zone at UTC: year() and month() of a timestamp
        # must read the same calendar in both.
        con.execute("SET TimeZone = 'UTC'")
        for name in DATASETS:
            paths = [str(Path(p)) for p in files.get(name, ())]
            if not paths:
                con.register(name, empty_table(name))
                continue
            # The month and institution are columns of every file; the folders that repeat
            # them (month=…/institution=…) must not be read as extra columns.
            listing = ", ".join(lit(p) for p in paths)
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listing}], "
                "hive_partitioning = false)"
            )
        return con

    def compute(self, catalog: Catalog, files: Files, county_code: str) -> pa.Table:
        """Every indicator at its grains and periods, as a RESULTS table."""
        sql = catalog_sql(catalog, county_code, "duckdb")
        with self.connect(files) as con:
            return as_results(con.sql(sql).to_arrow_table())

    def records(
        self,
        catalog: Catalog,
        files: Files,
        indicator: str,
        side: str,
        grain: str,
        unit_id: str,
        period: str,
        *,
        limit: int | None = 1000,
    ) -> dict[str, pa.Table]:
        """The lake rows behind one side of a value, per measure (see ``records_sql``)."""
        queries = records_sql(catalog, indicator, side, grain, unit_id, period, limit=limit)
        with self.connect(files) as con:
            return {code: con.sql(sql).to_arrow_table() for code, sql in queries.items()}
