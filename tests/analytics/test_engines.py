"""The engine interface: engines by name, and Spark as an optional extra that DuckDB users
never import and whose absence is said plainly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from yigongti.analytics.engines import EngineUnavailable, engine_named
from yigongti.analytics.engines.duckdb import DuckDBEngine


def test_engines_are_chosen_by_name() -> None:
    assert isinstance(engine_named("duckdb"), DuckDBEngine)
    with pytest.raises(ValueError, match="unknown engine 'trino'; one of duckdb, spark"):
        engine_named("trino")


def test_computing_with_duckdb_does_not_import_pyspark() -> None:
    script = (
        "import sys\n"
        "from yigongti.analytics.compute import compute_catalog\n"
        "from yigongti.analytics.engines.duckdb import DuckDBEngine\n"
        "assert 'pyspark' not in sys.modules, 'pyspark was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_without_pyspark_the_spark_engine_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from yigongti.analytics.engines.spark import SparkEngine

    # A None entry makes ``import pyspark.sql`` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(EngineUnavailable, match=r"optional extra: pip install 'yigongti\[spark\]'"):
        SparkEngine()
