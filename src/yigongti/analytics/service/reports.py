"""Use cases of the data center: the monthly report, the quarterly bulletin, the annual
assessment, and their files.

Who may read what:

- ``aggregate:read`` (the bureau): the report of any unit (an institution, a medical community,
  the county) and the annual assessment.
- ``alert:read`` without ``aggregate:read`` (staff of an institution): the report of their own
  institution only. A community or county report ranks other institutions and the assessment
  ranks everyone, so those stay with the bureau.
- anyone else: ``Forbidden``.

The figures are the engines' RESULTS table and the catalog in force (:func:`current_figures`);
callers may pass their own :class:`Figures` (the tests do, with small hand-built tables).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.analytics.catalog.model import Catalog
from yigongti.analytics.reports import (
    PDF_MEDIA_TYPE,
    REPORT_KINDS,
    XLSX_MEDIA_TYPE,
    Assessment,
    Report,
    Unit,
    assessment_document,
    assessment_pdf,
    assessment_xlsx,
    build_report,
    check_period,
    report_pdf,
    report_xlsx,
)
from yigongti.analytics.results import GRAINS
from yigongti.kernel import Conflict, Forbidden, NotFound, invalid_field
from yigongti.security import Actor, roles

__all__ = [
    "Figures",
    "ReportFile",
    "assessment_file",
    "assessment_for",
    "current_figures",
    "report_file",
    "report_for",
]

MAX_INSTITUTIONS = 10_000  # a county has a few hundred; the cap only bounds one query


@dataclass(frozen=True)
class Figures:
    """The computed indicator values of one county and the catalog they are read with."""

    results: pa.Table | None  # None until the engines have computed anything
    catalog: Catalog
    county_code: str
    county_name: str


@dataclass(frozen=True)
class ReportFile:
    """A rendered report: its bytes, media type and file names."""

    content: bytes
    media_type: str
    filename: str  # with the unit's Chinese name: 云岭县-2026-03-运行监测月报.xlsx
    ascii_filename: str  # for clients that ignore RFC 5987 names: monthly-county-2026-03.xlsx


def current_figures(
    session: Session, lake_root: Path, county_code: str, county_name: str
) -> Figures:
    """The RESULTS saved by the last computation and the catalog in force."""
    # Imported here: the compute module brings in the engines (DuckDB, optionally Spark),
    # which only a read of the figures needs.
    from yigongti.analytics.compute import effective_catalog, load_results

    return Figures(load_results(lake_root), effective_catalog(session), county_code, county_name)


def _computed(figures: Figures) -> pa.Table:
    if figures.results is None or figures.results.num_rows == 0:
        raise Conflict(
            en="No indicator values have been computed yet: run the data-center computation first",
            zh="尚未计算指标结果：请先运行数据中心的指标计算",
        )
    return figures.results


def _check_grain(grain: str) -> None:
    if grain not in GRAINS:
        raise invalid_field(
            "grain",
            f"Unknown grain '{grain}': one of {', '.join(GRAINS)}",
            f"未知统计层级“{grain}”：应为 {'、'.join(GRAINS)} 之一",
        )


def _require_report_reader(actor: Actor) -> None:
    if not (actor.can(roles.AGGREGATE_READ) or actor.can(roles.ALERT_READ)):
        raise Forbidden(
            en=f"Your role ({actor.role_def.en}) may not read reports: they need "
            f"{roles.AGGREGATE_READ}, or {roles.ALERT_READ} for one's own institution",
            zh=f"您的角色（{actor.role_def.zh}）无权查看报表：需要 {roles.AGGREGATE_READ}，"
            f"或以 {roles.ALERT_READ} 查看本机构报表",
        )


def _unit_id(actor: Actor, figures: Figures, grain: str, unit_id: str | None) -> str:
    """The unit asked for in its canonical form; the county and one's own institution are
    the defaults when none is named."""
    if unit_id is None:
        if grain == "county":
            return figures.county_code
        if grain == "institution" and actor.institution_id is not None:
            return str(actor.institution_id)
        raise invalid_field("unit_id", f"Name the {grain} (unit_id)", "请指定统计单位（unit_id）")
    if grain == "county":
        return unit_id
    try:
        return str(uuid.UUID(unit_id))
    except ValueError:
        raise invalid_field(
            "unit_id",
            f"unit_id of a {grain} is its id (a UUID), not '{unit_id}'",
            f"统计单位标识应为 UUID，而不是“{unit_id}”",
        ) from None


def _require_unit_access(actor: Actor, grain: str, unit_id: str) -> None:
    if actor.can(roles.AGGREGATE_READ):
        return
    own = actor.institution_id is not None and str(actor.institution_id) == unit_id
    if grain != "institution" or not own:
        raise Forbidden(
            en="Your role may read the reports of your own institution only",
            zh="您的角色只能查看本机构的报表",
        )


def _institution_unit(session: Session, figures: Figures, unit_id: str) -> Unit:
    institution = registry.get_institution(session, uuid.UUID(unit_id))
    return Unit("institution", unit_id, institution.name)


def _community_unit(session: Session, figures: Figures, unit_id: str) -> Unit:
    community = registry.get_community(session, uuid.UUID(unit_id))
    members = registry.members_of_community(session, community.id)
    return Unit("community", unit_id, community.name, tuple((str(m.id), m.name) for m in members))


def _county_unit(session: Session, figures: Figures, unit_id: str) -> Unit:
    if unit_id != figures.county_code:
        raise _no_county(unit_id, figures)
    _, institutions = registry.list_institutions(
        session, registry.InstitutionQuery(limit=MAX_INSTITUTIONS)
    )
    members = tuple(
        (str(i.id), i.name) for i in institutions if i.county_code == figures.county_code
    )
    return Unit("county", unit_id, figures.county_name, members)


def _no_county(unit_id: str, figures: Figures) -> NotFound:
    return NotFound(
        en=f"No county '{unit_id}' here: this server holds county {figures.county_code}",
        zh=f"没有区划代码为“{unit_id}”的县：本系统为 {figures.county_code}"
        f"（{figures.county_name}）",
    )


_UNITS: dict[str, Callable[[Session, Figures, str], Unit]] = {
    "institution": _institution_unit,
    "community": _community_unit,
    "county": _county_unit,
}


def report_for(
    session: Session,
    actor: Actor,
    figures: Figures,
    kind: str,
    grain: str,
    unit_id: str | None,
    period: str,
    *,
    at: datetime | None = None,
) -> Report:
    """The monthly report (``kind="monthly"``, period 2026-03) or quarterly bulletin
    (``"quarterly"``, 2026Q1) of a unit.

    ``Invalid`` for an unknown kind or grain or a malformed unit id or period, ``Forbidden``
    outside the actor's reports, ``Conflict`` before anything is computed, ``NotFound`` for an
    unknown unit or one without values in the period.
    """
    _require_report_reader(actor)
    if kind not in REPORT_KINDS:
        raise invalid_field(
            "kind", f"Unknown report '{kind}'", f"未知报表类型“{kind}”：应为 monthly 或 quarterly"
        )
    _check_grain(grain)
    check_period(period, REPORT_KINDS[kind].period_kind)
    unit_id = _unit_id(actor, figures, grain, unit_id)
    _require_unit_access(actor, grain, unit_id)
    results = _computed(figures)
    unit = _UNITS[grain](session, figures, unit_id)
    return build_report(results, figures.catalog, unit, period, kind, at=at)


def _names(session: Session, figures: Figures, grain: str) -> dict[str, str]:
    if grain == "institution":
        _, found = registry.list_institutions(
            session, registry.InstitutionQuery(limit=MAX_INSTITUTIONS)
        )
        return {str(i.id): i.name for i in found}
    if grain == "community":
        return {str(c.id): c.name for c in registry.list_communities(session)}
    return {figures.county_code: figures.county_name}


def assessment_for(
    session: Session,
    actor: Actor,
    figures: Figures,
    year: int | str,
    weights: Mapping[str, float] | None = None,
    grain: str = "institution",
    *,
    at: datetime | None = None,
) -> Assessment:
    """The annual assessment of every unit of ``grain`` in ``year`` (aggregate:read)."""
    actor.require(roles.AGGREGATE_READ)
    check_period(str(year), "year", field="year")
    _check_grain(grain)
    results = _computed(figures)
    names = _names(session, figures, grain)
    return assessment_document(
        results,
        figures.catalog,
        year,
        weights,
        grain,
        area=figures.county_name,
        names=names,
        at=at,
    )


T = TypeVar("T")
_MEDIA_TYPES = {"xlsx": XLSX_MEDIA_TYPE, "pdf": PDF_MEDIA_TYPE}
_REPORT_RENDERERS: dict[str, Callable[[Report], bytes]] = {"xlsx": report_xlsx, "pdf": report_pdf}
_ASSESSMENT_RENDERERS: dict[str, Callable[[Assessment], bytes]] = {
    "xlsx": assessment_xlsx,
    "pdf": assessment_pdf,
}


def _render(renderers: Mapping[str, Callable[[T], bytes]], document: T, fmt: str) -> bytes:
    if fmt not in renderers:
        raise invalid_field(
            "format",
            f"Unknown file format '{fmt}': one of {', '.join(renderers)}",
            f"未知文件格式“{fmt}”：应为 {'、'.join(renderers)} 之一",
        )
    return renderers[fmt](document)


def _safe(name: str) -> str:
    # Characters no file system or browser accepts in a file name.
    return re.sub(r'[\\/:*?"<>|\s]+', "_", name)


def report_file(report: Report, fmt: str) -> ReportFile:
    """The report as a file: ``xlsx`` (Excel) or ``pdf``."""
    content = _render(_REPORT_RENDERERS, report, fmt)
    unit = report.unit
    return ReportFile(
        content=content,
        media_type=_MEDIA_TYPES[fmt],
        filename=_safe(f"{unit.name}-{report.period}-{report.kind.zh}.{fmt}"),
        ascii_filename=f"{report.kind.code}-{unit.grain}-{report.period}.{fmt}",
    )


def assessment_file(assessment: Assessment, fmt: str) -> ReportFile:
    """The annual assessment as a file: ``xlsx`` (Excel) or ``pdf``."""
    content = _render(_ASSESSMENT_RENDERERS, assessment, fmt)
    return ReportFile(
        content=content,
        media_type=_MEDIA_TYPES[fmt],
        filename=_safe(f"{assessment.area}-{assessment.year}-年度考核.{fmt}"),
        ascii_filename=f"assessment-{assessment.grain}-{assessment.year}.{fmt}",
    )
