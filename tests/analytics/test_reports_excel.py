"""The Excel workbook of a report, opened back with openpyxl: sheets, Chinese headers, number
formats, frozen headers, widths, traffic-light fills and the cover."""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from tests.analytics.test_reports import AT, COUNTY, MARCH, results
from yigongti.analytics.catalog.model import builtin_catalog
from yigongti.analytics.reports import Unit, monthly_report, report_xlsx


def _workbook() -> Workbook:
    report = monthly_report(MARCH, builtin_catalog(), COUNTY, "2026-03", at=AT)
    return load_workbook(BytesIO(report_xlsx(report)))


def _row(ws: Worksheet, name: str) -> dict[str, Cell]:
    headers = [c.value for c in ws[1]]
    for cells in ws.iter_rows(min_row=2):
        if cells[0].value == name:
            return {str(h): c for h, c in zip(headers, cells, strict=True)}
    raise AssertionError(f"no row {name} in {ws.title}")


def test_the_workbook_has_a_cover_a_sheet_per_section_and_the_members_ranking() -> None:
    wb = _workbook()
    assert wb.sheetnames == ["封面", "费用控制", "分级诊疗", "运营", "预约服务", "成员单位排名"]


def test_section_sheets_have_chinese_headers_in_a_frozen_first_row() -> None:
    ws = _workbook()["费用控制"]
    headers = [c.value for c in ws[1]]
    assert headers[:10] == [
        "指标", "口径", "单位", "本期值", "去年同期", "同比（%）", "环比（%）", "目标值",
        "预警线", "状态",
    ]  # fmt: skip
    assert ws.freeze_panes == "A2"
    assert all(c.font.bold for c in ws[1])
    assert ws.column_dimensions["B"].width >= 20  # the caliber column is wide (and wraps)
    assert ws.column_dimensions["A"].width >= 10


def test_values_carry_number_formats_by_unit_and_the_status_a_fill() -> None:
    wb = _workbook()
    drug = _row(wb["费用控制"], "药占比")
    assert drug["本期值"].value == 28.5 and drug["本期值"].number_format == "0.00"
    assert drug["去年同期"].value == 28.0 and drug["同比（%）"].value == 1.8
    assert drug["状态"].value == "达标"
    assert drug["状态"].fill.fgColor.rgb.endswith("C6EFCE")  # green
    cost = _row(wb["费用控制"], "门急诊次均费用")
    assert cost["本期值"].value == 182.35 and cost["本期值"].number_format == "#,##0.00"
    assert cost["状态"].fill.fill_type is None  # no target, no light
    referrals = _row(wb["分级诊疗"], "上转人次")
    assert referrals["本期值"].number_format == "#,##0"  # counts are integers
    rate = _row(wb["分级诊疗"], "县域就诊率")
    assert rate["状态"].value == "未达标" and rate["状态"].fill.fgColor.rgb.endswith("FFC7CE")
    warning = _row(wb["分级诊疗"], "基层就诊率")
    assert warning["状态"].value == "预警" and warning["状态"].fill.fgColor.rgb.endswith("FFEB9C")


def test_the_cover_names_unit_period_time_in_shanghai_and_the_caliber_sources() -> None:
    ws = _workbook()["封面"]
    facts = {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row[0]}
    assert ws["A1"].value == "云岭县2026年3月运行监测月报"
    assert facts["单位"] == "云岭县" and facts["层级"] == "全县"
    assert facts["统计期"] == "2026年3月（2026-03）"
    assert str(facts["生成时间"]).startswith("2026-04-02 09:30:00")  # 01:30 UTC
    sources = [row[1] for row in ws.iter_rows(values_only=True) if row[0] is None and row[1]]
    assert any("国卫体改发〔2015〕89号" in s for s in sources)


def test_the_ranking_sheet_places_members_with_the_value_coloured_by_its_light() -> None:
    ws = _workbook()["成员单位排名"]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["综合名次", "单位", "平均名次"] and "药占比（%）" in headers
    drug = headers.index("药占比（%）")
    rows = {cells[1].value: cells for cells in ws.iter_rows(min_row=2)}
    assert set(rows) == {"甲镇卫生院", "乙镇卫生院"}
    assert rows["甲镇卫生院"][drug].value == 35.0
    assert rows["甲镇卫生院"][drug].fill.fgColor.rgb.endswith("FFC7CE")
    assert rows["乙镇卫生院"][drug + 1].value == 1  # its place on the drug share


def test_an_institution_workbook_has_no_ranking_sheet() -> None:
    table = results(("drug_share", "institution", "inst-a", "2026-03", 31.0, None, None))
    unit = Unit("institution", "inst-a", "甲镇卫生院")
    report = monthly_report(table, builtin_catalog(), unit, "2026-03")
    assert "成员单位排名" not in load_workbook(BytesIO(report_xlsx(report))).sheetnames
