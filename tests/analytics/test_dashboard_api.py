"""The dashboard's JSON API: answers over a computed lake, and problem+json for bad queries
(422), unknown units (404), a lake not computed yet (409) and roles without aggregate:read."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.analytics.test_dashboard import Computed, computed  # noqa: F401 - the fixture
from yigongti.settings import Settings
from yigongti.web.errors import PROBLEM

Login = Callable[[str], dict[str, str]]
D = "/api/v1/dashboard"


@pytest.fixture
def lake(settings: Settings, computed: Computed) -> None:  # noqa: F811 - the fixture above
    """The computed lake, copied where the test application keeps its lake."""
    shutil.copytree(computed.lake, settings.lake_dir)


def test_the_headline_answers_tiles_with_targets_and_traffic_lights(
    client: TestClient,
    login: Login,
    lake: None,
    computed: Computed,  # noqa: F811
) -> None:
    answer = client.get(
        f"{D}/headline", params={"period": "2025-06"}, headers=login("bureau_analyst")
    )
    assert answer.status_code == 200, answer.text
    tiles = {tile["indicator"]: tile for tile in answer.json()}
    drug = tiles["drug_share"]
    assert (drug["period"], drug["unit"], drug["target"], drug["alert"]) == ("2025-06", "%", 30, 33)
    assert drug["status"] in ("green", "amber", "red") and drug["unit_id"] == computed.county
    assert drug["value"] == pytest.approx(100 * drug["numerator"] / drug["denominator"])


def test_trend_ranking_flows_and_records_answer_for_the_bureau(
    client: TestClient,
    login: Login,
    lake: None,
    computed: Computed,  # noqa: F811
) -> None:
    headers = login("bureau_admin")
    trend = client.get(
        f"{D}/trend",
        params={"indicator": "drug_share", "grain": "county", "unit_id": computed.county},
        headers=headers,
    )
    assert trend.status_code == 200 and len(trend.json()["points"]) >= 12
    ranking = client.get(
        f"{D}/ranking", params={"indicator": "drug_share", "period": "2025Q3"}, headers=headers
    )
    best = ranking.json()["rows"][0]
    assert best["rank"] == 1 and best["unit"]["grain"] == "institution"
    flows = client.get(f"{D}/referral-flows", params={"period": "2025"}, headers=headers).json()
    assert flows["links"] and {n["side"] for n in flows["nodes"]} == {"from", "to"}
    records = client.get(
        f"{D}/records",
        params={
            "indicator": "drug_share",
            "grain": "institution",
            "unit_id": best["unit"]["unit_id"],
            "period": "2025Q3",
            "side": "denominator",
            "limit": 5,
        },
        headers=headers,
    )
    assert records.status_code == 200, records.text
    (part,) = records.json()["measures"]
    assert part["amount"] == best["denominator"] and len(part["rows"]) == min(5, part["total"])


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("headline", {"period": "2025-13"}, "query.period"),
        ("headline", {"period_kind": "week"}, "query.period_kind"),
        ("trend", {"indicator": "drug_share", "grain": "province", "unit_id": "x"}, "query.grain"),
        ("trend", {"indicator": "no_such", "grain": "county", "unit_id": "330784"}, "indicator"),
        ("ranking", {"indicator": "in_county_visit_rate"}, "grain"),
        ("records", {"indicator": "drug_share", "grain": "county", "unit_id": "330784",
                     "period": "2025", "limit": 0}, "query.limit"),
        ("records", {"indicator": "total_cost_growth", "grain": "county", "unit_id": "330784",
                     "period": "2025"}, "indicator"),
    ],
)  # fmt: skip
def test_bad_queries_are_422_problems_naming_the_field(
    path: str, params: dict[str, object], field: str, client: TestClient, login: Login, lake: None
) -> None:
    answer = client.get(f"{D}/{path}", params=params, headers=login("bureau_analyst"))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert field in {e["field"] for e in answer.json()["errors"]}


def test_an_unknown_unit_is_a_404_problem(client: TestClient, login: Login, lake: None) -> None:
    answer = client.get(
        f"{D}/trend",
        params={"indicator": "drug_share", "grain": "institution", "unit_id": "not-a-unit"},
        headers=login("bureau_analyst"),
    )
    assert answer.status_code == 404 and answer.headers["content-type"] == PROBLEM
    assert "not-a-unit" in answer.json()["detail"]


def test_before_the_first_compute_the_api_says_what_to_run(
    client: TestClient, login: Login
) -> None:
    answer = client.get(f"{D}/headline", headers=login("bureau_analyst"))
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["type"].endswith("/not-computed")
    assert problem["detail_zh"] == "尚未计算指标：请先运行数据中心导出与计算"


def test_a_doctor_may_not_read_the_dashboard(client: TestClient, login: Login, lake: None) -> None:
    answer = client.get(f"{D}/headline", headers=login("township_doctor"))
    assert answer.status_code == 403 and answer.headers["content-type"] == PROBLEM
