"""Reports as Excel workbooks (openpyxl): a cover sheet, then one sheet per section.

Every sheet has Chinese headers in a frozen first row, widths that fit the content (Chinese
characters count double), number formats by the indicator's unit (``tables.UNIT_FORMATS``:
yuan with two decimals and thousands separators, counts as integers with separators, percent
values as ``0.00`` with "%" in the unit column, since the catalog's values are already
scaled to percent), and the traffic light as the status cell's fill.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from typing import NamedTuple

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from yigongti.analytics.reports.assessment import RULES_ZH, Assessment
from yigongti.analytics.reports.tables import (
    GRAIN_ZH,
    GROWTH_FORMAT,
    STATUS_ZH,
    Ranking,
    Report,
    Section,
    display_width,
    number_format,
)
from yigongti.kernel import local

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel's own "good", "neutral" and "bad" cell styles, so the sheet reads like any other.
STATUS_FILLS = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}
HEADER_FILL = "DDEBF7"
SCORE_FORMAT = "0.00"
MAX_WIDTH = 60
WRAPPED_WIDTH = 48  # caliber texts are long: wrapped at this width instead of one wide column

REPORT_HEADERS = (
    "指标", "口径", "单位", "本期值", "去年同期", "同比（%）", "环比（%）", "目标值", "预警线",
    "状态", "口径来源",
)  # fmt: skip


class XCell(NamedTuple):
    """A cell to write: its value, number format and traffic light (a status code)."""

    value: object
    number_format: str | None = None
    status: str | None = None


def _fill(rgb: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color=rgb, end_color=rgb)


def _table(
    ws: Worksheet,
    headers: Sequence[str],
    rows: Sequence[Sequence[XCell]],
    wrapped: frozenset[int] = frozenset(),
) -> None:
    """Write a header row (frozen, filtered) and ``rows``; columns in ``wrapped`` (0-based)
    wrap their text at ``WRAPPED_WIDTH``."""
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _fill(HEADER_FILL)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        ws.append([c.value for c in row])
        for cell, spec in zip(ws[ws.max_row], row, strict=True):
            if spec.number_format:
                cell.number_format = spec.number_format
            if spec.status in STATUS_FILLS:
                cell.fill = _fill(STATUS_FILLS[spec.status])
            cell.alignment = Alignment(vertical="top", wrap_text=cell.column - 1 in wrapped)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for index, header in enumerate(headers):
        texts = [header] + [_shown(row[index]) for row in rows]
        width = min(max(display_width(t) for t in texts) + 2, MAX_WIDTH)
        if index in wrapped:
            width = min(width, WRAPPED_WIDTH)
        ws.column_dimensions[get_column_letter(index + 1)].width = width


def _shown(cell: XCell) -> str:
    if isinstance(cell.value, float):
        return f"{cell.value:,.2f}"
    return "" if cell.value is None else str(cell.value)


def _cover(
    ws: Worksheet, title: str, facts: Sequence[tuple[str, str]], sources: Sequence[str]
) -> None:
    """The cover: title, what and when, the caliber sources and the traffic-light legend."""
    ws.title = "封面"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=16)
    ws.append([])
    for label, value in facts:
        ws.append([label, value])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
    ws.append([])
    ws.append(["口径来源"])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for source in sources:
        ws.append(["", source])
    ws.append([])
    ws.append(["状态说明"])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    legend = {
        "green": "达到或优于年度目标值",
        "amber": "未达目标值，尚未越过预警线",
        "red": "越过预警线",
    }
    for status, meaning in legend.items():
        ws.append([STATUS_ZH[status], meaning])
        ws.cell(ws.max_row, 1).fill = _fill(STATUS_FILLS[status])
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = min(
        max([display_width(v) for _, v in facts] + [display_width(s) for s in sources]) + 2,
        90,
    )


def _generated(moment: datetime) -> str:
    return f"{local(moment).strftime('%Y-%m-%d %H:%M:%S')}（北京时间 Asia/Shanghai）"


def _section_rows(section: Section) -> list[list[XCell]]:
    return [
        [
            XCell(r.name),
            XCell(r.caliber),
            XCell(r.unit),
            XCell(r.value, r.number_format),
            XCell(r.last_year, r.number_format),
            XCell(r.yoy, GROWTH_FORMAT),
            XCell(r.mom, GROWTH_FORMAT),
            XCell(r.target, r.number_format),
            XCell(r.alert, r.number_format),
            XCell(r.status_zh, status=r.status),
            XCell(r.source),
        ]
        for r in section.rows
    ]


def _ranking(ws: Worksheet, ranking: Ranking) -> None:
    headers = ["综合名次", "单位", "平均名次"]
    for i in ranking.indicators:
        headers += [f"{i.zh}（{i.unit}）", "名次"]
    rows = []
    for r in ranking.rows:
        cells = [XCell(r.rank, "0"), XCell(r.name), XCell(r.mean_rank, "0.00")]
        for indicator, value, place, status in zip(
            ranking.indicators, r.values, r.ranks, r.statuses, strict=True
        ):
            cells += [XCell(value, number_format(indicator), status), XCell(place, "0")]
        rows.append(cells)
    _table(ws, headers, rows)


def _bytes(wb: Workbook) -> bytes:
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def report_xlsx(report: Report) -> bytes:
    """The report as an .xlsx workbook: cover, one sheet per section, the members' ranking."""
    wb = Workbook()
    facts = [
        ("报告", report.kind.zh),
        ("单位", report.unit.name),
        ("层级", GRAIN_ZH[report.unit.grain]),
        ("统计期", f"{report.period_label}（{report.period}）"),
        ("生成时间", _generated(report.generated_at)),
        ("生成系统", "yigongti 医共体信息平台"),
    ]
    _cover(wb.active, report.title, facts, report.sources)
    for section in report.sections:
        _table(wb.create_sheet(section.zh), REPORT_HEADERS, _section_rows(section), frozenset({1}))
    if report.ranking is not None:
        _ranking(wb.create_sheet("成员单位排名"), report.ranking)
    return _bytes(wb)


def assessment_xlsx(assessment: Assessment) -> bytes:
    """The annual assessment as an .xlsx workbook: cover, scores, details, weights and rules."""
    wb = Workbook()
    facts = [
        ("报告", "年度考核"),
        ("地区", assessment.area),
        ("考核对象", GRAIN_ZH[assessment.grain]),
        ("考核年度", f"{assessment.year}年"),
        ("生成时间", _generated(assessment.generated_at)),
        ("生成系统", "yigongti 医共体信息平台"),
    ]
    sources = tuple(dict.fromkeys(i.source for i in assessment.indicators))
    _cover(wb.active, assessment.title, facts, sources)
    _scores(wb.create_sheet("年度考核"), assessment)
    _details(wb.create_sheet("考核明细"), assessment)
    _weights(wb.create_sheet("权重与规则"), assessment)
    return _bytes(wb)


def _scores(ws: Worksheet, assessment: Assessment) -> None:
    codes = [i.code for i in assessment.indicators]
    headers = ["名次", "单位", "总分", "计分指标数", "未计分指标"]
    headers += [f"{i.zh}得分" for i in assessment.indicators]
    names = {i.code: i.zh for i in assessment.indicators}
    rows = []
    for r in assessment.rows:
        points = {s.indicator: s.points for s in r.scores}
        rows.append(
            [
                XCell(r.rank, "0"),
                XCell(r.name),
                XCell(r.total, SCORE_FORMAT),
                XCell(len(r.scores), "0"),
                XCell("、".join(names[c] for c in r.left_out)),
            ]
            + [XCell(points.get(c), SCORE_FORMAT) for c in codes]
        )
    _table(ws, headers, rows)


def _details(ws: Worksheet, assessment: Assessment) -> None:
    headers = ["名次", "单位", "指标", "单位（计量）", "实际值", "目标值", "预警线", "权重（%）",
               "达成度（%）", "得分"]  # fmt: skip
    formats = {i.code: number_format(i) for i in assessment.indicators}
    rows = [
        [
            XCell(r.rank, "0"),
            XCell(r.name),
            XCell(s.name),
            XCell(s.unit),
            XCell(s.value, formats[s.indicator]),
            XCell(s.target, formats[s.indicator]),
            XCell(s.alert, formats[s.indicator]),
            XCell(100 * s.weight, "0.00"),
            XCell(100 * s.attainment, "0.00"),
            XCell(s.points, SCORE_FORMAT),
        ]
        for r in assessment.rows
        for s in r.scores
    ]
    _table(ws, headers, rows)


def _weights(ws: Worksheet, assessment: Assessment) -> None:
    direction = {"higher": "越高越好", "lower": "越低越好"}
    rows = []
    for i in assessment.indicators:
        target = i.target_for(assessment.year)
        assert target is not None  # only indicators with a target for the year are weighted
        rows.append(
            [
                XCell(i.zh),
                XCell(i.unit),
                XCell(direction[i.direction]),
                XCell(target.target, number_format(i)),
                XCell(target.alert, number_format(i)),
                XCell(assessment.weights[i.code], "0.00"),
            ]
        )
    _table(ws, ["指标", "单位", "方向", "目标值", "预警线", "权重"], rows)
    ws.append([])
    for line in RULES_ZH:
        ws.append([line])
