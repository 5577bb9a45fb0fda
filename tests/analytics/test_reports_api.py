"""The reports API: files with their media type and a Chinese file name (RFC 5987), the
assessment as JSON, and problem+json for a forbidden, unknown, malformed or not yet computed
request, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from tests.analytics.test_reports_service import figures_of
from tests.support import places
from yigongti import analytics
from yigongti.analytics.api.reports import get_figures
from yigongti.analytics.catalog.model import builtin_catalog
from yigongti.db import unit_of_work
from yigongti.settings import Settings

Login = Callable[[str], dict[str, str]]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONTHLY = "/api/v1/reports/monthly"


@pytest.fixture
def figures(client: TestClient, engine: Engine) -> Iterator[analytics.Figures]:
    """The hand-built figures the report endpoints read, in place of the lake's RESULTS."""
    with unit_of_work(engine) as session:
        computed = figures_of(places(session))
    client.app.dependency_overrides[get_figures] = lambda: computed
    yield computed
    client.app.dependency_overrides.pop(get_figures, None)


def _problem(answer: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["detail"] and body["detail_zh"] and body["detail"] != body["detail_zh"]
    if field is not None:
        # FastAPI names a query parameter "query.grain"; the services name the field alone.
        assert field in {e["field"].split(".")[-1] for e in body["errors"]}, body
    return body


def _filename(disposition: str) -> str:
    """The UTF-8 file name of an RFC 5987 ``filename*`` parameter."""
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    return unquote(encoded)


@pytest.mark.usefixtures("figures")
def test_the_monthly_report_downloads_as_excel_with_a_chinese_file_name(
    client: TestClient, login: Login
) -> None:
    answer = client.get(MONTHLY, params={"period": "2026-03"}, headers=login("bureau_analyst"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="monthly-county-2026-03.xlsx"')
    assert _filename(disposition) == "云岭县-2026-03-运行监测月报.xlsx"
    assert disposition.isascii()  # the header itself stays ASCII
    wb = load_workbook(BytesIO(answer.content))
    assert wb.sheetnames[:2] == ["封面", "费用控制"] and "成员单位排名" in wb.sheetnames


@pytest.mark.usefixtures("figures")
def test_a_township_doctor_downloads_his_institutions_report_as_pdf(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        center_name = places(session).center.name
    params = {"period": "2026-03", "grain": "institution", "format": "pdf"}
    answer = client.get(MONTHLY, params=params, headers=login("township_doctor"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    assert _filename(answer.headers["content-disposition"]) == (
        f"{center_name}-2026-03-运行监测月报.pdf"
    )
    county = client.get(MONTHLY, params={"period": "2026-03"}, headers=login("township_doctor"))
    _problem(county, 403)


@pytest.mark.usefixtures("figures")
def test_the_quarterly_bulletin_downloads_for_a_quarter(client: TestClient, login: Login) -> None:
    answer = client.get(
        "/api/v1/reports/quarterly", params={"period": "2026Q1"}, headers=login("bureau_admin")
    )
    assert answer.status_code == 200, answer.text
    assert _filename(answer.headers["content-disposition"]) == "云岭县-2026Q1-运行监测季度通报.xlsx"


@pytest.mark.usefixtures("figures")
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "March"}, "period"),
        ({"period": "2026-03", "grain": "town"}, "grain"),
        ({"period": "2026-03", "format": "docx"}, "format"),
        ({"period": "2026-03", "grain": "institution", "unit_id": "x1"}, "unit_id"),
    ],
)
def test_malformed_requests_are_422_problems(
    client: TestClient, login: Login, params: dict[str, str], field: str
) -> None:
    _problem(client.get(MONTHLY, params=params, headers=login("bureau_analyst")), 422, field)


@pytest.mark.usefixtures("figures")
def test_an_unknown_unit_or_an_empty_period_is_a_404_problem(
    client: TestClient, login: Login
) -> None:
    headers = login("bureau_analyst")
    unknown = {"period": "2026-03", "grain": "community", "unit_id": str(uuid.uuid4())}
    _problem(client.get(MONTHLY, params=unknown, headers=headers), 404)
    _problem(client.get(MONTHLY, params={"period": "2026-04"}, headers=headers), 404)


@pytest.mark.usefixtures("figures")
def test_a_role_without_report_permissions_gets_a_403_problem(
    client: TestClient, login: Login
) -> None:
    _problem(client.get(MONTHLY, params={"period": "2026-03"}, headers=login("cdc_officer")), 403)


def test_before_anything_is_computed_a_report_is_a_409_problem(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        code = places(session).center.county_code
    empty = analytics.Figures(None, builtin_catalog(), code, "云岭县")
    client.app.dependency_overrides[get_figures] = lambda: empty
    try:
        answer = client.get(MONTHLY, params={"period": "2026-03"}, headers=login("bureau_analyst"))
        assert "尚未计算" in _problem(answer, 409)["detail_zh"]
    finally:
        client.app.dependency_overrides.pop(get_figures, None)


@pytest.mark.usefixtures("figures")
def test_the_assessment_answers_json_and_excel(client: TestClient, login: Login) -> None:
    headers = login("bureau_analyst")
    answer = client.get("/api/v1/reports/assessment", params={"year": "2026"}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["year"] == "2026" and body["grain"] == "institution"
    assert [(r["rank"], r["total"]) for r in body["rows"]] == [(1, 100.0), (2, 50.0)]
    assert body["rows"][1]["scores"][0]["indicator"] == "drug_share"
    weighted = client.get(
        "/api/v1/reports/assessment",
        params={"year": "2026", "weights": "drug_share:1,service_revenue_share:3"},
        headers=headers,
    )
    assert weighted.json()["weights"] == {"drug_share": 1.0, "service_revenue_share": 3.0}
    sheet = client.get(
        "/api/v1/reports/assessment", params={"year": "2026", "format": "xlsx"}, headers=headers
    )
    assert sheet.status_code == 200 and sheet.headers["content-type"] == XLSX
    assert _filename(sheet.headers["content-disposition"]) == "云岭县-2026-年度考核.xlsx"
    assert "年度考核" in load_workbook(BytesIO(sheet.content)).sheetnames


@pytest.mark.usefixtures("figures")
def test_assessment_problems_forbidden_unknown_weights_and_bad_years(
    client: TestClient, login: Login
) -> None:
    url = "/api/v1/reports/assessment"
    _problem(client.get(url, params={"year": "2026"}, headers=login("township_doctor")), 403)
    headers = login("bureau_analyst")
    _problem(client.get(url, params={"year": "26"}, headers=headers), 422, "year")
    bad = {"year": "2026", "weights": "drug_share:lots"}
    _problem(client.get(url, params=bad, headers=headers), 422, "weights")
    unknown = {"year": "2026", "weights": "no_such:3"}
    _problem(client.get(url, params=unknown, headers=headers), 422, "weights")
    _problem(client.get(url, params={"year": "2024"}, headers=headers), 404)


@pytest.mark.filterwarnings("ignore:No fonts configured in FontConfig")
@pytest.mark.usefixtures("figures")
def test_without_a_cjk_font_a_pdf_request_is_a_503_problem(
    client: TestClient, login: Login, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fonts").mkdir()
    config = tmp_path / "fonts.conf"
    config.write_text(
        f"<fontconfig><dir>{tmp_path / 'fonts'}</dir>"
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    params = {"period": "2026-03", "format": "pdf"}
    body = _problem(client.get(MONTHLY, params=params, headers=login("bureau_analyst")), 503)
    assert "fonts-noto-cjk" in body["detail_zh"] and body["type"].endswith("pdf-unavailable")


def test_the_report_endpoints_read_the_results_the_last_computation_saved(
    client: TestClient, login: Login, engine: Engine, settings: Settings
) -> None:
    from yigongti.analytics.compute import save_results

    with unit_of_work(engine) as session:
        computed = figures_of(places(session))
    assert computed.results is not None
    headers = login("bureau_analyst")
    before = client.get(MONTHLY, params={"period": "2026-03"}, headers=headers)
    _problem(before, 409)
    save_results(settings.lake_dir, computed.results)
    after = client.get(MONTHLY, params={"period": "2026-03"}, headers=headers)
    assert after.status_code == 200, after.text
    drug = next(
        row
        for row in load_workbook(BytesIO(after.content))["费用控制"].iter_rows(values_only=True)
        if row[0] == "药占比"
    )
    assert drug[3] == 28.0
