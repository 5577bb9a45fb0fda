"""The PDF of a report: it embeds a Noto CJK font and names its unit; without a CJK font or
without WeasyPrint the export refuses with an error that says what to install."""

from __future__ import annotations

import re
import sys
import zlib
from pathlib import Path

import pytest

from tests.analytics.test_reports import AT, COUNTY, MARCH, results
from yigongti.analytics.catalog.model import builtin_catalog
from yigongti.analytics.reports import (
    PdfUnavailable,
    assessment_document,
    assessment_pdf,
    cjk_font_family,
    monthly_report,
    report_pdf,
)


def inflated(pdf: bytes) -> bytes:
    """The PDF with every Flate stream inflated beside it: WeasyPrint writes the font
    dictionaries and the outline into compressed object streams."""
    parts = [pdf]
    for start in re.finditer(rb"stream\r?\n", pdf):
        end = pdf.find(b"endstream", start.end())
        try:
            parts.append(zlib.decompressobj().decompress(pdf[start.end() : end]))
        except zlib.error:
            continue  # not a Flate stream
    return b"\n".join(parts)


def font_names(pdf: bytes) -> set[str]:
    """Base font and font names, without the subset tag and dashes: NotoSansCJKSC, ..."""
    found = re.findall(rb"/(?:BaseFont|FontName)\s*/([^\s/<>\[\]()]+)", inflated(pdf))
    return {name.decode().split("+")[-1].replace("-", "") for name in found}


def text_strings(pdf: bytes) -> list[str]:
    """The document's title and outline entries (hex UTF-16 or literal strings)."""
    found = re.findall(rb"/Title\s*(<[0-9A-Fa-f\s]*>|\((?:\\.|[^\\)])*\))", inflated(pdf))
    texts = []
    for raw in found:
        if raw.startswith(b"<"):
            data = bytes.fromhex(raw[1:-1].decode())
            texts.append(data.decode("utf-16") if data[:2] == b"\xfe\xff" else data.decode())
        else:
            texts.append(raw[1:-1].decode("latin-1"))
    return texts


def _report_pdf() -> bytes:
    return report_pdf(monthly_report(MARCH, builtin_catalog(), COUNTY, "2026-03", at=AT))


def test_the_pdf_embeds_a_noto_cjk_font_and_names_the_unit_and_sections() -> None:
    pdf = _report_pdf()
    assert pdf.startswith(b"%PDF-")
    assert any(n.startswith(("NotoSansCJK", "NotoSerifCJK")) for n in font_names(pdf))
    texts = text_strings(pdf)
    assert "云岭县2026年3月运行监测月报" in texts  # the document title and its first heading
    assert {"费用控制", "分级诊疗", "成员单位排名"} <= set(texts)  # headings in the outline


def test_the_assessment_pdf_embeds_the_font_and_names_the_county_and_year() -> None:
    table = results(("drug_share", "institution", "inst-a", "2026", 31.5, None, None))
    document = assessment_document(table, builtin_catalog(), 2026, area="云岭县", at=AT)
    pdf = assessment_pdf(document)
    assert any(n.startswith(("NotoSansCJK", "NotoSerifCJK")) for n in font_names(pdf))
    assert "云岭县2026年度机构考核" in text_strings(pdf)
    assert "考核结果" in text_strings(pdf)


def test_the_font_check_finds_noto_cjk_through_fontconfig() -> None:
    assert cjk_font_family().startswith(("Noto Sans CJK", "Noto Serif CJK"))


@pytest.fixture
def no_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fontconfig that knows no fonts at all (an empty font directory)."""
    (tmp_path / "fonts").mkdir()
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">'
        f"<fontconfig><dir>{tmp_path / 'fonts'}</dir>"
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))


# WeasyPrint checks fontconfig when it is first imported, and warns under the empty one.
@pytest.mark.filterwarnings("ignore:No fonts configured in FontConfig")
@pytest.mark.usefixtures("no_fonts")
def test_without_a_cjk_font_the_export_says_to_install_fonts_noto_cjk() -> None:
    with pytest.raises(PdfUnavailable) as raised:
        _report_pdf()
    assert raised.value.status == 503
    assert raised.value.zh.startswith("未找到中文字体（Noto Sans CJK）：请安装 fonts-noto-cjk")
    assert raised.value.en.startswith("No CJK font found (Noto Sans CJK): install fonts-noto-cjk")


def test_without_weasyprint_the_export_names_the_pdf_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # makes ``import weasyprint`` fail
    with pytest.raises(PdfUnavailable) as raised:
        _report_pdf()
    assert "'pdf'" in raised.value.en and "yigongti[pdf]" in raised.value.en
    assert "WeasyPrint" in raised.value.zh
