"""The catalog's checks: what the bureau types in the indicator page is refused before it is
saved, each kind of mistake with a message that names it; a good definition passes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from yigongti.analytics.catalog.check import (
    check_catalog,
    check_indicator,
    check_measure,
    read_indicator,
    read_measure,
)
from yigongti.analytics.catalog.model import Catalog, Target, builtin_catalog

CATALOG = builtin_catalog()
DRUG = CATALOG.measures["drug_revenue"]
BOOKINGS = CATALOG.measures["bookings"]
DRUG_SHARE = CATALOG.indicators["drug_share"]
GROWTH = CATALOG.indicators["total_cost_growth"]


def english(problems: list) -> str:
    return " | ".join(p.en for p in problems)


def test_the_built_in_catalog_passes_every_check() -> None:
    assert check_catalog(CATALOG) == []


@pytest.mark.parametrize(
    "where",
    [
        "category = 'drug' AND kind IN ('outpatient', 'emergency')",
        "tier IN ('township', 'village') AND NOT ownership = 'private'",
        "institution_kind = 'county_hospital'",  # the institution's kind beside the visit's
        "month >= '2025-07' AND amount_fen BETWEEN 100 AND 50000",
        "coalesce(lower(category), 'x') LIKE 'dr%' OR (amount_fen + 1) / 2 > 3",
        "community_id IS NOT NULL",
    ],
)
def test_a_good_condition_is_accepted(where: str) -> None:
    assert check_measure(replace(DRUG, where=where), CATALOG) == []


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("amount > 100", "unknown column amount: fees has line_id, visit_id"),
        ("category = 1", "type mismatch: category is text but 1 is a number (quote text"),
        ("amount_fen = 'big'", "amount_fen is a number but 'big' is text"),
        ("amount_fen LIKE '1%'", "LIKE needs text, but amount_fen is a number"),
        ("category", "a condition must be true or false, but category is text"),
        ("category IN (SELECT category FROM fees)", "IN takes a list of values, not a subquery"),
        ("SUM(amount_fen) > 100", "no aggregates in a condition (SUM(amount_fen))"),
        ("category = 'drug'; DROP TABLE fees", "one condition only: no semicolons"),
        ("category = 'drugs'", "category has no value 'drugs': its values are drug, exam"),
        ("read_csv('x') IS NULL", "function read_csv is not allowed; allowed: coalesce"),
        ("d.category = 'drug'", "name columns without a table: write category"),
        ("amount_fen // 2 > 1", "amount_fen // 2 is not allowed in a condition"),
        ("year(month) = 2026", "year needs a date or a timestamp, but month is text"),
        ("category = 'drug' AND", "cannot read the condition: near column"),
    ],
)
def test_a_bad_condition_is_refused_with_what_is_wrong(where: str, message: str) -> None:
    problems = check_measure(replace(DRUG, where=where), CATALOG)
    assert problems, where
    assert all(p.field == "where" for p in problems)
    assert message in english(problems)


def test_the_refusal_says_it_in_chinese_too() -> None:
    [problem] = check_measure(replace(DRUG, where="amount > 1"), CATALOG)
    assert problem.zh.startswith("未知列 amount：fees 数据集的列有 line_id、visit_id")
    assert "机构维度列有 tier" in problem.zh


def test_a_true_false_column_cannot_be_used_in_arithmetic() -> None:
    problems = check_measure(replace(BOOKINGS, where="on_time + 1 > 0"), CATALOG)
    assert "on_time is true/false and cannot be used in arithmetic (+)" in english(problems)


def test_dates_compare_with_days_written_as_text_but_not_with_words() -> None:
    assert check_measure(replace(BOOKINGS, where="day >= '2026-01-01'"), CATALOG) == []
    problems = check_measure(replace(BOOKINGS, where="day >= 'yesterday'"), CATALOG)
    assert "day is a date but 'yesterday' is text" in english(problems)


def test_institution_columns_exist_only_for_data_by_institution() -> None:
    stays = CATALOG.measures["outside_stays"]
    problems = check_measure(replace(stays, where="tier = 'county'"), CATALOG)
    assert "unknown column tier: outside_stays has settlement_id" in english(problems)


def test_only_a_numeric_column_can_be_summed() -> None:
    problems = check_measure(replace(DRUG, column="category"), CATALOG)
    assert english(problems) == (
        "category is text, not a number to sum: fees's numeric columns are amount_fen"
    )


def test_an_unknown_dataset_is_refused_with_the_list_of_datasets() -> None:
    problems = check_measure(replace(DRUG, dataset="invoices"), CATALOG)
    assert english(problems) == (
        "unknown dataset invoices: the datasets are visits, fees, finance, outside_stays, bookings"
    )


def test_a_measure_moved_to_county_only_data_breaks_the_indicators_that_use_it() -> None:
    moved = replace(CATALOG.measures["discharges"], dataset="outside_stays", where=None)
    problems = check_measure(moved, CATALOG)
    assert "indicator avg_inpatient_cost: measure discharges (outside_stays) exists only" in (
        english(problems)
    )


def test_a_code_must_be_a_plain_lower_case_name() -> None:
    for code in ("Drug", "drug-revenue", "select", "1drug"):
        problems = check_measure(replace(DRUG, code=code), CATALOG)
        assert [p.field for p in problems] == ["code"], code


@pytest.mark.parametrize(
    ("numerator", "message"),
    [
        ("drug_revenue + bonus", "unknown measure bonus: the measures are medical_revenue"),
        ("drug_revenue * 'x'", "numbers only, not text 'x'"),
        ("SUM(drug_revenue)", "only measure codes, numbers and + - * / ( ), not SUM(drug_revenue)"),
        ("(SELECT 1)", "only measure codes, numbers and + - * / ( ), not (SELECT 1)"),
        ("100", "the numerator must use at least one measure"),
    ],
)
def test_a_formula_may_use_only_measures_numbers_and_arithmetic(
    numerator: str, message: str
) -> None:
    problems = check_indicator(replace(DRUG_SHARE, numerator=numerator), CATALOG)
    assert message in english(problems)
    assert {p.field for p in problems} == {"numerator"}


def test_a_division_inside_a_formula_is_fine_even_by_zero() -> None:
    formula = "drug_revenue / (medical_revenue - medical_revenue)"
    assert check_indicator(replace(DRUG_SHARE, numerator=formula), CATALOG) == []


def test_growth_of_an_unknown_indicator_is_refused() -> None:
    problems = check_indicator(replace(GROWTH, growth_of="profit"), CATALOG)
    assert "growth_of names an unknown indicator profit" in english(problems)


def test_growth_of_that_comes_back_to_itself_is_refused() -> None:
    base = replace(
        CATALOG.indicators["medical_revenue_total"], numerator=None, growth_of="total_cost_growth"
    )
    problems = check_indicator(GROWTH, CATALOG.with_indicator(base))
    assert english(problems) == (
        "growth_of forms a cycle: total_cost_growth → medical_revenue_total → total_cost_growth"
    )


def test_growth_cannot_be_at_grains_its_base_is_not_computed_at() -> None:
    growth = replace(GROWTH, code="visit_share_growth", growth_of="primary_visit_share")
    problems = check_indicator(growth, CATALOG)
    assert "primary_visit_share is computed only at community, county" in english(problems)


def test_direction_unit_and_grains_must_be_known_values() -> None:
    bad = replace(DRUG_SHARE, direction="up", unit="kg", grains=("ward",))
    assert [p.field for p in check_indicator(bad, CATALOG)] == ["direction", "unit", "grains"]


def test_out_of_county_data_cannot_be_shown_per_institution() -> None:
    rate = replace(CATALOG.indicators["in_county_visit_rate"], grains=("institution", "county"))
    problems = check_indicator(rate, CATALOG)
    assert "measure outside_stays (outside_stays) exists only for the whole county" in (
        english(problems)
    )


def test_the_alert_must_be_on_the_worse_side_of_the_target() -> None:
    lower_is_better = replace(DRUG_SHARE, targets={"2026": Target(30, 25)})
    assert english(check_indicator(lower_is_better, CATALOG)) == (
        "2026: alert 25 must not be below target 30 (lower is better: the alert is on the worse "
        "side)"
    )
    higher = CATALOG.indicators["primary_visit_share"]
    assert check_indicator(replace(higher, targets={"2026": Target(65, 70)}), CATALOG)
    assert check_indicator(replace(higher, targets={"2026": Target(65, 60)}), CATALOG) == []


def test_targets_must_be_numbers_in_the_stored_form() -> None:
    data = {**DRUG_SHARE.as_dict(), "targets": {"2026": {"target": "thirty", "alert": 33}}}
    indicator, problems = read_indicator(data)
    assert indicator is None
    assert [(p.field, p.en) for p in problems] == [
        ("targets.2026.target", "2026 target must be a number: 'thirty'")
    ]


def test_missing_fields_of_the_stored_form_are_named() -> None:
    measure, problems = read_measure({"code": "x", "zh": "x", "en": "x", "aggregate": "count"})
    assert measure is None
    assert [p.field for p in problems] == ["dataset"]


def test_a_new_indicator_over_a_new_measure_passes() -> None:
    measure, problems = read_measure(
        {
            "code": "private_visits", "zh": "民营门诊人次", "en": "Private outpatient visits",
            "dataset": "visits", "aggregate": "count",
            "where": "ownership = 'private' AND kind IN ('outpatient', 'emergency')",
        }
    )  # fmt: skip
    assert measure is not None and problems == []
    catalog = CATALOG.with_measure(measure)
    assert check_measure(measure, catalog) == []
    data = {
        **DRUG_SHARE.as_dict(), "code": "private_visit_share", "unit": "%",
        "numerator": "private_visits", "denominator": "outpatient_visits", "targets": {},
    }  # fmt: skip
    indicator, problems = read_indicator(data)
    assert indicator is not None and problems == []
    assert check_indicator(indicator, catalog) == []
    assert isinstance(catalog.with_indicator(indicator), Catalog)


@pytest.mark.parametrize("least", [-1.0, float("inf")])
def test_a_minimum_denominator_must_be_a_finite_number_not_below_zero(least: float) -> None:
    problems = check_indicator(replace(DRUG_SHARE, min_denominator=least), CATALOG)
    assert [p.field for p in problems] == ["min_denominator"]
    assert check_indicator(replace(DRUG_SHARE, min_denominator=50.0), CATALOG) == []
