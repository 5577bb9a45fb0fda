"""What the dashboard's use cases answer: the pages render these and the API sends them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yigongti.analytics.catalog.model import Indicator, Measure
from yigongti.kernel import Conflict


class NotComputed(Conflict):
    """The lake has not been exported or the indicators not computed yet (409)."""

    code = "not-computed"


def not_computed() -> NotComputed:
    """The error of a dashboard read before the first export and compute."""
    return NotComputed(
        en="No indicator values yet: run the data-center export and compute first",
        zh="尚未计算指标：请先运行数据中心导出与计算",
    )


@dataclass(frozen=True)
class Unit:
    """A unit figures are computed for: the county, a medical community or an institution."""

    grain: str
    unit_id: str
    name: str | None  # None for the county (the pages name it in the user's language)
    tier: str | None = None
    community_id: str | None = None
    community_name: str | None = None


@dataclass(frozen=True)
class Tile:
    """One headline figure: the latest (or the chosen) value of an indicator at one unit."""

    indicator: str
    zh: str
    en: str
    unit: str
    direction: str
    grains: tuple[str, ...]  # where the indicator is computed (for the drill-down's choices)
    grain: str
    unit_id: str
    period: str | None  # None when the unit has no value of the indicator at all
    value: float | None
    numerator: float | None
    denominator: float | None
    yoy: float | None
    target: float | None
    alert: float | None
    status: str | None  # green | amber | red, None without a target or a value


@dataclass(frozen=True)
class IndicatorFacts:
    """An indicator as the dashboard explains it: its definition (caliber, source, targets)
    and the measures its numerator and denominator are made of."""

    indicator: Indicator
    numerator: list[Measure]
    denominator: list[Measure]


@dataclass(frozen=True)
class TrendPoint:
    """The value of an indicator in one period, with that year's target and traffic light."""

    period: str
    value: float | None
    numerator: float | None
    denominator: float | None
    target: float | None
    status: str | None


@dataclass(frozen=True)
class Trend:
    """An indicator's values at one unit, period by period (oldest first)."""

    indicator: str
    grain: str
    unit_id: str
    period_kind: str
    points: list[TrendPoint]


@dataclass(frozen=True)
class Ranked:
    """One unit's place in a ranking (``rank`` is None for a unit without a value)."""

    rank: int | None
    unit: Unit
    value: float | None
    numerator: float | None
    denominator: float | None
    yoy: float | None
    status: str | None


@dataclass(frozen=True)
class Ranking:
    """Institutions (or communities) by an indicator in one period, the best first."""

    indicator: str
    period: str
    grain: str
    rows: list[Ranked]


@dataclass(frozen=True)
class FlowNode:
    """One side of a tier in the referral Sankey: ``from:village`` sends, ``to:county``
    receives (a Sankey has no cycles, so a tier that both sends and receives is two nodes)."""

    id: str
    side: str  # from | to
    tier: str


@dataclass(frozen=True)
class FlowLink:
    """Referred visits from institutions of one tier to institutions of another."""

    source: str  # node id: from:<tier of the referring institution>
    target: str  # node id: to:<tier of the institution the patient was seen at>
    from_tier: str
    to_tier: str
    direction: str  # up | down, as the receiving institution recorded it
    visits: int


@dataclass(frozen=True)
class Flows:
    """Two-way referral between tiers in a period, counted from the lake's visits."""

    period: str
    nodes: list[FlowNode]
    links: list[FlowLink]
    unattributed: int  # referred visits whose referring institution the lake does not know


@dataclass(frozen=True)
class MeasureRecords:
    """The lake rows one measure of a side counted, a page of them, and what they add up to.

    ``amount`` is the measure over all its rows (the count, or the sum of ``column``): the
    part of the indicator's numerator or denominator these rows make.
    """

    measure: str
    zh: str
    en: str
    dataset: str
    aggregate: str  # sum | count
    column: str | None
    amount: float
    total: int  # rows in all
    columns: list[str]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class RecordsPage:
    """A page of the lake rows behind one side of an indicator at a unit in a period, measure
    by measure (a side is arithmetic over measures: ``discharges + outside_stays``)."""

    indicator: str
    side: str
    grain: str
    unit_id: str
    period: str
    limit: int
    offset: int
    measures: list[MeasureRecords]
