"""The annual assessment: the scoring rule per direction, renormalised weights when a target
or a value is missing, ranks with ties, weight checks, and its sheet and table."""

from __future__ import annotations

from dataclasses import replace
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests.analytics.test_reports import AT, results
from yigongti.analytics.catalog.model import Catalog, Target, builtin_catalog
from yigongti.analytics.reports import (
    DEFAULT_WEIGHTS,
    annual_assessment,
    assessment_document,
    assessment_xlsx,
    attainment,
)
from yigongti.kernel import Invalid, NotFound

CATALOG = builtin_catalog()
DRUG = CATALOG.indicators["drug_share"]  # lower is better: target 30, alert 33
SERVICE = CATALOG.indicators["service_revenue_share"]  # higher is better: target 30, alert 25


@pytest.mark.parametrize(
    ("value", "expected"),
    [(28.0, 1.0), (30.0, 1.0), (31.5, 0.5), (32.4, 0.2), (33.0, 0.0), (40.0, 0.0)],
)
def test_lower_is_better_full_at_target_zero_at_threshold_linear_between(
    value: float, expected: float
) -> None:
    assert attainment(DRUG, Target(30.0, 33.0), value) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(35.0, 1.0), (30.0, 1.0), (27.5, 0.5), (26.0, 0.2), (25.0, 0.0), (10.0, 0.0)],
)
def test_higher_is_better_full_at_target_zero_at_threshold_linear_between(
    value: float, expected: float
) -> None:
    assert attainment(SERVICE, Target(30.0, 25.0), value) == pytest.approx(expected)


def test_without_an_alert_threshold_the_target_is_met_or_not() -> None:
    assert attainment(DRUG, Target(30.0, None), 30.0) == 1.0
    assert attainment(DRUG, Target(30.0, None), 30.1) == 0.0


YEAR = results(
    # a: drug share 31.5 (0.5), service share 35 (1.0)
    ("drug_share", "institution", "a", "2026", 31.5, None, None),
    ("service_revenue_share", "institution", "a", "2026", 35.0, None, None),
    # b: drug share 28 (1.0), service share 27.5 (0.5)
    ("drug_share", "institution", "b", "2026", 28.0, None, None),
    ("service_revenue_share", "institution", "b", "2026", 27.5, None, None),
    # c: only a drug share, at the threshold (0.0)
    ("drug_share", "institution", "c", "2026", 33.0, None, None),
    # d: no value at all; e: a value only for an indicator without a target
    ("drug_share", "institution", "d", "2026", None, None, None),
    ("avg_outpatient_cost", "institution", "e", "2026", 150.0, None, None),
    # a month of 2026 is not the year
    ("drug_share", "institution", "f", "2026-03", 28.0, None, None),
)


def test_totals_weigh_each_indicator_and_equal_totals_share_a_place() -> None:
    weights = {"drug_share": 1.0, "service_revenue_share": 1.0}
    rows = annual_assessment(YEAR, CATALOG, 2026, weights, names={"a": "甲", "b": "乙"})
    by_unit = {r.unit_id: r for r in rows}
    assert set(by_unit) == {"a", "b", "c"}  # d, e and f have nothing to score in 2026
    assert by_unit["a"].total == pytest.approx(75.0) and by_unit["b"].total == pytest.approx(75.0)
    assert by_unit["a"].rank == by_unit["b"].rank == 1 and by_unit["c"].rank == 3
    assert rows[-1].unit_id == "c"  # best first
    assert by_unit["a"].name == "甲" and by_unit["c"].name == "c"


def test_an_indicator_without_a_value_is_left_out_and_the_weights_renormalised() -> None:
    weights = {"drug_share": 3.0, "service_revenue_share": 1.0}
    rows = {r.unit_id: r for r in annual_assessment(YEAR, CATALOG, "2026", weights)}
    a = rows["a"]
    assert [(s.indicator, s.weight) for s in a.scores] == [
        ("drug_share", 0.75),
        ("service_revenue_share", 0.25),
    ]
    assert a.total == pytest.approx(100 * (0.75 * 0.5 + 0.25 * 1.0))  # 62.5
    c = rows["c"]  # only the drug share: it carries all the weight, and it scored zero
    assert [(s.indicator, s.weight) for s in c.scores] == [("drug_share", 1.0)]
    assert c.total == 0.0 and c.left_out == ("service_revenue_share",)
    assert rows["b"].total == pytest.approx(100 * (0.75 * 1.0 + 0.25 * 0.5))  # 87.5
    assert rows["b"].rank == 1 and a.rank == 2 and c.rank == 3


def test_an_indicator_without_a_target_for_the_year_is_not_weighted() -> None:
    later = replace(DRUG, targets={"2027": Target(30.0, 33.0)})  # a target from 2027 only
    catalog = Catalog(CATALOG.measures, {**CATALOG.indicators, "drug_share": later})
    weights = {"drug_share": 1.0, "service_revenue_share": 1.0}
    rows = {r.unit_id: r for r in annual_assessment(YEAR, catalog, 2026, weights)}
    assert set(rows) == {"a", "b"}  # c had only the drug share
    assert [s.indicator for s in rows["a"].scores] == ["service_revenue_share"]
    assert rows["a"].total == 100.0 and rows["a"].left_out == ()


def test_the_default_weights_are_data_over_the_catalogs_indicators() -> None:
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(100.0)
    assert set(DEFAULT_WEIGHTS) <= set(CATALOG.indicators)
    rows = {r.unit_id: r for r in annual_assessment(YEAR, CATALOG, 2026)}
    a = rows["a"]  # drug share 12 and service share 10 of the defaults
    assert a.total == pytest.approx(100 * (12 * 0.5 + 10 * 1.0) / 22)
    assert sum(s.weight for s in a.scores) == pytest.approx(1.0)
    assert "primary_visit_share" not in {s.indicator for s in a.scores}  # not an institution's


@pytest.mark.parametrize(
    "weights",
    [
        {"drug_share": -1.0},
        {"drug_share": 0.0},
        {"no_such_indicator": 5.0},
        {"drug_share": float("nan")},
    ],
)
def test_weights_must_name_known_indicators_and_be_non_negative_with_one_above_zero(
    weights: dict[str, float],
) -> None:
    with pytest.raises(Invalid) as raised:
        annual_assessment(YEAR, CATALOG, 2026, weights)
    assert raised.value.fields[0].field == "weights"


def test_a_year_without_values_has_no_assessment_and_a_malformed_year_is_refused() -> None:
    with pytest.raises(NotFound):
        annual_assessment(YEAR, CATALOG, 2025)
    with pytest.raises(Invalid) as raised:
        annual_assessment(YEAR, CATALOG, "26")
    assert raised.value.fields[0].field == "year"


def test_the_assessment_workbook_has_the_scores_sheet_with_ranks_and_points() -> None:
    weights = {"drug_share": 3.0, "service_revenue_share": 1.0}
    document = assessment_document(
        YEAR, CATALOG, 2026, weights, area="云岭县", names={"a": "甲", "b": "乙", "c": "丙"}, at=AT
    )
    wb = load_workbook(BytesIO(assessment_xlsx(document)))
    assert wb.sheetnames == ["封面", "年度考核", "考核明细", "权重与规则"]
    ws = wb["年度考核"]
    headers = [c.value for c in ws[1]]
    assert headers[:5] == ["名次", "单位", "总分", "计分指标数", "未计分指标"]
    assert headers[5:] == ["药占比得分", "医疗服务收入占比得分"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert [r[:3] for r in rows] == [[1, "乙", 87.5], [2, "甲", 62.5], [3, "丙", 0]]
    assert rows[2][4] == "医疗服务收入占比"
    assert ws.cell(2, 3).number_format == "0.00" and ws.freeze_panes == "A2"
    assert wb["封面"]["A1"].value == "云岭县2026年度机构考核"
    rules = [r[0] for r in wb["权重与规则"].iter_rows(values_only=True) if r[0]]
    assert any("重新归一" in str(line) for line in rules)
