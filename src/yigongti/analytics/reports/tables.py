"""Report content as data: a unit's sections of indicator rows and the ranking of its members.

Excel and PDF render the same :class:`Report`; neither decides what goes in it. Which
indicator belongs to which section is the ``SECTIONS`` table, not code: an indicator the bureau
adds to the catalog and no section names lands in "其他指标" (other indicators), and an
indicator that does not apply to the unit's grain (the in-county visit rate is county-only) is
left out of that unit's report.

Values come from a RESULTS table (``analytics.results``). ``yoy`` and ``mom`` are the
relative growth in percent RESULTS carries; "same period last year" is the value of the period
one year earlier. The traffic light is the catalog's ``Indicator.status_of``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from yigongti.analytics.catalog.model import Catalog, Indicator
from yigongti.kernel import NotFound, invalid_field, now

STATUS_ZH = {"green": "达标", "amber": "预警", "red": "未达标"}
STATUS_EN = {"green": "Target met", "amber": "Warning", "red": "Past the alert threshold"}
GRAIN_ZH = {"institution": "机构", "community": "医共体", "county": "全县"}

# The number format of a value by the indicator's unit, in Excel's notation; the PDF reads
# the same notation (thousands separator, decimals) so both show a figure alike.
UNIT_FORMATS = {"人次": "#,##0", "元": "#,##0.00", "万元": "#,##0.00", "%": "0.00", "‰": "0.00"}
DEFAULT_FORMAT = "#,##0.00"
GROWTH_FORMAT = "0.00"  # yoy and mom: relative growth in percent


@dataclass(frozen=True)
class SectionSpec:
    """A section of the reports: its names and the indicators it lists, in order."""

    code: str
    zh: str
    en: str
    indicators: tuple[str, ...]


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "cost",
        "费用控制",
        "Cost control",
        (
            "medical_revenue_total",
            "total_cost_growth",
            "avg_outpatient_cost",
            "avg_outpatient_cost_growth",
            "avg_inpatient_cost",
            "avg_inpatient_cost_growth",
            "drug_share",
            "consumables_per_100",
            "service_revenue_share",
            "exam_lab_share",
        ),
    ),
    SectionSpec(
        "tiered_care",
        "分级诊疗",
        "Tiered care",
        (
            "primary_visit_share",
            "in_county_visit_rate",
            "up_referrals",
            "up_referral_share",
            "down_referrals",
        ),
    ),
    SectionSpec("operations", "运营", "Operations", ("asset_liability_ratio",)),
    SectionSpec(
        "booking",
        "预约服务",
        "Booking service",
        (
            "online_booking_share",
            "self_service_share",
            "on_time_rate",
            "no_show_rate",
            "avg_wait_minutes",
        ),
    ),
)
OTHER_SECTION = SectionSpec("other", "其他指标", "Other indicators", ())

# The key indicators a community or county report ranks its member institutions on: shares
# and growth rates, which compare across tiers better than absolute costs do.
RANKED: tuple[str, ...] = (
    "total_cost_growth",
    "avg_outpatient_cost_growth",
    "avg_inpatient_cost_growth",
    "drug_share",
    "consumables_per_100",
    "service_revenue_share",
    "exam_lab_share",
    "asset_liability_ratio",
    "no_show_rate",
)


@dataclass(frozen=True)
class ReportKind:
    """A kind of periodic report: the period it covers and its title."""

    code: str
    period_kind: str
    zh: str
    en: str


REPORT_KINDS = {
    "monthly": ReportKind("monthly", "month", "运行监测月报", "Monthly monitoring report"),
    "quarterly": ReportKind("quarterly", "quarter", "运行监测季度通报", "Quarterly bulletin"),
}


@dataclass(frozen=True)
class Unit:
    """What a report is about: an institution, a medical community or the county.

    ``members`` are the institutions a community or county report ranks, as (id, name).
    """

    grain: str
    unit_id: str
    name: str
    members: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ReportRow:
    """One indicator of a unit in a period, with its comparisons, target and traffic light."""

    code: str
    name: str
    caliber: str
    unit: str
    value: float | None
    last_year: float | None
    yoy: float | None
    mom: float | None
    target: float | None
    alert: float | None
    status: str | None  # green | amber | red; None without a target or a value
    source: str
    number_format: str

    @property
    def status_zh(self) -> str:
        """The traffic light in words: 达标, 预警 or 未达标 (empty without one)."""
        return STATUS_ZH.get(self.status or "", "")


@dataclass(frozen=True)
class Section:
    """A section of a report and its rows."""

    code: str
    zh: str
    en: str
    rows: tuple[ReportRow, ...]


@dataclass(frozen=True)
class RankingRow:
    """A member institution's values and places on the ranked indicators."""

    unit_id: str
    name: str
    rank: int
    mean_rank: float
    values: tuple[float | None, ...]  # in the order of ``Ranking.indicators``
    ranks: tuple[int | None, ...]
    statuses: tuple[str | None, ...]


@dataclass(frozen=True)
class Ranking:
    """Member institutions ranked on key indicators, best first (by their mean place)."""

    indicators: tuple[Indicator, ...]
    rows: tuple[RankingRow, ...]


@dataclass(frozen=True)
class Report:
    """A monthly report or quarterly bulletin of one unit, ready to render."""

    kind: ReportKind
    title: str
    unit: Unit
    period: str
    period_label: str
    generated_at: datetime
    sections: tuple[Section, ...]
    ranking: Ranking | None
    sources: tuple[str, ...]


class Figure(NamedTuple):
    """An indicator's value of one unit in one period, with its growth rates."""

    value: float | None
    yoy: float | None
    mom: float | None


_PERIODS = {
    "month": (re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])"), "YYYY-MM, e.g. 2026-03", "2026-03"),
    "quarter": (re.compile(r"[0-9]{4}Q[1-4]"), "YYYYQn, e.g. 2026Q1", "2026Q1"),
    "year": (re.compile(r"[0-9]{4}"), "YYYY, e.g. 2026", "2026"),
}


def check_period(period: str, kind: str, field: str = "period") -> str:
    """``period`` if it is a well-formed period of ``kind``; ``Invalid`` otherwise."""
    pattern, shape, example = _PERIODS[kind]
    if not pattern.fullmatch(period):
        raise invalid_field(
            field,
            f"Period '{period}' is not a {kind}: write {shape}",
            f"统计期“{period}”格式错误：应为 {example} 这样的写法",
        )
    return period


def same_period_last_year(period: str) -> str:
    """The period one year before: 2026-03 → 2025-03, 2026Q1 → 2025Q1, 2026 → 2025."""
    return f"{int(period[:4]) - 1:04d}{period[4:]}"


def period_label(period: str) -> str:
    """The period in Chinese: 2026年3月, 2026年第1季度, 2026年."""
    if len(period) == 7:
        return f"{period[:4]}年{int(period[5:])}月"
    if len(period) == 6:
        return f"{period[:4]}年第{period[5]}季度"
    return f"{period}年"


def number_format(indicator: Indicator) -> str:
    """The display format of an indicator's values (Excel notation)."""
    return UNIT_FORMATS.get(indicator.unit, DEFAULT_FORMAT)


def format_number(value: float | None, fmt: str) -> str:
    """``value`` as text in the Excel-notation ``fmt`` (thousands separator, decimals); "—"
    when empty."""
    if value is None:
        return "—"
    decimals = len(fmt.split(".")[1]) if "." in fmt else 0
    return f"{value:{',' if ',' in fmt else ''}.{decimals}f}"


def display_width(text: str) -> int:
    """The width of ``text`` in monospace columns: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _number(value: float | None) -> float | None:
    # NaN or infinity would corrupt a workbook and mean nothing to a reader: show them empty.
    if value is None:
        return None
    return value if math.isfinite(value) else None


def figures_of(
    results: pa.Table,
    grain: str,
    unit_ids: Iterable[str] | None,
    periods: Sequence[str],
) -> dict[tuple[str, str, str], Figure]:
    """(indicator, unit_id, period) → figure for the units (all of the grain when None).

    Where RESULTS holds several versions of an indicator, the highest version counts.
    """
    mask = pc.and_(
        pc.equal(results["grain"], grain),
        pc.is_in(results["period"], value_set=pa.array(list(periods), pa.string())),
    )
    if unit_ids is not None:
        wanted = pa.array(list(unit_ids), pa.string())
        mask = pc.and_(mask, pc.is_in(results["unit_id"], value_set=wanted))
    columns = ["indicator", "version", "unit_id", "period", "value", "yoy", "mom"]
    rows = results.filter(mask).select(columns).to_pylist()
    rows.sort(key=lambda r: r["version"])  # later (higher) versions overwrite earlier ones
    return {
        (r["indicator"], r["unit_id"], r["period"]): Figure(
            _number(r["value"]), _number(r["yoy"]), _number(r["mom"])
        )
        for r in rows
    }


def sections_for(catalog: Catalog, grain: str) -> list[tuple[SectionSpec, list[Indicator]]]:
    """Each section with the catalog's indicators in it that apply to ``grain``."""
    named = {code for spec in SECTIONS for code in spec.indicators}
    specs = [
        (spec, [catalog.indicators[c] for c in spec.indicators if c in catalog.indicators])
        for spec in SECTIONS
    ]
    specs.append((OTHER_SECTION, [i for c, i in catalog.indicators.items() if c not in named]))
    return [
        (spec, applicable)
        for spec, indicators in specs
        if (applicable := [i for i in indicators if grain in i.grains])
    ]


def report_row(
    indicator: Indicator, period: str, this: Figure | None, last_year: Figure | None
) -> ReportRow:
    """The row of ``indicator`` in ``period`` from this period's and last year's figures."""
    target = indicator.target_for(period)
    value = this.value if this else None
    return ReportRow(
        code=indicator.code,
        name=indicator.zh,
        caliber=indicator.caliber_zh,
        unit=indicator.unit,
        value=value,
        last_year=last_year.value if last_year else None,
        yoy=this.yoy if this else None,
        mom=this.mom if this else None,
        target=target.target if target else None,
        alert=target.alert if target else None,
        status=indicator.status_of(period, value),
        source=indicator.source,
        number_format=number_format(indicator),
    )


def competition_ranks(scores: Mapping[str, float], higher_is_better: bool) -> dict[str, int]:
    """Places 1, 2, 2, 4 … of each key by its score; equal scores share a place."""
    sign = -1.0 if higher_is_better else 1.0
    # Rounded so that sums of floats that differ in the last bit still tie.
    ordered = sorted(scores, key=lambda k: sign * round(scores[k], 9))
    places: dict[str, int] = {}
    for position, key in enumerate(ordered, start=1):
        previous = ordered[position - 2] if position > 1 else None
        tied = previous is not None and round(scores[previous], 9) == round(scores[key], 9)
        places[key] = places[previous] if tied and previous is not None else position
    return places


def rank_members(
    results: pa.Table, catalog: Catalog, members: Sequence[tuple[str, str]], period: str
) -> Ranking | None:
    """Rank member institutions on ``RANKED``: a place per indicator (by its direction), and
    overall by the mean of the places a member has. Members without any ranked value are left
    out; ``None`` when no member has one."""
    indicators = tuple(
        catalog.indicators[c]
        for c in RANKED
        if c in catalog.indicators and "institution" in catalog.indicators[c].grains
    )
    names = dict(members)
    figures = figures_of(results, "institution", names, [period])
    places: list[dict[str, int]] = []
    for indicator in indicators:
        scores = {
            uid: f.value
            for (code, uid, _), f in figures.items()
            if code == indicator.code and f.value is not None
        }
        places.append(competition_ranks(scores, indicator.direction == "higher"))
    ranked = {uid for p in places for uid in p}
    if not ranked:
        return None
    means = {
        uid: sum(p[uid] for p in places if uid in p) / sum(1 for p in places if uid in p)
        for uid in ranked
    }
    overall = competition_ranks(means, higher_is_better=False)
    rows = [
        RankingRow(
            unit_id=uid,
            name=names[uid],
            rank=overall[uid],
            mean_rank=means[uid],
            values=tuple(_value(figures, i.code, uid, period) for i in indicators),
            ranks=tuple(p.get(uid) for p in places),
            statuses=tuple(
                i.status_of(period, _value(figures, i.code, uid, period)) for i in indicators
            ),
        )
        for uid in ranked
    ]
    rows.sort(key=lambda r: (r.rank, r.name))
    return Ranking(indicators, tuple(rows))


def _value(
    figures: Mapping[tuple[str, str, str], Figure], code: str, unit_id: str, period: str
) -> float | None:
    figure = figures.get((code, unit_id, period))
    return figure.value if figure else None


def build_report(
    results: pa.Table,
    catalog: Catalog,
    unit: Unit,
    period: str,
    kind: str,
    *,
    at: datetime | None = None,
) -> Report:
    """The report of ``kind`` (monthly, quarterly) of ``unit`` in ``period``.

    ``NotFound`` when RESULTS holds nothing for the unit in that period: an empty report
    would read as if every figure were zero.
    """
    report_kind = REPORT_KINDS[kind]
    check_period(period, report_kind.period_kind)
    last_year = same_period_last_year(period)
    figures = figures_of(results, unit.grain, [unit.unit_id], [period, last_year])
    if not any(p == period for (_, _, p) in figures):
        raise NotFound(
            en=f"No computed indicator values for {unit.name} in {period}",
            zh=f"{unit.name}{period_label(period)}尚无指标计算结果",
        )
    sections = tuple(
        Section(
            spec.code,
            spec.zh,
            spec.en,
            tuple(
                report_row(
                    i,
                    period,
                    figures.get((i.code, unit.unit_id, period)),
                    figures.get((i.code, unit.unit_id, last_year)),
                )
                for i in indicators
            ),
        )
        for spec, indicators in sections_for(catalog, unit.grain)
    )
    ranking = rank_members(results, catalog, unit.members, period) if unit.members else None
    used = [row.source for s in sections for row in s.rows]
    return Report(
        kind=report_kind,
        title=f"{unit.name}{period_label(period)}{report_kind.zh}",
        unit=unit,
        period=period,
        period_label=period_label(period),
        generated_at=at or now(),
        sections=sections,
        ranking=ranking,
        sources=tuple(dict.fromkeys(used)),
    )
