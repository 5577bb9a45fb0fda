"""Report content from a small, fully known RESULTS table: values, comparisons, traffic
lights, which indicator goes in which section, and the ranking of member institutions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from yigongti.analytics.catalog.model import Catalog, Target, builtin_catalog
from yigongti.analytics.reports import (
    SECTIONS,
    Report,
    ReportRow,
    Unit,
    monthly_report,
    quarterly_bulletin,
)
from yigongti.analytics.results import RESULTS
from yigongti.kernel import Invalid, NotFound

COUNTY = Unit("county", "330784", "云岭县", (("inst-a", "甲镇卫生院"), ("inst-b", "乙镇卫生院")))
AT = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)


def results(*rows: tuple, version: int = 1) -> pa.Table:
    """RESULTS from ``(indicator, grain, unit_id, period, value, yoy, mom)`` tuples."""
    kinds = {7: "month", 6: "quarter", 4: "year"}
    return pa.Table.from_pylist(
        [
            {
                "indicator": indicator, "version": version, "grain": grain, "unit_id": unit_id,
                "period_kind": kinds[len(period)], "period": period, "numerator": None,
                "denominator": None, "value": value, "yoy": yoy, "mom": mom,
            }
            for indicator, grain, unit_id, period, value, yoy, mom in rows
        ],
        schema=RESULTS,
    )  # fmt: skip


def row_of(report: Report, code: str) -> ReportRow:
    for section in report.sections:
        for row in section.rows:
            if row.code == code:
                return row
    raise AssertionError(f"{code} is not in the report")


def section_of(report: Report, code: str) -> str:
    return next(s.zh for s in report.sections for r in s.rows if r.code == code)


MARCH = results(
    ("drug_share", "county", "330784", "2026-03", 28.5, 1.8, -0.4),
    ("drug_share", "county", "330784", "2025-03", 28.0, None, None),
    ("avg_outpatient_cost", "county", "330784", "2026-03", 182.35, 5.2, 1.1),
    ("avg_outpatient_cost", "county", "330784", "2025-03", 173.3, None, None),
    ("primary_visit_share", "county", "330784", "2026-03", 62.0, None, None),
    ("in_county_visit_rate", "county", "330784", "2026-03", 84.0, None, None),
    ("no_show_rate", "county", "330784", "2026-03", 9.0, None, None),
    ("drug_share", "institution", "inst-a", "2026-03", 35.0, None, None),
    ("drug_share", "institution", "inst-b", "2026-03", 25.0, None, None),
    ("no_show_rate", "institution", "inst-a", "2026-03", 4.0, None, None),
    ("no_show_rate", "institution", "inst-b", "2026-03", 12.0, None, None),
    ("drug_share", "institution", "inst-a", "2026-02", 20.0, None, None),
)


def test_a_row_shows_the_value_last_years_value_growth_target_and_traffic_light() -> None:
    report = monthly_report(MARCH, builtin_catalog(), COUNTY, "2026-03", at=AT)
    drug = row_of(report, "drug_share")
    assert (drug.name, drug.unit, drug.value, drug.last_year) == ("药占比", "%", 28.5, 28.0)
    assert (drug.yoy, drug.mom, drug.target, drug.alert) == (1.8, -0.4, 30.0, 33.0)
    assert drug.status == "green" and drug.status_zh == "达标"
    assert "药品收入" in drug.caliber and "89号" in drug.source
    cost = row_of(report, "avg_outpatient_cost")
    assert (cost.value, cost.last_year, cost.yoy) == (182.35, 173.3, 5.2)
    assert cost.status is None and cost.status_zh == ""  # no target for the absolute cost


def test_short_of_the_target_is_a_warning_and_past_the_threshold_is_not_met() -> None:
    report = monthly_report(MARCH, builtin_catalog(), COUNTY, "2026-03", at=AT)
    assert row_of(report, "primary_visit_share").status_zh == "预警"  # 62 < 65, above 60
    assert row_of(report, "in_county_visit_rate").status_zh == "未达标"  # 84 < 85
    assert row_of(report, "no_show_rate").status_zh == "预警"  # lower is better: 8 < 9 < 10


def test_sections_follow_the_section_table_and_every_applicable_indicator_is_listed() -> None:
    catalog = builtin_catalog()
    report = monthly_report(MARCH, catalog, COUNTY, "2026-03", at=AT)
    assert [s.zh for s in report.sections] == ["费用控制", "分级诊疗", "运营", "预约服务"]
    for spec, section in zip(SECTIONS, report.sections, strict=True):
        assert [r.code for r in section.rows] == [c for c in spec.indicators]
    assert section_of(report, "drug_share") == "费用控制"
    assert section_of(report, "primary_visit_share") == "分级诊疗"
    assert section_of(report, "asset_liability_ratio") == "运营"
    assert section_of(report, "on_time_rate") == "预约服务"
    # An indicator without a value this month is still listed, empty, not dropped.
    liability = row_of(report, "asset_liability_ratio")
    assert liability.value is None and liability.status is None


def test_an_institution_report_leaves_out_indicators_computed_only_for_communities() -> None:
    table = results(("drug_share", "institution", "inst-a", "2026-03", 31.0, None, None))
    unit = Unit("institution", "inst-a", "甲镇卫生院")
    report = monthly_report(table, builtin_catalog(), unit, "2026-03", at=AT)
    codes = {r.code for s in report.sections for r in s.rows}
    assert "drug_share" in codes
    assert "primary_visit_share" not in codes and "in_county_visit_rate" not in codes
    assert row_of(report, "drug_share").status_zh == "预警"
    assert report.ranking is None


def test_an_indicator_the_bureau_added_lands_in_other_indicators() -> None:
    catalog = builtin_catalog()
    added = replace(
        catalog.indicators["drug_share"],
        code="antibiotic_share",
        zh="抗菌药物使用率",
        targets={"2026": Target(40.0, 50.0)},
    )
    catalog = Catalog(catalog.measures, {**catalog.indicators, added.code: added})
    table = results(("antibiotic_share", "county", "330784", "2026-03", 55.0, None, None))
    report = monthly_report(table, catalog, COUNTY, "2026-03", at=AT)
    assert report.sections[-1].zh == "其他指标"
    assert [r.code for r in report.sections[-1].rows] == ["antibiotic_share"]
    assert row_of(report, "antibiotic_share").status_zh == "未达标"


def test_members_are_ranked_per_indicator_by_direction_and_overall_by_mean_place() -> None:
    report = monthly_report(MARCH, builtin_catalog(), COUNTY, "2026-03", at=AT)
    ranking = report.ranking
    assert ranking is not None
    codes = [i.code for i in ranking.indicators]
    drug, no_show = codes.index("drug_share"), codes.index("no_show_rate")
    a, b = sorted(ranking.rows, key=lambda r: r.unit_id)
    assert (a.ranks[drug], b.ranks[drug]) == (2, 1)  # lower drug share is better
    assert (a.ranks[no_show], b.ranks[no_show]) == (1, 2)
    assert a.mean_rank == b.mean_rank == 1.5 and a.rank == b.rank == 1  # a tie shares the place
    assert a.statuses[drug] == "red" and b.statuses[drug] == "green"
    assert a.values[drug] == 35.0  # March, not February's 20


def test_a_unit_without_values_in_the_month_has_no_report() -> None:
    unit = Unit("institution", "inst-c", "丙镇卫生院")
    with pytest.raises(NotFound) as raised:
        monthly_report(MARCH, builtin_catalog(), unit, "2026-03")
    assert "丙镇卫生院" in raised.value.zh


@pytest.mark.parametrize(
    "period", ["2026-3", "2026-13", "2026Q1", "202603", "2026-03 ", "2026-03\n", "２０２６-03"]
)
def test_a_malformed_month_is_refused_with_the_expected_shape(period: str) -> None:
    with pytest.raises(Invalid) as raised:
        monthly_report(MARCH, builtin_catalog(), COUNTY, period)
    assert raised.value.fields[0].field == "period" and "2026-03" in raised.value.zh


def test_the_quarterly_bulletin_reads_quarter_values_and_compares_with_the_quarter_before() -> None:
    table = results(
        ("drug_share", "county", "330784", "2026Q1", 31.0, 3.3, -2.0),
        ("drug_share", "county", "330784", "2025Q1", 30.0, None, None),
        ("drug_share", "county", "330784", "2026-03", 20.0, None, None),
    )
    report = quarterly_bulletin(table, builtin_catalog(), COUNTY, "2026Q1", at=AT)
    drug = row_of(report, "drug_share")
    assert (drug.value, drug.last_year, drug.yoy, drug.mom) == (31.0, 30.0, 3.3, -2.0)
    assert report.title == "云岭县2026年第1季度运行监测季度通报"
    with pytest.raises(Invalid):
        quarterly_bulletin(table, builtin_catalog(), COUNTY, "2026Q5")


def test_of_two_versions_of_an_indicator_the_higher_one_is_reported() -> None:
    table = results(("drug_share", "county", "330784", "2026-03", 29.0, None, None))
    newer = results(("drug_share", "county", "330784", "2026-03", 34.0, None, None), version=2)
    report = monthly_report(
        pa.concat_tables([newer, table]), builtin_catalog(), COUNTY, "2026-03", at=AT
    )
    assert row_of(report, "drug_share").value == 34.0


def test_the_report_names_its_unit_period_and_the_caliber_sources_it_used() -> None:
    report = monthly_report(MARCH, builtin_catalog(), COUNTY, "2026-03", at=AT)
    assert report.title == "云岭县2026年3月运行监测月报"
    assert report.period_label == "2026年3月" and report.generated_at == AT
    assert any("国卫体改发〔2015〕89号" in s for s in report.sources)
    assert len(report.sources) == len(set(report.sources))
