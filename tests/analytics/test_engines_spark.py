"""The whole built-in catalog, and conditions using every function a condition may, computed on
DuckDB and on Spark over the same small lake: every value equal.

One Spark session (local mode) serves the module; it takes 10-15 s to start.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_or_skip
from yigongti.analytics.catalog.model import builtin_catalog, indicator_from, measure_from
from yigongti.analytics.compute import lake_files
from yigongti.analytics.engines.duckdb import DuckDBEngine
from yigongti.bench.indicators import build_lake, compare
from yigongti.bench.indicators.lake import MONTHS

COUNTY = "330784"
# Conditions the built-in catalog does not use: functions, dates, timestamps, the institution's
# own kind beside the visit's, and a stock measure of a custom condition.
EXTRA_MEASURES = [
    {"code": "winter_hospital_visits", "zh": "冬季县级医院就诊", "en": "Winter hospital visits",
     "dataset": "visits", "aggregate": "count",
     "where": "month(started_at) IN (1, 2, 12) AND institution_kind = 'county_hospital'"},
    {"code": "circulatory_visits", "zh": "循环系统就诊", "en": "Circulatory visits",
     "dataset": "visits", "aggregate": "count",
     "where": "substr(diagnosis_code, 1, 1) = 'I' AND year(started_at) >= 2025"},
    {"code": "late_online_bookings", "zh": "下半月线上预约", "en": "Late-month online bookings",
     "dataset": "bookings", "aggregate": "count",
     "where": "coalesce(lower(channel), '') LIKE 'on%' AND day >= '2025-06-01' "
              "AND NOT on_time IS FALSE"},
    {"code": "big_debts", "zh": "大额负债", "en": "Large liabilities", "dataset": "finance",
     "aggregate": "sum", "column": "liabilities_fen", "stock": True,
     "where": "liabilities_fen BETWEEN 0 AND assets_fen * 2 / 3"},
]  # fmt: skip
EXTRA_INDICATORS = [
    ("winter_hospital_share", "winter_hospital_visits", "outpatient_visits + discharges"),
    ("circulatory_share", "circulatory_visits * 2 / 2", "outpatient_visits"),
    ("late_online_share", "late_online_bookings", "bookings - no_shows"),
    ("big_debt_ratio", "big_debts", "assets"),
]


def extended_catalog():  # type: ignore[no-untyped-def]
    catalog = builtin_catalog()
    template = catalog.indicators["drug_share"].as_dict()
    for data in EXTRA_MEASURES:
        catalog = catalog.with_measure(measure_from(data))
    for code, numerator, denominator in EXTRA_INDICATORS:
        catalog = catalog.with_indicator(
            indicator_from(
                {**template, "code": code, "numerator": numerator, "denominator": denominator}
            )
        )
    growth = {**template, "code": "circulatory_growth", "growth_of": "circulatory_share",
              "denominator": None}  # fmt: skip
    catalog = catalog.with_indicator(indicator_from({**growth, "numerator": None}))
    return catalog.with_indicator(
        indicator_from(
            {
                **growth,
                "code": "circulatory_acceleration",
                "numerator": None,
                "growth_of": "circulatory_growth",
            }
        )
    )


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    require_or_skip(shutil.which("java") is not None, "Java (for Spark)")
    from yigongti.analytics.engines.spark import SparkEngine

    engine = SparkEngine()
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def small_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Four institutions (a lead hospital and a clinic of one community, a center of the other
    # that misses June's finance report, a hospital outside both) over 13 months: a year-on-year
    # month, two quarters and two years to compare, in under 200 files.
    root = tmp_path_factory.mktemp("small-lake")
    build_lake(root, 4000, 3, members=(0, 2, 4, 18), months=MONTHS[:13])
    return root


def test_spark_computes_every_value_duckdb_computes(spark, small_lake: Path) -> None:  # type: ignore[no-untyped-def]
    catalog = extended_catalog()
    files = lake_files(small_lake)
    duck = DuckDBEngine().compute(catalog, files, COUNTY)
    sparked = spark.compute(catalog, files, COUNTY)
    comparison = compare(sparked, duck)
    assert comparison.equal, comparison.examples
    assert sparked.equals(duck)  # the same rows, in the same order, to the last bit
    computed = set(duck.column("indicator").to_pylist())
    # The growth of a growth needs three years of data; 15 months give it no rows (its SQL
    # still runs on both engines).
    assert computed == set(catalog.indicators) - {"circulatory_acceleration"}
    values = [v for v in duck.column("value").to_pylist() if v is not None]
    yoys = [v for v in duck.column("yoy").to_pylist() if v is not None]
    assert len(values) > 1000 and len(yoys) > 50  # the comparison compared numbers, not NULLs
