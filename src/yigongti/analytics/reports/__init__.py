"""Reports of the data center: the monthly monitoring report, the quarterly bulletin and the
annual assessment, built from computed indicator values (RESULTS) and the catalog, and
rendered as Excel workbooks or PDF.

Building is pure: a RESULTS table and a catalog in, a report out. Who may read which report,
and where the values come from, is ``analytics.service.reports``.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from yigongti.analytics.catalog.model import Catalog
from yigongti.analytics.reports.assessment import (
    DEFAULT_WEIGHTS,
    Assessment,
    AssessmentRow,
    IndicatorScore,
    annual_assessment,
    assessment_document,
    attainment,
)
from yigongti.analytics.reports.excel import XLSX_MEDIA_TYPE, assessment_xlsx, report_xlsx
from yigongti.analytics.reports.pdf import (
    PDF_MEDIA_TYPE,
    PdfUnavailable,
    assessment_pdf,
    cjk_font_family,
    report_pdf,
)
from yigongti.analytics.reports.tables import (
    RANKED,
    REPORT_KINDS,
    SECTIONS,
    STATUS_ZH,
    Ranking,
    RankingRow,
    Report,
    ReportRow,
    Section,
    SectionSpec,
    Unit,
    build_report,
    check_period,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "PDF_MEDIA_TYPE",
    "RANKED",
    "REPORT_KINDS",
    "SECTIONS",
    "STATUS_ZH",
    "XLSX_MEDIA_TYPE",
    "Assessment",
    "AssessmentRow",
    "IndicatorScore",
    "PdfUnavailable",
    "Ranking",
    "RankingRow",
    "Report",
    "ReportRow",
    "Section",
    "SectionSpec",
    "Unit",
    "annual_assessment",
    "assessment_document",
    "assessment_pdf",
    "assessment_xlsx",
    "attainment",
    "build_report",
    "check_period",
    "cjk_font_family",
    "monthly_report",
    "quarterly_bulletin",
    "report_pdf",
    "report_xlsx",
]


def monthly_report(
    results: pa.Table, catalog: Catalog, unit: Unit, period: str, *, at: datetime | None = None
) -> Report:
    """The monthly monitoring report (月度监测) of ``unit`` for the month ``period`` (2026-03)."""
    return build_report(results, catalog, unit, period, "monthly", at=at)


def quarterly_bulletin(
    results: pa.Table, catalog: Catalog, unit: Unit, period: str, *, at: datetime | None = None
) -> Report:
    """The quarterly bulletin (季度通报) of ``unit`` for the quarter ``period`` (2026Q1)."""
    return build_report(results, catalog, unit, period, "quarterly", at=at)
