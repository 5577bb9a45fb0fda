"""Every error answers RFC 9457 problem+json in English with the Chinese beside it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support import count_rows, new_id_number, places
from yigongti.db import unit_of_work
from yigongti.settings import Settings

Login = Callable[[str], dict[str, str]]


def assert_problem(answer: httpx.Response, status: int) -> dict:  # type: ignore[type-arg]
    """The answer is problem+json of ``status`` with every member a client relies on."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["status"] == status
    assert body["type"].startswith("https://yigongti.org/problems/")
    for member in ("title", "detail", "detail_zh"):
        assert isinstance(body[member], str) and body[member], member
    return body


def fields_of(body: dict) -> list[str]:  # type: ignore[type-arg]
    errors = body.get("errors", [])
    for error in errors:
        assert error["message"] and error["message_zh"]
    return [e["field"] for e in errors]


def _registration(engine: Engine) -> dict[str, object]:
    with unit_of_work(engine) as session:
        at = places(session)
        return {
            "name": "周国平",
            "id_number": new_id_number(session),
            "residence_village_id": str(at.village.id),
        }


def test_401_without_a_token(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/me"), 401)
    assert body["type"].endswith("/unauthenticated")
    assert body["title"] == "Unauthenticated"


def test_403_names_the_role_and_the_missing_permission(client: TestClient, login: Login) -> None:
    body = assert_problem(client.get("/api/v1/users", headers=login("township_doctor")), 403)
    assert body["type"].endswith("/forbidden")
    assert "user:manage" in body["detail"]
    assert "乡镇医生" in body["detail_zh"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/residents/{id}",
        "/api/v1/institutions/{id}",
        "/api/v1/communities/{id}",
        "/api/v1/towns/{id}/villages",
        "/api/v1/practitioners/{id}",
        "/api/v1/teams/{id}",
    ],
)
def test_404_for_an_unknown_record(client: TestClient, login: Login, path: str) -> None:
    answer = client.get(path.format(id=uuid.uuid4()), headers=login("cdc_officer"))
    assert assert_problem(answer, 404)["type"].endswith("/not-found")


def test_404_for_an_unknown_path(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/no-such-thing"), 404)


def test_405_for_a_wrong_method(client: TestClient, login: Login) -> None:
    assert_problem(client.delete("/api/v1/towns", headers=login("system_admin")), 405)


def test_409_for_a_duplicate(client: TestClient, login: Login, engine: Engine) -> None:
    body = _registration(engine)
    headers = login("window_clerk")
    assert client.post("/api/v1/residents", json=body, headers=headers).status_code == 201
    conflict = assert_problem(client.post("/api/v1/residents", json=body, headers=headers), 409)
    assert conflict["type"].endswith("/conflict")


def test_422_for_a_wrong_type_names_the_field(
    client: TestClient, login: Login, engine: Engine
) -> None:
    body = {**_registration(engine), "residence_village_id": "not-a-uuid", "permanent": "often"}
    answer = client.post("/api/v1/residents", json=body, headers=login("window_clerk"))
    problem = assert_problem(answer, 422)
    assert sorted(fields_of(problem)) == ["permanent", "residence_village_id"]
    assert problem["type"].endswith("/invalid")


def test_422_for_a_wrong_query_parameter_names_it(client: TestClient, login: Login) -> None:
    answer = client.get(
        "/api/v1/residents", params={"q": "张", "limit": "many"}, headers=login("cdc_officer")
    )
    assert fields_of(assert_problem(answer, 422)) == ["query.limit"]
    answer = client.get(
        "/api/v1/residents", params={"q": "张", "limit": 1000}, headers=login("cdc_officer")
    )
    assert fields_of(assert_problem(answer, 422)) == ["query.limit"]


def test_422_for_an_unknown_field(client: TestClient, login: Login, engine: Engine) -> None:
    before = count_rows(engine, "residents")
    body = {**_registration(engine), "nickname": "小周"}
    answer = client.post("/api/v1/residents", json=body, headers=login("window_clerk"))
    assert fields_of(assert_problem(answer, 422)) == ["nickname"]
    assert count_rows(engine, "residents") == before


def test_422_for_a_missing_field(client: TestClient, login: Login, engine: Engine) -> None:
    body = _registration(engine)
    del body["residence_village_id"]
    answer = client.post("/api/v1/residents", json=body, headers=login("window_clerk"))
    assert fields_of(assert_problem(answer, 422)) == ["residence_village_id"]


def test_422_for_a_body_that_is_not_json(client: TestClient, login: Login) -> None:
    answer = client.post(
        "/api/v1/residents",
        content=b"{name: ",
        headers={**login("window_clerk"), "content-type": "application/json"},
    )
    assert_problem(answer, 422)


def test_422_for_a_domain_rule_names_the_field_in_both_languages(
    client: TestClient, login: Login, engine: Engine
) -> None:
    body = {**_registration(engine), "phone": "110"}
    problem = assert_problem(
        client.post("/api/v1/residents", json=body, headers=login("window_clerk")), 422
    )
    assert problem["errors"] == [
        {
            "field": "phone",
            "message": "Phone: 11-digit mobile number starting 13-19",
            "message_zh": "手机号须为以13-19开头的11位号码",
        }
    ]


def _oversized(settings: Settings, engine: Engine) -> bytes:
    body = {**_registration(engine), "insurance_type": "x" * settings.max_body_bytes}
    return json.dumps(body).encode()


def test_413_for_a_body_over_the_limit_and_nothing_is_written(
    client: TestClient, login: Login, engine: Engine, settings: Settings
) -> None:
    headers = {**login("window_clerk"), "content-type": "application/json"}
    before = (count_rows(engine, "residents"), count_rows(engine, "audit_events"))
    answer = client.post("/api/v1/residents", content=_oversized(settings, engine), headers=headers)
    assert_problem(answer, 413)
    assert (count_rows(engine, "residents"), count_rows(engine, "audit_events")) == before


def test_413_for_a_streamed_body_over_the_limit_and_nothing_is_written(
    client: TestClient, login: Login, engine: Engine, settings: Settings
) -> None:
    payload = _oversized(settings, engine)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 65_536):
            yield payload[start : start + 65_536]

    headers = {**login("window_clerk"), "content-type": "application/json"}
    before = (count_rows(engine, "residents"), count_rows(engine, "audit_events"))
    answer = client.post("/api/v1/residents", content=chunks(), headers=headers)
    assert_problem(answer, 413)
    assert (count_rows(engine, "residents"), count_rows(engine, "audit_events")) == before


def test_a_body_just_under_the_limit_is_read(
    client: TestClient, login: Login, engine: Engine, settings: Settings
) -> None:
    body = _registration(engine)
    answer = client.post("/api/v1/residents", json=body, headers=login("window_clerk"))
    assert answer.status_code == 201
    assert len(answer.request.content) < settings.max_body_bytes


def test_healthz_answers_ok_without_a_token(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_the_openapi_document_lists_every_api_path_with_its_description(
    client: TestClient,
) -> None:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert {
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/audit",
        "/api/v1/towns",
        "/api/v1/communities/{community_id}/members",
        "/api/v1/institutions/{institution_id}/chain",
        "/api/v1/practitioners",
        "/api/v1/teams",
        "/api/v1/residents",
        "/api/v1/residents/{resident_id}",
        "/api/v1/residents/{resident_id}/encounters",
        "/api/v1/encounters/{encounter_id}/fees",
    } <= set(paths)
    assert all(p.startswith("/api/v1/") or p == "/healthz" for p in paths)
    undescribed = [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method, operation in operations.items()
        if not operation.get("description")
    ]
    assert undescribed == []


def test_the_openapi_document_says_errors_are_problem_json(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    responses = document["paths"]["/api/v1/residents"]["post"]["responses"]
    for status in ("401", "403", "404", "409", "413", "422"):
        content = responses[status]["content"]
        assert list(content) == ["application/problem+json"], status
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "detail_zh"}


def test_a_nul_character_in_a_query_is_refused_not_a_500(client: TestClient, login: Login) -> None:
    answer = client.get(
        "/api/v1/institutions", params={"q": "卫生\x00院"}, headers=login("resident")
    )
    assert fields_of(assert_problem(answer, 422)) == ["query.q"]


def test_a_nul_character_in_a_json_body_is_refused_and_nothing_is_written(
    client: TestClient, login: Login, engine: Engine
) -> None:
    headers = login("system_admin")
    before = count_rows(engine, "institutions")
    answer = client.post(
        "/api/v1/institutions",
        json={"code": "3307847NUL01", "name": "云岭\x00医院", "kind": "private_hospital",
              "county_code": "330784"},
        headers=headers,
    )  # fmt: skip
    assert fields_of(assert_problem(answer, 422)) == ["name"]
    assert count_rows(engine, "institutions") == before


def test_a_nul_character_in_a_login_form_is_refused(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/auth/token", data={"username": "system\x00admin", "password": "x"}
    )
    assert fields_of(assert_problem(answer, 422)) == ["username"]


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/api/v1/users", "system_admin"),
        ("/api/v1/audit", "system_admin"),
        ("/api/v1/institutions", "resident"),
        ("/api/v1/practitioners", "resident"),
        ("/api/v1/residents/{home}/encounters", "cdc_officer"),
    ],
)
def test_an_offset_beyond_any_table_is_refused_not_a_500(
    client: TestClient, login: Login, engine: Engine, path: str, role: str
) -> None:
    with unit_of_work(engine) as session:
        home = places(session).resident.id
    answer = client.get(
        path.format(home=home), params={"offset": 10**19, "q": "1"}, headers=login(role)
    )
    assert fields_of(assert_problem(answer, 422)) == ["query.offset"]
