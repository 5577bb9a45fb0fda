"""Use cases of the data center: the indicator catalog.

Reading it (``aggregate:read``); saving an indicator or a measure the bureau defines in a page
(``indicator:manage``), checked first and stored as a new version, never an edit; each code's
history; and recomputing every value over the lake with the catalog in force.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yigongti.analytics.catalog.check import (
    Problem,
    check_indicator,
    check_measure,
    measures_of,
    read_indicator,
    read_measure,
)
from yigongti.analytics.catalog.model import Catalog, Indicator, Measure, builtin_catalog
from yigongti.analytics.compute import compute_catalog, effective_catalog, save_results
from yigongti.analytics.engines import EngineUnavailable
from yigongti.analytics.models import IndicatorVersion
from yigongti.kernel import Conflict, FieldError, Invalid, NotFound, invalid_field
from yigongti.security import Actor
from yigongti.security.roles import AGGREGATE_READ, INDICATOR_MANAGE, LAKE_EXPORT
from yigongti.settings import get_settings

__all__ = [
    "CatalogVersion",
    "IndicatorDetail",
    "Recomputed",
    "catalog_of",
    "check_indicator_definition",
    "check_measure_definition",
    "indicator_detail",
    "indicator_history",
    "recompute",
    "save_indicator",
    "save_measure",
]

BUILT_IN = "built-in"


@dataclass(frozen=True)
class CatalogVersion:
    """One version of an indicator or measure: the built-in one, or one the bureau saved."""

    kind: str  # indicator | measure
    code: str
    version: int
    definition: dict[str, Any]
    note: str
    saved_by: str  # "built-in" for the version that ships with yigongti
    saved_at: datetime | None  # None for the built-in version


@dataclass(frozen=True)
class IndicatorDetail:
    """An indicator in force, the measures its value is made of, and every version of it."""

    indicator: Indicator
    measures: list[Measure]
    versions: list[CatalogVersion]


@dataclass(frozen=True)
class Recomputed:
    """What a recomputation produced: values, the engine, how long, when."""

    rows: int
    engine: str
    seconds: float
    computed_at: datetime


def _invalid(what_en: str, what_zh: str, problems: list[Problem]) -> Invalid:
    first = problems[0]
    return Invalid(
        en=f"The {what_en} cannot be saved: {first.field}: {first.en}"
        + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
        zh=f"{what_zh}无法保存：{first.field}：{first.zh}"
        + (f"（另有 {len(problems) - 1} 处问题）" if len(problems) > 1 else ""),
        fields=[FieldError(p.field, p.en, p.zh) for p in problems],
    )


def catalog_of(session: Session, actor: Actor) -> Catalog:
    """The catalog in force: built-in measures and indicators with the bureau's versions."""
    actor.require(AGGREGATE_READ)
    return effective_catalog(session)


def check_indicator_definition(
    session: Session, actor: Actor, data: Mapping[str, Any]
) -> list[Problem]:
    """What would stop ``data`` from being saved as an indicator (a dry run); [] if nothing."""
    actor.require(INDICATOR_MANAGE)
    indicator, problems = read_indicator(data)
    if indicator is None:
        return problems
    return check_indicator(indicator, effective_catalog(session))


def check_measure_definition(
    session: Session, actor: Actor, data: Mapping[str, Any]
) -> list[Problem]:
    """What would stop ``data`` from being saved as a measure (a dry run); [] if nothing."""
    actor.require(INDICATOR_MANAGE)
    measure, problems = read_measure(data)
    if measure is None:
        return problems
    return check_measure(measure, effective_catalog(session))


def _next_version(session: Session, kind: str, current: Indicator | Measure | None) -> int:
    """One more than the latest version of the code, saved or built in (1 for a new code)."""
    if current is None:
        return 1
    saved = session.scalar(
        select(func.max(IndicatorVersion.version)).where(
            IndicatorVersion.kind == kind, IndicatorVersion.code == current.code
        )
    )
    return max(saved or 0, current.version) + 1


def _store(
    session: Session, actor: Actor, kind: str, entry: Indicator | Measure, note: str
) -> None:
    row = IndicatorVersion(
        kind=kind,
        code=entry.code,
        version=entry.version,
        definition=entry.as_dict(),
        note=note,
        saved_by=actor.username,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as error:
        # Another save of the same code took this version number between our read and write.
        raise Conflict(
            en=f"{kind} {entry.code} version {entry.version} was saved by someone else just now: "
            "reload and save again",
            zh=f"{entry.code} 的第 {entry.version} 版刚被他人保存：请刷新后重新保存",
        ) from error


def save_indicator(
    session: Session, actor: Actor, data: Mapping[str, Any], note: str = ""
) -> Indicator:
    """Check ``data`` and save it as the next version of its indicator (a new code starts at 1);
    ``Invalid`` with one field error per problem. The stored definition records its version."""
    actor.require(INDICATOR_MANAGE)
    catalog = effective_catalog(session)
    indicator, problems = read_indicator(data)
    if indicator is not None:
        problems = check_indicator(indicator, catalog)
    if indicator is None or problems:
        raise _invalid("indicator", "指标", problems)
    current = catalog.indicators.get(indicator.code)
    saved = replace(indicator, version=_next_version(session, "indicator", current))
    _store(session, actor, "indicator", saved, note)
    return saved


def save_measure(
    session: Session, actor: Actor, data: Mapping[str, Any], note: str = ""
) -> Measure:
    """Check ``data`` and save it as the next version of its measure (a new code starts at 1);
    ``Invalid`` with one field error per problem. The stored definition records its version."""
    actor.require(INDICATOR_MANAGE)
    catalog = effective_catalog(session)
    measure, problems = read_measure(data)
    if measure is not None:
        problems = check_measure(measure, catalog)
    if measure is None or problems:
        raise _invalid("measure", "指标项", problems)
    current = catalog.measures.get(measure.code)
    saved = replace(measure, version=_next_version(session, "measure", current))
    _store(session, actor, "measure", saved, note)
    return saved


def _history(session: Session, kind: str, code: str) -> list[CatalogVersion]:
    builtin = builtin_catalog()
    shipped = (builtin.indicators if kind == "indicator" else builtin.measures).get(code)
    versions = []
    if shipped is not None:
        versions.append(
            CatalogVersion(kind, code, shipped.version, shipped.as_dict(), "", BUILT_IN, None)
        )
    rows = session.scalars(
        select(IndicatorVersion)
        .where(IndicatorVersion.kind == kind, IndicatorVersion.code == code)
        .order_by(IndicatorVersion.version)
    )
    versions += [
        CatalogVersion(kind, code, r.version, dict(r.definition), r.note, r.saved_by, r.saved_at)
        for r in rows
    ]
    return versions


def indicator_history(
    session: Session, actor: Actor, code: str, kind: str = "indicator"
) -> list[CatalogVersion]:
    """Every version of an indicator (or, with ``kind="measure"``, a measure), oldest first,
    the built-in one included; ``NotFound`` for a code the catalog has never had."""
    actor.require(AGGREGATE_READ)
    versions = _history(session, kind, code)
    if not versions:
        raise NotFound(en=f"No {kind} with code {code}", zh=f"没有代码为 {code} 的指标")
    return versions


def indicator_detail(session: Session, actor: Actor, code: str) -> IndicatorDetail:
    """The indicator in force with the measures its value is made of (for a growth indicator,
    those of the indicator it grows from) and every version of it."""
    actor.require(AGGREGATE_READ)
    catalog = effective_catalog(session)
    indicator = catalog.indicators.get(code)
    if indicator is None:
        raise NotFound(en=f"No indicator with code {code}", zh=f"没有代码为 {code} 的指标")
    base, seen = indicator, {code}
    while base.growth_of and base.growth_of in catalog.indicators and base.growth_of not in seen:
        seen.add(base.growth_of)
        base = catalog.indicators[base.growth_of]
    codes = list(dict.fromkeys(measures_of(base.numerator) + measures_of(base.denominator)))
    measures = [catalog.measures[c] for c in codes if c in catalog.measures]
    return IndicatorDetail(indicator, measures, _history(session, "indicator", code))


def recompute(
    bind: Session | Engine,
    actor: Actor,
    lake_root: Path,
    county_code: str | None = None,
    engine: str = "duckdb",
) -> Recomputed:
    """Compute every indicator over the lake with the catalog in force and save the values
    beside the lake (``indicator:manage``, or ``lake:export`` for the operators' jobs). The
    county's values carry ``county_code``, by default the county this installation serves."""
    if not actor.can(INDICATOR_MANAGE):
        actor.require(LAKE_EXPORT)
    if county_code is None:
        county_code = get_settings().county_code
    if isinstance(bind, Session):
        catalog = effective_catalog(bind)
    else:
        with Session(bind) as session:
            catalog = effective_catalog(session)
    began = time.perf_counter()
    try:
        table = compute_catalog(catalog, lake_root, county_code, engine)
    except EngineUnavailable as error:
        raise invalid_field("engine", str(error), f"计算引擎 {engine} 未安装：{error}") from error
    seconds = time.perf_counter() - began
    computed_at = save_results(lake_root, table)
    return Recomputed(table.num_rows, engine, round(seconds, 3), computed_at)
