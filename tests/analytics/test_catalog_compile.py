"""The compiled catalog on a lake of a few rows whose values are worked out by hand.

Four institutions: a county hospital H and a township center T in community C1, a village
clinic V in C2, and a county hospital X outside every community. Fees, visits, finance and one
out-of-county stay in January-March 2025 and January 2026; no bookings at all.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from yigongti.analytics.catalog.compile import CatalogError, catalog_sql, records_sql
from yigongti.analytics.catalog.model import builtin_catalog
from yigongti.analytics.compute import (
    compute_catalog,
    computed_at,
    lake_files,
    load_results,
    save_results,
)
from yigongti.analytics.engines.duckdb import DuckDBEngine
from yigongti.analytics.lake.schema import DATASETS
from yigongti.analytics.lake.store import Lake, split_by
from yigongti.analytics.results import RESULTS

COUNTY = "330784"
CATALOG = builtin_catalog()


def write_lake(root: Path, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Rows of each dataset written through the lake's writer, one file per month and
    institution as an export writes them."""
    with Lake(root).transaction() as tx:
        for name, rows in tables.items():
            dataset = DATASETS[name]
            columns = {c: [row.get(c) for row in rows] for c in dataset.names}
            table = pa.table(columns, schema=dataset.arrow_schema())
            if name == "institutions":
                tx.write_table(name, table, None, None, "institutions")
                continue
            for month, part in split_by(table, "month"):
                if not dataset.by_institution:
                    tx.write_table(name, part, month, None, f"export-{month}")
                    continue
                for institution, rows_of in split_by(part, "institution_id"):
                    tx.write_table(name, rows_of, month, institution, f"export-{month}")


def institution(id_: str, tier: str, kind: str, community: str | None) -> dict[str, Any]:
    return {
        "institution_id": id_, "code": id_, "name": id_, "tier": tier, "kind": kind,
        "ownership": "public", "community_id": community, "community_name": community,
    }  # fmt: skip


def fee(n: int, inst: str, month: str, category: str, fen: int, kind: str = "outpatient") -> dict:
    return {
        "line_id": f"L{n}", "visit_id": f"V{n}", "institution_id": inst, "month": month,
        "kind": kind, "category": category, "amount_fen": fen,
    }  # fmt: skip


def visits(inst: str, month: str, kind: str, count: int, start: int) -> list[dict[str, Any]]:
    at = datetime(int(month[:4]), int(month[5:7]), 10, tzinfo=UTC)
    return [
        {
            "visit_id": f"{inst}-{month}-{kind}-{start + n}",
            "institution_id": inst,
            "month": month,
            "resident_key": f"R{start + n}",
            "kind": kind,
            "started_at": at,
            "diagnosis_code": "I10",
            "total_fen": 0,
            "referral": "up" if kind == "inpatient" and n == 0 else None,
        }
        for n in range(count)
    ]


def finance(inst: str, month: str, assets: int, liabilities: int) -> dict[str, Any]:
    return {
        "institution_id": inst,
        "month": month,
        "assets_fen": assets,
        "liabilities_fen": liabilities,
    }


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    write_lake(
        root,
        {
            "institutions": [
                institution("H", "county", "county_hospital", "C1"),
                institution("T", "township", "township_center", "C1"),
                institution("V", "village", "village_clinic", "C2"),
                institution("X", "county", "county_hospital", None),
            ],
            "fees": [
                fee(1, "H", "2025-01", "drug", 300),
                fee(2, "H", "2025-01", "service", 500),
                fee(3, "H", "2025-01", "exam", 200),
                fee(4, "H", "2025-02", "drug", 100),
                fee(5, "H", "2025-02", "consumable", 100),
                fee(6, "T", "2025-01", "drug", 50),
                fee(7, "T", "2025-01", "lab", 50),
                fee(8, "V", "2025-01", "drug", 80),
                fee(9, "X", "2025-01", "drug", 10),
                fee(10, "X", "2025-01", "service", 90),
                fee(11, "H", "2026-01", "drug", 600),
                fee(12, "H", "2026-01", "service", 400),
            ],
            "visits": visits("H", "2025-01", "outpatient", 4, 0)
            + visits("H", "2025-01", "inpatient", 3, 10)
            + visits("H", "2026-01", "outpatient", 5, 20)
            + visits("T", "2025-01", "outpatient", 2, 30)
            + visits("V", "2025-01", "outpatient", 1, 40),
            "finance": [
                finance("H", "2025-01", 1000, 400),
                finance("H", "2025-02", 1100, 440),
                finance("T", "2025-01", 500, 100),
                finance("T", "2025-03", 600, 300),
            ],
            "outside_stays": [
                {
                    "settlement_id": "S1",
                    "month": "2025-01",
                    "resident_key": "R99",
                    "hospital_name": "省人民医院",
                    "hospital_region": "杭州市",
                    "admitted_on": datetime(2025, 1, 3).date(),
                    "discharged_on": datetime(2025, 1, 9).date(),
                    "amount_fen": 900000,
                }
            ],
        },
    )
    return root


@pytest.fixture(scope="module")
def results(lake: Path) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    table = compute_catalog(CATALOG, lake, COUNTY)
    assert table.schema == RESULTS
    return {(r["indicator"], r["unit_id"], r["period"], r["grain"]): r for r in table.to_pylist()}


def value(results: dict, indicator: str, unit: str, period: str, grain: str = "institution") -> Any:
    return results[(indicator, unit, period, grain)]


def test_drug_share_is_drug_revenue_over_medical_revenue(results: dict) -> None:
    row = value(results, "drug_share", "H", "2025-01")
    assert (row["numerator"], row["denominator"], row["value"]) == (300, 1000, 30.0)
    assert row["period_kind"] == "month" and row["version"] == 1
    assert value(results, "drug_share", "C1", "2025-01", "community")["value"] == pytest.approx(
        350 / 1100 * 100
    )
    assert value(results, "drug_share", COUNTY, "2025-01", "county")["value"] == pytest.approx(
        440 / 1280 * 100
    )


def test_a_quarter_and_a_year_sum_their_months(results: dict) -> None:
    assert value(results, "drug_share", "H", "2025Q1")["value"] == pytest.approx(400 / 1200 * 100)
    assert value(results, "drug_share", "H", "2025")["period_kind"] == "year"
    assert value(results, "medical_revenue_total", "H", "2025")["value"] == pytest.approx(0.0012)


def test_averages_divide_revenue_by_visits_in_yuan(results: dict) -> None:
    assert value(results, "avg_outpatient_cost", "H", "2025-01")["value"] == pytest.approx(2.5)
    assert value(results, "avg_outpatient_cost", "H", "2026-01")["value"] == pytest.approx(2.0)
    # Three discharges, no inpatient fee lines: zero revenue, an average of zero.
    assert value(results, "avg_inpatient_cost", "H", "2025-01")["value"] == 0.0


def test_growth_is_the_year_on_year_change_of_the_indicator_it_names(results: dict) -> None:
    growth = value(results, "avg_outpatient_cost_growth", "H", "2026-01")
    assert (growth["numerator"], growth["denominator"]) == pytest.approx((2.0, 2.5))
    assert growth["value"] == pytest.approx(-20.0)
    total = value(results, "total_cost_growth", "H", "2026Q1")
    assert total["value"] == pytest.approx((1000 - 1200) / 1200 * 100)
    # No growth without the same period a year before.
    assert ("total_cost_growth", "H", "2025-01", "institution") not in results


def test_yoy_and_mom_compare_with_a_year_and_a_period_before(results: dict) -> None:
    january = value(results, "drug_share", "H", "2026-01")
    assert january["yoy"] == pytest.approx((60 - 30) / 30 * 100)
    assert january["mom"] is None  # no December 2025
    february = value(results, "drug_share", "H", "2025-02")
    assert february["mom"] == pytest.approx((50 - 30) / 30 * 100)
    assert february["yoy"] is None
    quarter = value(results, "drug_share", "H", "2026Q1")
    assert quarter["yoy"] == pytest.approx((60 - 100 / 3) / (100 / 3) * 100)
    year = value(results, "drug_share", "H", "2026")
    assert year["yoy"] == year["mom"] == pytest.approx((60 - 100 / 3) / (100 / 3) * 100)


def test_a_zero_denominator_gives_an_empty_value_not_an_error(results: dict) -> None:
    row = value(results, "consumables_per_100", "V", "2025-01")  # all of V's revenue is drugs
    assert (row["numerator"], row["denominator"], row["value"]) == (0, 0, None)
    # Down-referrals of zero a year before: no growth percentage.
    assert value(results, "down_referrals", "H", "2026-01")["yoy"] is None
    assert value(results, "up_referrals", "H", "2026-01")["yoy"] == -100.0


def test_a_balance_is_the_last_reported_month_of_the_period(results: dict) -> None:
    assert value(results, "asset_liability_ratio", "H", "2025Q1")["value"] == pytest.approx(40.0)
    assert value(results, "asset_liability_ratio", "T", "2025Q1")["value"] == pytest.approx(50.0)
    community = value(results, "asset_liability_ratio", "C1", "2025Q1", "community")
    assert (community["numerator"], community["denominator"]) == (740, 1700)
    assert value(results, "asset_liability_ratio", "C1", "2025", "community")["value"] == (
        pytest.approx(740 / 1700 * 100)
    )
    # A month without a report has no balance of its own.
    assert ("asset_liability_ratio", "H", "2025-03", "institution") not in results


def test_primary_care_share_counts_township_and_village_visits(results: dict) -> None:
    c1 = value(results, "primary_visit_share", "C1", "2025-01", "community")
    assert (c1["numerator"], c1["denominator"]) == (2, 6)
    county = value(results, "primary_visit_share", COUNTY, "2025-01", "county")
    assert county["value"] == pytest.approx(3 / 7 * 100)
    assert ("primary_visit_share", "H", "2025-01", "institution") not in results  # not per unit


def test_the_in_county_rate_adds_stays_outside_the_county(results: dict) -> None:
    row = value(results, "in_county_visit_rate", COUNTY, "2025-01", "county")
    assert (row["numerator"], row["denominator"], row["value"]) == (3, 4, 75.0)
    assert not [k for k in results if k[0] == "in_county_visit_rate" and k[3] != "county"]


def test_an_institution_outside_every_community_counts_for_the_county_only(results: dict) -> None:
    assert value(results, "drug_share", "X", "2025-01")["value"] == 10.0
    communities = {k[1] for k in results if k[3] == "community"}
    assert communities == {"C1", "C2"}


def test_a_dataset_without_files_gives_no_values_and_no_error(results: dict) -> None:
    assert not [k for k in results if k[0] == "online_booking_share"]


def test_an_empty_lake_computes_to_no_rows(tmp_path: Path) -> None:
    table = compute_catalog(CATALOG, tmp_path, COUNTY)
    assert table.num_rows == 0 and table.schema == RESULTS


def test_a_condition_with_a_quote_is_escaped_not_executed(lake: Path) -> None:
    where = "kind IN ('outpatient', 'emergency') AND coalesce(department, '') <> 'o''x'"
    odd = replace(CATALOG.measures["outpatient_visits"], where=where)
    catalog = CATALOG.with_measure(odd)
    sql = catalog_sql(catalog, COUNTY)
    assert "'o''x'" in sql
    DuckDBEngine().compute(catalog, lake_files(lake), "33'0")  # the county code is quoted too


def test_a_catalog_that_fails_its_checks_is_not_compiled() -> None:
    catalog = CATALOG.with_measure(replace(CATALOG.measures["drug_revenue"], where="amount > 1"))
    with pytest.raises(CatalogError, match=r"drug_revenue\.where: unknown column amount"):
        catalog_sql(catalog, COUNTY)


def test_the_same_sql_reads_in_spark_dialect() -> None:
    spark = catalog_sql(CATALOG, COUNTY, "spark")
    assert "MAX_BY(" in spark and "`m_drug_revenue`" in spark


def test_drill_down_lists_the_rows_behind_a_numerator(lake: Path) -> None:
    rows = DuckDBEngine().records(
        CATALOG, lake_files(lake), "drug_share", "numerator", "community", "C1", "2025Q1"
    )
    assert sorted(rows) == ["drug_revenue"]
    assert sorted(rows["drug_revenue"].column("line_id").to_pylist()) == ["L1", "L4", "L6"]


def test_drill_down_of_a_balance_lists_the_last_reported_month(lake: Path) -> None:
    rows = DuckDBEngine().records(
        CATALOG, lake_files(lake), "asset_liability_ratio", "denominator", "institution", "H",
        "2025Q1",
    )  # fmt: skip
    assert rows["assets"].column("month").to_pylist() == ["2025-02"]


def test_drill_down_of_a_sum_of_measures_gives_each_measures_rows() -> None:
    queries = records_sql(
        CATALOG, "in_county_visit_rate", "denominator", "county", COUNTY, "2025-01"
    )
    assert sorted(queries) == ["discharges", "outside_stays"]
    with pytest.raises(ValueError, match="growth of medical_revenue_total"):
        records_sql(CATALOG, "total_cost_growth", "numerator", "county", COUNTY, "2026")


def test_saved_results_are_read_back_with_the_time_they_were_computed(lake: Path) -> None:
    assert load_results(lake) is None and computed_at(lake) is None
    table = compute_catalog(CATALOG, lake, COUNTY)
    stamp = save_results(lake, table)
    loaded = load_results(lake)
    assert loaded is not None and loaded.equals(table)
    assert computed_at(lake) == stamp
    assert not list((lake / "_results").glob(".*"))  # no temporary file left behind


def test_status_of_reads_the_target_on_the_side_direction_says_is_worse() -> None:
    drug_share = CATALOG.indicators["drug_share"]  # lower is better: target 30, alert 33
    assert drug_share.status_of("2026-03", 28.0) == "green"
    assert drug_share.status_of("2026-03", 31.0) == "amber"
    assert drug_share.status_of("2026-03", 34.0) == "red"
    primary = CATALOG.indicators["primary_visit_share"]  # higher is better: target 65, alert 60
    assert primary.status_of("2026", 66.0) == "green"
    assert primary.status_of("2026", 59.0) == "red"
    assert primary.status_of("2026", None) is None
    assert CATALOG.indicators["up_referrals"].status_of("2026", 5.0) is None  # no target
