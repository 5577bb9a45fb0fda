"""The indicator catalog as data: measures (sums and counts over a lake dataset) and indicators
(a numerator and a denominator over measures), each with its caliber, source and targets.

A *measure* aggregates one dataset: ``sum`` of a numeric column or ``count`` of rows, over the
rows a ``where`` condition keeps (SQL, over the dataset's documented columns and the
institution's ``tier``, ``kind``, ``ownership`` and ``community_id``; where the dataset has a
column of the same name, as visits and fees have ``kind``, the institution's is
``institution_kind``). ``catalog.check`` says what a condition may contain. A *stock* measure
(assets, liabilities) is a balance: a quarter or a year takes its last reported month, not the sum.

An *indicator* is ``numerator`` ÷ ``denominator`` × ``scale``, where both are arithmetic over
measure codes (``inpatient_stays + outside_stays``); with no denominator the value is the
numerator × scale. ``growth_of`` makes an indicator the year-on-year growth (percent) of another
one, as "total medical-cost growth" is of total medical revenue. Every division is by
``NULLIF(..., 0)``: a zero denominator gives an empty value, never an error.

The built-in catalog is ``indicators.json`` beside this module; the bureau saves new versions
through ``analytics.service`` (``IndicatorVersion`` rows), which override the built-in ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yigongti.analytics.results import GRAINS

BUILTIN = Path(__file__).with_name("indicators.json")
AGGREGATES = ("sum", "count")
DIRECTIONS = ("higher", "lower")
# The units an indicator may be shown in; a new unit is a line here, so every page can label it.
UNITS = ("%", "‰", "元", "万元", "元/百元", "人次", "人", "次", "天", "分钟", "张")


@dataclass(frozen=True)
class Target:
    """A year's target and alert threshold (in the indicator's unit)."""

    target: float
    alert: float | None = None


@dataclass(frozen=True)
class Measure:
    """A sum or count over one lake dataset's rows that satisfy ``where``."""

    code: str
    zh: str
    en: str
    dataset: str
    aggregate: str  # sum | count
    column: str | None = None  # the summed column; None for count
    where: str | None = None
    stock: bool = False
    version: int = 1

    def as_dict(self) -> dict[str, Any]:
        """The measure as it is stored (JSON)."""
        return {
            "code": self.code, "zh": self.zh, "en": self.en, "dataset": self.dataset,
            "aggregate": self.aggregate, "column": self.column, "where": self.where,
            "stock": self.stock, "version": self.version,
        }  # fmt: skip


@dataclass(frozen=True)
class Indicator:
    """An indicator: numerator ÷ denominator × scale over measures, with caliber and targets."""

    code: str
    zh: str
    en: str
    caliber_zh: str
    caliber_en: str
    source: str  # the document the caliber comes from
    source_version: str
    unit: str  # "%", "元", "‰", "人次", "元/百元", ...
    direction: str  # higher | lower (is better)
    numerator: str | None = None  # arithmetic over measure codes
    denominator: str | None = None
    scale: float = 1.0
    growth_of: str | None = None  # code of the indicator whose year-on-year growth this is
    grains: tuple[str, ...] = GRAINS
    targets: dict[str, Target] = field(default_factory=dict)  # year "2026" -> target
    version: int = 1
    # The tiers whose institutions the targets bind (public-hospital reform targets bind county
    # hospitals, not village clinics); communities and the county are always held to them.
    target_tiers: tuple[str, ...] | None = None
    # Below this denominator a value opens no alert (a village clinic's month of 12 bookings
    # with 2 no-shows is not a 17% no-show problem); None: every value counts.
    min_denominator: float | None = None

    def alerts_on(self, denominator: float | None) -> bool:
        """Whether a value over ``denominator`` cases may open an alert (an unknown one may)."""
        if self.min_denominator is None or denominator is None:
            return True
        return denominator >= self.min_denominator

    def target_for(self, period: str) -> Target | None:
        """The target of the year ``period`` falls in, or of the latest earlier year."""
        years = sorted(y for y in self.targets if y <= period[:4])
        return self.targets[years[-1]] if years else None

    def status_of(self, period: str, value: float | None, tier: str | None = None) -> str | None:
        """The traffic light of ``value`` in ``period``: green (target met), amber (short of
        the target but not past the alert threshold), red (past it); None without a target,
        or for an institution of a ``tier`` the targets do not bind."""
        target = self.target_for(period)
        if tier is not None and self.target_tiers is not None and tier not in self.target_tiers:
            return None
        if target is None or value is None:
            return None
        sign = 1.0 if self.direction == "higher" else -1.0  # higher is better: below is worse
        if sign * (value - target.target) >= 0:
            return "green"
        if target.alert is not None and sign * (value - target.alert) < 0:
            return "red"
        return "amber"

    def as_dict(self) -> dict[str, Any]:
        """The indicator as it is stored (JSON)."""
        return {
            "code": self.code, "zh": self.zh, "en": self.en, "caliber_zh": self.caliber_zh,
            "caliber_en": self.caliber_en, "source": self.source,
            "source_version": self.source_version, "unit": self.unit,
            "direction": self.direction, "numerator": self.numerator,
            "denominator": self.denominator, "scale": self.scale, "growth_of": self.growth_of,
            "grains": list(self.grains), "version": self.version,
            "target_tiers": None if self.target_tiers is None else list(self.target_tiers),
            "min_denominator": self.min_denominator,
            "targets": {y: {"target": t.target, "alert": t.alert} for y, t in self.targets.items()},
        }  # fmt: skip


@dataclass(frozen=True)
class Catalog:
    """Measures and indicators by code, in catalog order."""

    measures: dict[str, Measure]
    indicators: dict[str, Indicator]

    def with_measure(self, measure: Measure) -> Catalog:
        """This catalog with ``measure`` added, or replacing the one of the same code."""
        return Catalog({**self.measures, measure.code: measure}, dict(self.indicators))

    def with_indicator(self, indicator: Indicator) -> Catalog:
        """This catalog with ``indicator`` added, or replacing the one of the same code."""
        return Catalog(dict(self.measures), {**self.indicators, indicator.code: indicator})


def measure_from(data: dict[str, Any]) -> Measure:
    """A measure from its stored form."""
    return Measure(
        code=data["code"], zh=data["zh"], en=data["en"], dataset=data["dataset"],
        aggregate=data["aggregate"], column=data.get("column"), where=data.get("where"),
        stock=bool(data.get("stock", False)), version=int(data.get("version", 1)),
    )  # fmt: skip


def indicator_from(data: dict[str, Any]) -> Indicator:
    """An indicator from its stored form."""
    targets = {
        str(y): Target(float(t["target"]), None if t.get("alert") is None else float(t["alert"]))
        for y, t in (data.get("targets") or {}).items()
    }
    return Indicator(
        code=data["code"], zh=data["zh"], en=data["en"], caliber_zh=data["caliber_zh"],
        caliber_en=data["caliber_en"], source=data["source"],
        source_version=str(data["source_version"]), unit=data["unit"],
        direction=data["direction"], numerator=data.get("numerator"),
        denominator=data.get("denominator"), scale=float(data.get("scale", 1.0)),
        growth_of=data.get("growth_of"), grains=tuple(data.get("grains") or GRAINS),
        targets=targets, version=int(data.get("version", 1)),
        target_tiers=None if data.get("target_tiers") is None else tuple(data["target_tiers"]),
        min_denominator=(
            None if data.get("min_denominator") is None else float(data["min_denominator"])
        ),
    )  # fmt: skip


def builtin_catalog() -> Catalog:
    """The catalog that ships with yigongti (``indicators.json``)."""
    data = json.loads(BUILTIN.read_text(encoding="utf-8"))
    return Catalog(
        measures={m["code"]: measure_from(m) for m in data["measures"]},
        indicators={i["code"]: indicator_from(i) for i in data["indicators"]},
    )
