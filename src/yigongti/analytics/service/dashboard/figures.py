"""The dashboard's figures: headline tiles, trends and rankings over the computed values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from yigongti.analytics.catalog.check import measures_of
from yigongti.analytics.catalog.model import Indicator
from yigongti.analytics.results import GRAINS
from yigongti.analytics.service.dashboard.reading import (
    catalog_in_force,
    check_grain,
    check_kind,
    county_in,
    indicator_of,
    period_kind_of,
    results_of,
    rows_where,
    unit_in,
    units_of,
)
from yigongti.analytics.service.dashboard.views import (
    IndicatorFacts,
    Ranked,
    Ranking,
    Tile,
    Trend,
    TrendPoint,
    Unit,
    not_computed,
)
from yigongti.kernel import invalid_field
from yigongti.security import Actor, roles

# The headline tiles of the dashboard, in the order the bureau reads them: access to care,
# cost control, finance, then the appointment service. Codes the catalog lacks are skipped.
HEADLINE: tuple[str, ...] = (
    "primary_visit_share",
    "in_county_visit_rate",
    "drug_share",
    "service_revenue_share",
    "avg_outpatient_cost",
    "avg_inpatient_cost",
    "total_cost_growth",
    "asset_liability_ratio",
    "on_time_rate",
    "no_show_rate",
)


def dashboard_units(session: Session, actor: Actor, lake_root: Path) -> list[Unit]:
    """The county, its medical communities and its institutions, as the lake knows them."""
    actor.require(roles.AGGREGATE_READ)
    units = units_of(lake_root, results_of(lake_root))
    order = {grain: n for n, grain in enumerate(reversed(GRAINS))}  # county first
    return sorted(units.values(), key=lambda u: (order[u.grain], u.name or "", u.unit_id))


def indicator_facts(session: Session, actor: Actor, code: str) -> IndicatorFacts:
    """The indicator ``code`` of the catalog in force, with the measures it is made of."""
    actor.require(roles.AGGREGATE_READ)
    catalog = catalog_in_force(session)
    indicator = indicator_of(catalog, code)
    source = catalog.indicators.get(indicator.growth_of or "", indicator)
    return IndicatorFacts(
        indicator=indicator,
        numerator=[catalog.measures[m] for m in measures_of(source.numerator)],
        denominator=[catalog.measures[m] for m in measures_of(source.denominator)],
    )


def dashboard_periods(
    session: Session, actor: Actor, lake_root: Path, period_kind: str = "month"
) -> list[str]:
    """The periods of a kind that hold computed values, the latest first."""
    actor.require(roles.AGGREGATE_READ)
    check_kind(period_kind)
    table = results_of(lake_root)
    kept = table.filter(
        pc.and_(pc.equal(table["period_kind"], period_kind), pc.is_valid(table["value"]))
    )
    return sorted(set(kept["period"].to_pylist()), reverse=True)


def headline(
    session: Session,
    actor: Actor,
    lake_root: Path,
    period: str | None = None,
    community_id: str | None = None,
    period_kind: str = "month",
) -> list[Tile]:
    """The headline tiles at the county (or one medical community).

    Each tile is the indicator's value in ``period``, or, without one, in the latest period of
    ``period_kind`` that has a value; with its year's target and traffic light and its growth
    on the same period a year before. Indicators not computed at the unit's level (the
    in-county visit rate for a community) have no tile there.
    """
    actor.require(roles.AGGREGATE_READ)
    if period is not None:
        period_kind = period_kind_of(period)
    check_kind(period_kind)
    catalog, results = catalog_in_force(session), results_of(lake_root)
    units = units_of(lake_root, results)
    unit = county_in(units) if community_id is None else unit_in(units, "community", community_id)
    rows = rows_where(results, grain=unit.grain, unit_id=unit.unit_id, period_kind=period_kind)
    by_indicator: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_indicator.setdefault(row["indicator"], []).append(row)
    tiles = []
    for code in HEADLINE:
        indicator = catalog.indicators.get(code)
        if indicator is None or unit.grain not in indicator.grains:
            continue
        tiles.append(_tile(indicator, unit, by_indicator.get(code, []), period))
    return tiles


def _tile(indicator: Indicator, unit: Unit, rows: list[dict[str, Any]], period: str | None) -> Tile:
    if period is not None:
        chosen = next((r for r in rows if r["period"] == period), None)
    else:
        valued = [r for r in rows if r["value"] is not None]
        chosen = max(valued, key=lambda r: r["period"]) if valued else None
    shown = period if chosen is None else chosen["period"]
    target = indicator.target_for(shown) if shown else None
    value = None if chosen is None else chosen["value"]
    return Tile(
        indicator=indicator.code,
        zh=indicator.zh,
        en=indicator.en,
        unit=indicator.unit,
        direction=indicator.direction,
        grains=indicator.grains,
        grain=unit.grain,
        unit_id=unit.unit_id,
        period=shown,
        value=value,
        numerator=None if chosen is None else chosen["numerator"],
        denominator=None if chosen is None else chosen["denominator"],
        yoy=None if chosen is None else chosen["yoy"],
        target=None if target is None else target.target,
        alert=None if target is None else target.alert,
        status=indicator.status_of(shown, value) if shown else None,
    )


def trend(
    session: Session,
    actor: Actor,
    lake_root: Path,
    indicator: str,
    grain: str,
    unit_id: str,
    period_kind: str = "month",
) -> Trend:
    """An indicator's values at one unit, every period of a kind, oldest first."""
    actor.require(roles.AGGREGATE_READ)
    check_grain(grain)
    check_kind(period_kind)
    definition = indicator_of(catalog_in_force(session), indicator, grain)
    results = results_of(lake_root)
    unit_in(units_of(lake_root, results), grain, unit_id)
    rows = rows_where(
        results, indicator=indicator, grain=grain, unit_id=unit_id, period_kind=period_kind
    )
    points = []
    for row in sorted(rows, key=lambda r: r["period"]):
        target = definition.target_for(row["period"])
        points.append(
            TrendPoint(
                period=row["period"],
                value=row["value"],
                numerator=row["numerator"],
                denominator=row["denominator"],
                target=None if target is None else target.target,
                status=definition.status_of(row["period"], row["value"]),
            )
        )
    return Trend(indicator, grain, unit_id, period_kind, points)


def ranking(
    session: Session,
    actor: Actor,
    lake_root: Path,
    indicator: str,
    period: str | None = None,
    community_id: str | None = None,
    grain: str = "institution",
) -> Ranking:
    """The institutions (or, with ``grain="community"``, the communities) by an indicator in a
    period, the best first by the indicator's direction; units without a value come last.

    Without ``period``, the latest month with values. ``community_id`` keeps the institutions
    of one medical community.
    """
    actor.require(roles.AGGREGATE_READ)
    if grain not in ("institution", "community"):
        check_grain(grain)
        raise invalid_field(
            "grain", "A ranking is of institutions or communities", "排名只按机构或医共体"
        )
    definition = indicator_of(catalog_in_force(session), indicator, grain)
    results = results_of(lake_root)
    units = units_of(lake_root, results)
    if community_id is not None:
        unit_in(units, "community", community_id)
    period = period or _latest(results, indicator, grain)
    rows = rows_where(
        results, indicator=indicator, grain=grain, period_kind=period_kind_of(period), period=period
    )
    # Only units with a computed row take part: the bureau, the CDC and institutions that
    # sent nothing for the period have no value to rank.
    ranked = [
        (units[row["unit_id"]], row)
        for row in rows
        if row["unit_id"] in units
        and (community_id is None or units[row["unit_id"]].community_id == community_id)
    ]
    return Ranking(indicator, period, grain, _ranked(definition, period, ranked))


def _latest(results: pa.Table, indicator: str, grain: str) -> str:
    rows = rows_where(results, indicator=indicator, grain=grain, period_kind="month")
    periods = [r["period"] for r in rows if r["value"] is not None]
    if not periods:
        raise not_computed()
    return max(periods)


def _ranked(
    indicator: Indicator, period: str, pairs: list[tuple[Unit, dict[str, Any]]]
) -> list[Ranked]:
    sign = -1.0 if indicator.direction == "higher" else 1.0  # the best value sorts first
    valued = sorted(
        (pair for pair in pairs if pair[1]["value"] is not None),
        key=lambda pair: (sign * pair[1]["value"], pair[0].name or ""),
    )
    empty = sorted(
        (pair for pair in pairs if pair[1]["value"] is None), key=lambda p: p[0].name or ""
    )
    return [
        Ranked(
            rank=None if row["value"] is None else n,
            unit=unit,
            value=row["value"],
            numerator=row["numerator"],
            denominator=row["denominator"],
            yoy=row["yoy"],
            status=indicator.status_of(period, row["value"], unit.tier),
        )
        for n, (unit, row) in enumerate([*valued, *empty], start=1)
    ]
