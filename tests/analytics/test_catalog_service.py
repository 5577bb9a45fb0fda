"""Saving the bureau's indicators and measures: checked, versioned, never edited, and only by a
role that may manage indicators; the API answers 403 and 422 as problem+json."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.support import actor
from yigongti import analytics
from yigongti.analytics.catalog.model import builtin_catalog
from yigongti.analytics.compute import effective_catalog, load_results
from yigongti.analytics.models import IndicatorVersion
from yigongti.bench.indicators import build_lake
from yigongti.bench.indicators.lake import MONTHS
from yigongti.db import unit_of_work
from yigongti.kernel import Forbidden, Invalid, NotFound
from yigongti.settings import Settings

BUILTIN = builtin_catalog()


def drug_share(**changes: Any) -> dict[str, Any]:
    """The built-in drug share's stored form with ``changes``."""
    return {**BUILTIN.indicators["drug_share"].as_dict(), **changes}


PRIVATE_VISITS = {
    "code": "private_visits", "zh": "民营机构门急诊人次", "en": "Private outpatient visits",
    "dataset": "visits", "aggregate": "count",
    "where": "ownership = 'private' AND kind IN ('outpatient', 'emergency')",
}  # fmt: skip
PRIVATE_SHARE = drug_share(
    code="private_visit_share", zh="民营机构就诊占比", en="Private visit share",
    numerator="private_visits", denominator="outpatient_visits", targets={},
)  # fmt: skip


def test_saving_a_built_in_indicator_adds_its_next_version(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        saved = analytics.save_indicator(
            session, actor(session, "bureau_admin"), drug_share(scale=100.0, targets={
                "2026": {"target": 28, "alert": 31}}), "2026 target lowered")  # fmt: skip
    assert saved.version == 2
    with unit_of_work(engine) as session:
        again = analytics.save_indicator(session, actor(session, "bureau_admin"), drug_share())
        assert again.version == 3
        rows = session.scalars(
            select(IndicatorVersion).where(IndicatorVersion.code == "drug_share")
        ).all()
        assert sorted(r.version for r in rows) == [2, 3]
        assert {r.definition["version"] for r in rows} == {2, 3}  # the stored form says which
        catalog = effective_catalog(session)
        assert catalog.indicators["drug_share"].version == 3
        assert list(catalog.indicators)[: len(BUILTIN.indicators)] == list(BUILTIN.indicators)
        history = analytics.indicator_history(
            session, actor(session, "bureau_analyst"), "drug_share"
        )
    assert [(v.version, v.saved_by) for v in history] == [
        (1, "built-in"),
        (2, "bureau-admin"),
        (3, "bureau-admin"),
    ]
    assert history[1].definition["targets"]["2026"] == {"target": 28.0, "alert": 31.0}
    assert history[1].note == "2026 target lowered"


def test_a_new_measure_and_indicator_start_at_version_one(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        admin = actor(session, "bureau_admin")
        measure = analytics.save_measure(session, admin, PRIVATE_VISITS)
        indicator = analytics.save_indicator(session, admin, PRIVATE_SHARE)
    assert (measure.version, indicator.version) == (1, 1)
    with unit_of_work(engine) as session:
        detail = analytics.indicator_detail(
            session, actor(session, "bureau_analyst"), indicator.code
        )
    assert [m.code for m in detail.measures] == ["private_visits", "outpatient_visits"]
    assert [v.saved_by for v in detail.versions] == ["bureau-admin"]


def test_a_bad_formula_is_refused_with_a_field_error_and_nothing_is_saved(engine: Engine) -> None:
    with unit_of_work(engine) as session, pytest.raises(Invalid) as refused:
        analytics.save_indicator(
            session, actor(session, "bureau_admin"), drug_share(numerator="drug_revenue + bonus")
        )
    assert [f.field for f in refused.value.fields] == ["numerator"]
    assert "unknown measure bonus" in refused.value.en
    with unit_of_work(engine) as session:
        assert session.scalar(select(IndicatorVersion.id)) is None


def test_a_dry_run_check_reports_problems_without_saving(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        admin = actor(session, "bureau_admin")
        problems = analytics.check_indicator_definition(session, admin, drug_share(unit="kg"))
        assert [p.field for p in problems] == ["unit"]
        assert analytics.check_indicator_definition(session, admin, drug_share()) == []
        bad = {**PRIVATE_VISITS, "where": "ownership = 1"}
        assert [p.field for p in analytics.check_measure_definition(session, admin, bad)] == [
            "where"
        ]
        assert session.scalar(select(IndicatorVersion.id)) is None


@pytest.mark.parametrize("role", ["bureau_analyst", "county_doctor", "system_admin"])
def test_only_a_role_that_manages_indicators_may_save_them(engine: Engine, role: str) -> None:
    with unit_of_work(engine) as session, pytest.raises(Forbidden):
        analytics.save_indicator(session, actor(session, role), drug_share())


def test_reading_the_catalog_needs_aggregate_read(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        assert analytics.catalog_of(session, actor(session, "bureau_analyst")).indicators
        with pytest.raises(Forbidden):
            analytics.catalog_of(session, actor(session, "resident"))
        with pytest.raises(NotFound):
            analytics.indicator_history(session, actor(session, "bureau_analyst"), "nothing")


def test_recompute_uses_the_catalog_in_force_and_saves_the_values(
    engine: Engine, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    build_lake(lake, 3000, 5, members=(0, 3, 18, 28), months=MONTHS[:3])  # 28: private
    with unit_of_work(engine) as session:
        admin = actor(session, "bureau_admin")
        analytics.save_measure(session, admin, PRIVATE_VISITS)
        analytics.save_indicator(session, admin, PRIVATE_SHARE)
    with unit_of_work(engine) as session:
        done = analytics.recompute(session, actor(session, "bureau_admin"), lake, "330784")
    table = load_results(lake)
    assert table is not None and done.rows == table.num_rows > 0
    private = [r for r in table.to_pylist() if r["indicator"] == "private_visit_share"]
    assert private and all(r["value"] is not None for r in private)
    assert any(r["value"] > 0 for r in private)  # the private clinic's visits
    with unit_of_work(engine) as session, pytest.raises(Forbidden):
        analytics.recompute(session, actor(session, "bureau_analyst"), lake, "330784")


# API


def test_api_refuses_a_save_to_a_role_without_indicator_manage(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    answer = client.post("/api/v1/indicators", json=drug_share(), headers=login("bureau_analyst"))
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"


def test_api_answers_a_bad_formula_with_422_and_the_field(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    answer = client.post(
        "/api/v1/indicators",
        json=drug_share(numerator="SUM(drug_revenue)"),
        headers=login("bureau_admin"),
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert answer.headers["content-type"] == "application/problem+json"
    assert problem["errors"][0]["field"] == "numerator"
    assert "not SUM(drug_revenue)" in problem["errors"][0]["message"]
    assert problem["errors"][0]["message_zh"].startswith("公式中只能用指标项代码")


def test_api_saves_checks_and_shows_versions(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    admin = login("bureau_admin")
    check = client.post("/api/v1/indicators/check", json=drug_share(direction="up"), headers=admin)
    assert check.status_code == 422  # the API's own schema: higher or lower
    check = client.post("/api/v1/indicators/check", json=drug_share(grains=["ward"]), headers=admin)
    assert check.status_code == 200
    assert check.json()["ok"] is False and check.json()["problems"][0]["field"] == "grains"
    measure = client.post("/api/v1/measures", json=PRIVATE_VISITS, headers=admin)
    assert measure.status_code == 201 and measure.json()["version"] == 1
    saved = client.post(
        "/api/v1/indicators", json={**drug_share(), "note": "reviewed"}, headers=admin
    )
    assert saved.status_code == 201 and saved.json()["version"] == 2
    detail = client.get("/api/v1/indicators/drug_share", headers=login("bureau_analyst"))
    assert detail.status_code == 200
    body = detail.json()
    assert body["indicator"]["caliber_zh"].startswith("药品收入")
    assert [v["version"] for v in body["versions"]] == [1, 2]
    assert body["versions"][1]["note"] == "reviewed"
    assert [m["code"] for m in body["measures"]] == ["drug_revenue", "medical_revenue"]
    listing = client.get("/api/v1/indicators", headers=login("bureau_analyst")).json()
    assert "private_visits" in [m["code"] for m in listing["measures"]]
    assert client.get("/api/v1/indicators", headers=login("resident")).status_code == 403


def test_api_recomputes_over_the_lake_of_the_data_dir(
    client: TestClient, login: Callable[[str], dict[str, str]], settings: Settings
) -> None:
    build_lake(settings.lake_dir, 2000, 5, members=(0, 3), months=MONTHS[:2])
    answer = client.post("/api/v1/indicators/recompute", json={}, headers=login("bureau_admin"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] > 0 and answer.json()["engine"] == "duckdb"
    assert load_results(settings.lake_dir) is not None
    denied = client.post("/api/v1/indicators/recompute", headers=login("bureau_analyst"))
    assert denied.status_code == 403
