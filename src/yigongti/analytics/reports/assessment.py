"""The annual assessment (年度考核): each unit scored 0–100 against the year's targets.

The rule, per indicator with a target for the year and a value for the unit:

- at or better than the target (by the indicator's direction): full marks (attainment 1);
- at or past the alert threshold: zero;
- in between: linear, ``(alert − value) ÷ (alert − target)`` for "lower is better" and
  ``(value − alert) ÷ (target − alert)`` for "higher is better";
- without an alert threshold the target is met or not: 1 or 0.

A unit's total is ``Σ weightᵢ × attainmentᵢ ÷ Σ weightᵢ × 100`` over the indicators it has a
value for: an indicator without a target for the year, or without a value for the unit (a
village clinic reports no asset-liability ratio), is left out and the remaining weights are
renormalised, so a unit is judged on what it can be judged on. Each left-out indicator is
named on the unit's row. Units without any scorable indicator are not ranked.

Places are competition ranks (1, 2, 2, 4) on the total, best first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import pyarrow as pa

from yigongti.analytics.catalog.model import Catalog, Indicator, Target
from yigongti.analytics.reports.tables import (
    GRAIN_ZH,
    check_period,
    competition_ranks,
    figures_of,
)
from yigongti.analytics.results import GRAINS
from yigongti.kernel import NotFound, invalid_field, now

# Default weights (they sum to 100 over every grain's indicators; a grain or a unit that
# lacks some is renormalised). Cost control weighs most, as the reform assessment does.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "total_cost_growth": 12,
        "drug_share": 12,
        "service_revenue_share": 10,
        "primary_visit_share": 10,
        "avg_outpatient_cost_growth": 8,
        "avg_inpatient_cost_growth": 8,
        "consumables_per_100": 8,
        "asset_liability_ratio": 8,
        "in_county_visit_rate": 8,
        "exam_lab_share": 6,
        "online_booking_share": 2,
        "self_service_share": 2,
        "on_time_rate": 2,
        "no_show_rate": 2,
        "avg_wait_minutes": 2,
    }
)

# The rule above in the words the exported workbook and PDF print under the scores.
RULES_ZH = (
    "计分规则：达到或优于目标值得满分；达到或劣于预警线得 0 分；两者之间按线性比例得分；"
    "无预警线的指标达标得满分、否则 0 分。",
    "缺少年度目标或本单位无数据的指标不计分，其余指标权重按比例重新归一（合计 100%）。",
    "总分 = Σ 权重 × 达成度 × 100，满分 100；名次按总分从高到低，同分同名次。",
)


@dataclass(frozen=True)
class IndicatorScore:
    """How one unit did on one indicator of the year."""

    indicator: str
    name: str
    unit: str
    value: float
    target: float
    alert: float | None
    weight: float  # this indicator's share of the unit's weights (0–1), after renormalising
    attainment: float  # 0–1 by the rule
    points: float  # weight × attainment × 100: what it adds to the total


@dataclass(frozen=True)
class AssessmentRow:
    """A unit's total score, place and the score of each indicator it was judged on."""

    grain: str
    unit_id: str
    name: str
    year: str
    total: float
    rank: int
    scores: tuple[IndicatorScore, ...]
    left_out: tuple[str, ...]  # weighted indicators with a target but no value for this unit


@dataclass(frozen=True)
class Assessment:
    """The annual assessment as a document: its rows and what they were weighed with."""

    title: str
    area: str
    year: str
    grain: str
    weights: Mapping[str, float]  # as chosen, before renormalising
    indicators: tuple[Indicator, ...]  # the weighted indicators with a target for the year
    rows: tuple[AssessmentRow, ...]
    generated_at: datetime


def attainment(indicator: Indicator, target: Target, value: float) -> float:
    """How far ``value`` meets ``target``: 1 at or better than it, 0 at or past the alert
    threshold, linear in between (see the module's rule)."""
    sign = 1.0 if indicator.direction == "higher" else -1.0
    if sign * (value - target.target) >= 0:
        return 1.0
    span = None if target.alert is None else sign * (target.target - target.alert)
    if span is None or span <= 0:
        # No threshold (or one on the wrong side of the target): only meeting it counts.
        return 0.0
    return max(0.0, 1.0 - sign * (target.target - value) / span)


def check_weights(weights: Mapping[str, float], catalog: Catalog) -> dict[str, float]:
    """``weights`` if each names an indicator of the catalog and is finite and ≥ 0, with at
    least one above 0; ``Invalid`` otherwise."""
    unknown = sorted(c for c in weights if c not in catalog.indicators)
    if unknown:
        raise invalid_field(
            "weights",
            f"Weights name indicators the catalog does not have: {', '.join(unknown)}",
            f"权重中的指标不在指标目录中：{'、'.join(unknown)}",
        )
    if any(not math.isfinite(w) or w < 0 for w in weights.values()) or not any(
        w > 0 for w in weights.values()
    ):
        raise invalid_field(
            "weights",
            "Weights are numbers ≥ 0, at least one above 0",
            "权重须为不小于 0 的数，且至少一项大于 0",
        )
    return {c: float(w) for c, w in weights.items()}


def _check_grain(grain: str) -> None:
    if grain not in GRAINS:
        raise invalid_field(
            "grain",
            f"Unknown grain '{grain}': one of {', '.join(GRAINS)}",
            f"未知统计层级“{grain}”：应为 {'、'.join(GRAINS)} 之一",
        )


def weighted_indicators(
    catalog: Catalog, weights: Mapping[str, float], year: str, grain: str
) -> list[Indicator]:
    """The indicators that count: weight above 0, applicable to ``grain``, target for ``year``.

    The default weights may name an indicator the bureau has since removed: it is skipped.
    """
    chosen = [
        catalog.indicators[c] for c, w in weights.items() if w > 0 and c in catalog.indicators
    ]
    return [i for i in chosen if grain in i.grains and i.target_for(year) is not None]


def annual_assessment(
    results: pa.Table,
    catalog: Catalog,
    year: int | str,
    weights: Mapping[str, float] | None = None,
    grain: str = "institution",
    *,
    names: Mapping[str, str] | None = None,
) -> list[AssessmentRow]:
    """Every unit of ``grain`` with a year value in RESULTS, scored and ranked, best first.

    ``weights`` defaults to ``DEFAULT_WEIGHTS``; ``names`` gives display names by unit id
    (the id itself otherwise). ``NotFound`` when RESULTS holds no value of that year.
    """
    year = check_period(str(year), "year", field="year")
    _check_grain(grain)
    chosen = check_weights(DEFAULT_WEIGHTS if weights is None else weights, catalog)
    indicators = weighted_indicators(catalog, chosen, year, grain)
    figures = figures_of(results, grain, None, [year])
    if not figures:
        raise NotFound(
            en=f"No computed yearly indicator values for {year} ({grain})",
            zh=f"尚无{year}年度（{GRAIN_ZH.get(grain, grain)}）的指标计算结果",
        )
    scored: dict[str, tuple[tuple[IndicatorScore, ...], tuple[str, ...]]] = {}
    for unit_id in sorted({uid for (_, uid, _) in figures}):
        present = [
            (i, figure.value)
            for i in indicators
            if (figure := figures.get((i.code, unit_id, year))) and figure.value is not None
        ]
        if not present:
            continue
        total_weight = sum(chosen[i.code] for i, _ in present)
        scores = tuple(
            _score(i, value, year, chosen[i.code] / total_weight) for i, value in present
        )
        judged = {i.code for i, _ in present}
        left_out = tuple(i.code for i in indicators if i.code not in judged)
        scored[unit_id] = (scores, left_out)
    totals = {uid: sum(s.points for s in scores) for uid, (scores, _) in scored.items()}
    places = competition_ranks(totals, higher_is_better=True)
    label = names or {}
    rows = [
        AssessmentRow(
            grain=grain,
            unit_id=uid,
            name=label.get(uid, uid),
            year=year,
            total=totals[uid],
            rank=places[uid],
            scores=scores,
            left_out=left_out,
        )
        for uid, (scores, left_out) in scored.items()
    ]
    rows.sort(key=lambda r: (r.rank, r.name))
    return rows


def _score(indicator: Indicator, value: float, year: str, weight: float) -> IndicatorScore:
    target = indicator.target_for(year)
    assert target is not None  # weighted_indicators keeps only indicators with a target
    reached = attainment(indicator, target, value)
    return IndicatorScore(
        indicator=indicator.code,
        name=indicator.zh,
        unit=indicator.unit,
        value=value,
        target=target.target,
        alert=target.alert,
        weight=weight,
        attainment=reached,
        points=100.0 * weight * reached,
    )


def assessment_document(
    results: pa.Table,
    catalog: Catalog,
    year: int | str,
    weights: Mapping[str, float] | None = None,
    grain: str = "institution",
    *,
    area: str,
    names: Mapping[str, str] | None = None,
    at: datetime | None = None,
) -> Assessment:
    """The annual assessment of ``area`` (the county's name) as a document to render."""
    rows = annual_assessment(results, catalog, year, weights, grain, names=names)
    chosen = check_weights(DEFAULT_WEIGHTS if weights is None else weights, catalog)
    year = str(year)
    return Assessment(
        title=f"{area}{year}年度{GRAIN_ZH[grain]}考核",
        area=area,
        year=year,
        grain=grain,
        weights=MappingProxyType(chosen),
        indicators=tuple(weighted_indicators(catalog, chosen, year, grain)),
        rows=tuple(rows),
        generated_at=at or now(),
    )
