"""Reports as PDF: the same content as the workbook, as HTML rendered by WeasyPrint (A4).

Chinese text needs a CJK font. Before rendering, the font check asks fontconfig (the library
WeasyPrint finds fonts through) for a Noto CJK family that covers Chinese; without one the
PDF would come out with empty boxes instead of characters, so the export refuses with an
error that says what to install. WeasyPrint is an optional extra ("pdf"): without it the
export says so instead of failing on an import.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape

from yigongti.analytics.reports.assessment import RULES_ZH, Assessment
from yigongti.analytics.reports.tables import (
    GRAIN_ZH,
    GROWTH_FORMAT,
    STATUS_ZH,
    Ranking,
    Report,
    Section,
    format_number,
    number_format,
)
from yigongti.kernel import DomainError, local

PDF_MEDIA_TYPE = "application/pdf"
# Noto CJK under its own and under Adobe's name (Source Han), Simplified Chinese first.
FONT_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Serif SC",
)

_CSS = """
@page {
  size: A4;
  margin: 16mm 12mm 16mm 12mm;
  @top-left { content: string(doc-title); font-size: 8pt; color: #555; }
  @top-right { content: "yigongti"; font-size: 8pt; color: #555; }
  @bottom-center { content: counter(page) " / " counter(pages); font-size: 8pt; }
}
@page wide { size: A4 landscape; }
html { font-family: "__FAMILY__", sans-serif; font-size: 8.5pt; color: #222; }
h1 { font-size: 16pt; string-set: doc-title content(); margin: 0 0 6pt 0; }
h2 { font-size: 12pt; margin: 12pt 0 4pt 0; border-bottom: 1pt solid #4a6fa5; }
.wide { page: wide; }
table { width: 100%; border-collapse: collapse; margin-bottom: 6pt; }
thead { display: table-header-group; }
th { background: #ddebf7; font-weight: bold; white-space: nowrap; }
table.many th { white-space: normal; font-size: 7.5pt; }
th, td { border: 0.5pt solid #999; padding: 2pt 3pt; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
td.caliber { font-size: 7pt; color: #444; width: 30%; }
td.name { white-space: nowrap; }
table.facts { width: auto; }
table.facts th { text-align: left; padding-right: 12pt; }
td.green { background: #c6efce; color: #006100; }
td.amber { background: #ffeb9c; color: #9c5700; }
td.red { background: #ffc7ce; color: #9c0006; }
p.note, li { font-size: 8pt; }
"""


class PdfUnavailable(DomainError):
    """The server cannot make PDFs: WeasyPrint or a CJK font is missing (503)."""

    status = 503
    code = "pdf-unavailable"


NO_WEASYPRINT = PdfUnavailable(
    en="PDF export needs WeasyPrint, which is not installed: install yigongti with the 'pdf' "
    "extra (pip install 'yigongti[pdf]'), or download the Excel file instead",
    zh="PDF 导出需要 WeasyPrint，但未安装：请以“pdf”扩展安装 yigongti"
    "（pip install 'yigongti[pdf]'），或改为下载 Excel 文件",
)


def _no_font(detail_en: str, detail_zh: str) -> PdfUnavailable:
    return PdfUnavailable(
        en=f"No CJK font found (Noto Sans CJK): install fonts-noto-cjk ({detail_en})",
        zh=f"未找到中文字体（Noto Sans CJK）：请安装 fonts-noto-cjk（{detail_zh}）",
    )


def cjk_font_family() -> str:
    """The first of ``FONT_FAMILIES`` that fontconfig lists for Chinese (``fc-list :lang=zh``).

    ``PdfUnavailable`` when none is installed, or fontconfig itself is missing.
    """
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=zh", "family"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise _no_font(
            f"fontconfig's fc-list did not run: {error}", "fontconfig 的 fc-list 无法运行"
        ) from error
    # One line per font: "Noto Sans CJK SC,Noto Sans CJK SC Regular" (names comma-separated).
    families = {name.strip() for line in listed.stdout.splitlines() for name in line.split(",")}
    for family in FONT_FAMILIES:
        if family in families:
            return family
    raise _no_font("fontconfig lists none for Chinese", "fontconfig 未列出任何中文字体")


def render_pdf(title: str, body: str) -> bytes:
    """An A4 PDF of the HTML ``body`` under ``title`` (also the document's metadata title)."""
    try:
        import weasyprint  # an optional extra: imported only when a PDF is asked for
    except ImportError as error:
        raise NO_WEASYPRINT from error
    family = cjk_font_family()
    css = _CSS.replace("__FAMILY__", family)
    page = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<title>{escape(title)}</title><meta name="generator" content="yigongti">'
        f"<style>{css}</style></head><body>{body}</body></html>"
    )
    return weasyprint.HTML(string=page).write_pdf()


def _cells(cells: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<td class="{cls}">{escape(text)}</td>' for text, cls in cells)


def _table(headers: Sequence[str], rows: Iterable[Iterable[tuple[str, str]]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(f"<tr>{_cells(row)}</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _facts(title: str, facts: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    return f'<h1>{escape(title)}</h1><table class="facts">{rows}</table>'


def _generated(moment: datetime) -> str:
    return f"{local(moment).strftime('%Y-%m-%d %H:%M:%S')}（北京时间）"


def _legend() -> str:
    meaning = {"green": "达到或优于年度目标值", "amber": "未达目标值，尚未越过预警线",
               "red": "越过预警线"}  # fmt: skip
    cells = "".join(
        f'<td class="{s}">{STATUS_ZH[s]}</td><td>{escape(m)}</td>' for s, m in meaning.items()
    )
    return f'<table class="facts"><tr><th>状态说明</th>{cells}</tr></table>'


def _sources(sources: Iterable[str]) -> str:
    items = "".join(f"<li>{escape(s)}</li>" for s in sources)
    return f"<h2>口径来源</h2><ul>{items}</ul>"


def _section(section: Section) -> str:
    headers = ("指标", "口径", "单位", "本期值", "去年同期", "同比（%）", "环比（%）", "目标值",
               "预警线", "状态")  # fmt: skip
    rows = (
        [
            (r.name, ""),
            (r.caliber, "caliber"),
            (r.unit, ""),
            (format_number(r.value, r.number_format), "num"),
            (format_number(r.last_year, r.number_format), "num"),
            (format_number(r.yoy, GROWTH_FORMAT), "num"),
            (format_number(r.mom, GROWTH_FORMAT), "num"),
            (format_number(r.target, r.number_format), "num"),
            (format_number(r.alert, r.number_format), "num"),
            (r.status_zh, r.status or ""),
        ]
        for r in section.rows
    )
    return f"<h2>{escape(section.zh)}</h2>{_table(headers, rows)}"


def _ranking(ranking: Ranking) -> str:
    headers = ["名次", "单位", "平均名次"] + [f"{i.zh}（{i.unit}）" for i in ranking.indicators]
    rows = (
        [(str(r.rank), "num"), (r.name, "name"), (f"{r.mean_rank:.2f}", "num")]
        + [
            (
                format_number(value, number_format(i)) + (f"（{place}）" if place else ""),
                f"num {status or ''}",
            )
            for i, value, place, status in zip(
                ranking.indicators, r.values, r.ranks, r.statuses, strict=True
            )
        ]
        for r in ranking.rows
    )
    note = '<p class="note">各指标数值后括号内为该指标名次；综合名次按各指标名次的平均值排列。</p>'
    table = _table(headers, rows, "many")
    return f'<section class="wide"><h2>成员单位排名</h2>{table}{note}</section>'


def report_pdf(report: Report) -> bytes:
    """The report as a PDF: the facts, one table per section, the members' ranking."""
    facts = [
        ("单位", report.unit.name),
        ("层级", GRAIN_ZH[report.unit.grain]),
        ("统计期", f"{report.period_label}（{report.period}）"),
        ("生成时间", _generated(report.generated_at)),
    ]
    parts = [_facts(report.title, facts), _legend()]
    parts += [_section(s) for s in report.sections]
    parts.append(_sources(report.sources))
    if report.ranking is not None:
        parts.append(_ranking(report.ranking))
    return render_pdf(report.title, "".join(parts))


def assessment_pdf(assessment: Assessment) -> bytes:
    """The annual assessment as a PDF: scores by unit, then the weights and the rule."""
    facts = [
        ("地区", assessment.area),
        ("考核对象", GRAIN_ZH[assessment.grain]),
        ("考核年度", f"{assessment.year}年"),
        ("生成时间", _generated(assessment.generated_at)),
    ]
    indicators = assessment.indicators
    headers = ["名次", "单位", "总分", "计分指标数"] + [f"{i.zh}得分" for i in indicators]
    rows = []
    for r in assessment.rows:
        points = {s.indicator: s.points for s in r.scores}
        rows.append(
            [(str(r.rank), "num"), (r.name, "name"), (f"{r.total:.2f}", "num"),
             (str(len(r.scores)), "num")]
            + [(format_number(points.get(i.code), "0.00"), "num") for i in indicators]
        )  # fmt: skip
    direction = {"higher": "越高越好", "lower": "越低越好"}
    weights = []
    for i in indicators:
        target = i.target_for(assessment.year)
        assert target is not None  # only indicators with a target for the year are weighted
        weights.append(
            [(i.zh, ""), (i.unit, ""), (direction[i.direction], ""),
             (format_number(target.target, number_format(i)), "num"),
             (format_number(target.alert, number_format(i)), "num"),
             (f"{assessment.weights[i.code]:.2f}", "num")]
        )  # fmt: skip
    rules = "".join(f'<p class="note">{escape(line)}</p>' for line in RULES_ZH)
    body = (
        _facts(assessment.title, facts)
        + f"<h2>考核结果</h2>{_table(headers, rows, 'many')}"
        + "<h2>权重与规则</h2>"
        + _table(("指标", "单位", "方向", "目标值", "预警线", "权重"), weights)
        + rules
        + _sources(dict.fromkeys(i.source for i in indicators))
    )
    # Landscape throughout: one column per weighted indicator does not fit a portrait page.
    return render_pdf(assessment.title, f'<section class="wide">{body}</section>')
