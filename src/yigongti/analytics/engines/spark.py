"""The Spark engine: the catalog's SQL, transpiled by sqlglot, over ``spark.read.parquet`` views.

pyspark is an optional extra (``pip install 'yigongti[spark]'``); without it, making a
``SparkEngine`` raises ``EngineUnavailable`` saying so. Here Spark runs in local mode, started
on first use (10-15 s) and kept for the engine's life: UI off, session time zone UTC (as the
DuckDB engine), few shuffle partitions (a county's roll-ups are small; the scans are not
shuffled, only their per-institution-month groups). On a cluster, pass its ``master``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from yigongti.analytics.catalog.compile import compile_catalog, translate
from yigongti.analytics.catalog.model import Catalog
from yigongti.analytics.engines import EngineUnavailable, Files, as_results
from yigongti.analytics.lake.schema import DATASETS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructType

# Stages read more than once by the stages after them (see ``compute``).
_CACHED = ("measures", "all_values")


def _pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError as error:
        raise EngineUnavailable(
            "The Spark engine needs pyspark, an optional extra: pip install 'yigongti[spark]' "
            "(and Java 17 or later)"
        ) from error
    return pyspark.sql


def spark_schema(dataset: str) -> StructType:
    """The Spark schema of a dataset, from its Arrow schema."""
    types = _pyspark().types
    simple = {
        pa.string(): types.StringType(),
        pa.int64(): types.LongType(),
        pa.int32(): types.IntegerType(),
        pa.bool_(): types.BooleanType(),
        pa.date32(): types.DateType(),
        pa.float64(): types.DoubleType(),
    }
    fields = []
    for field in DATASETS[dataset].arrow_schema():
        if pa.types.is_timestamp(field.type):
            spark_type = types.TimestampType()
        else:
            spark_type = simple[field.type]
        fields.append(types.StructField(field.name, spark_type, field.nullable))
    return types.StructType(fields)


class SparkEngine:
    """Computes the catalog with Spark SQL; the session starts on first use."""

    name = "spark"

    def __init__(
        self,
        master: str = "local[2]",
        *,
        shuffle_partitions: int = 2,
        driver_memory: str = "2g",
        conf: dict[str, str] | None = None,
    ) -> None:
        _pyspark()  # fail here, where the engine is chosen, not at the first query
        self.master = master
        self.conf = {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": str(shuffle_partitions),
            "spark.driver.memory": driver_memory,
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            # The lake's manifest already names every file: Spark need not run a job to list
            # them (it does for more than 32 paths by default).
            "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
            **(conf or {}),
        }
        self._session: SparkSession | None = None

    @property
    def session(self) -> SparkSession:
        """The Spark session, started on first use."""
        if self._session is None:
            # Spark binds to the host's name otherwise, which a sandbox may not resolve.
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            builder = _pyspark().SparkSession.builder.master(self.master).appName("yigongti")
            for key, value in self.conf.items():
                builder = builder.config(key, value)
            self._session = builder.getOrCreate()
            self._session.sparkContext.setLogLevel("ERROR")
        return self._session

    def register(self, files: Files) -> None:
        """One temporary view per dataset over its files (empty, with its schema, if none)."""
        spark = self.session
        for name in DATASETS:
            schema = spark_schema(name)
            paths = [str(p) for p in files.get(name, ())]
            if paths:
                frame = spark.read.schema(schema).parquet(*paths)
            else:
                frame = spark.createDataFrame([], schema)
            frame.createOrReplaceTempView(name)

    def compute(self, catalog: Catalog, files: Files, county_code: str) -> pa.Table:
        """Every indicator at its grains and periods, as a RESULTS table.

        The compiled stages run one by one as temporary views. Spark inlines a common table
        expression wherever it is named, so the values' self-joins (growth, yoy, mom) would
        plan and scan the lake again for every reference; the small stages that are joined
        to themselves are cached instead, computed once and read from memory.
        """
        compiled = compile_catalog(catalog, county_code)
        self.register(files)
        spark = self.session
        cached = []
        for name, body in compiled.stages:
            frame = spark.sql(translate(body, "spark"))
            if name in _CACHED or name.startswith("values_"):
                frame = frame.cache()
                cached.append(frame)
            frame.createOrReplaceTempView(name)
        try:
            return as_results(spark.sql(translate(compiled.final, "spark")).toArrow())
        finally:
            for frame in cached:
                frame.unpersist()

    def stop(self) -> None:
        """Stop the Spark session (a new one starts if the engine is used again)."""
        if self._session is not None:
            self._session.stop()
            self._session = None
