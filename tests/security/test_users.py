"""Accounts: who may create them, and what an account must be linked to."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.support import count_rows, places, user_of
from yigongti.db import unit_of_work
from yigongti.security import AuditEvent, User

Login = Callable[[str], dict[str, str]]


def _account(engine: Engine, **changes: object) -> dict[str, object]:
    with unit_of_work(engine) as session:
        center = places(session).center
    body: dict[str, object] = {
        "username": "chen.jing",
        "password": "Yunling2025",
        "role": "township_doctor",
        "display_name": "陈静",
        "institution_id": str(center.id),
    }
    body.update(changes)
    return body


def _refusal(answer, status: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["message"] for e in answer.json().get("errors", [])}


def test_a_system_administrator_creates_an_account_that_can_log_in(
    client: TestClient, login: Login, engine: Engine
) -> None:
    answer = client.post("/api/v1/users", json=_account(engine), headers=login("system_admin"))
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert (created["username"], created["role"], created["active"]) == (
        "chen.jing",
        "township_doctor",
        True,
    )
    assert "password" not in created and "password_hash" not in created
    token = client.post(
        "/api/v1/auth/token", data={"username": "chen.jing", "password": "Yunling2025"}
    )
    assert token.status_code == 200
    with unit_of_work(engine) as session:
        row = session.scalar(
            select(AuditEvent).where(
                AuditEvent.object_type == "user", AuditEvent.object_id == created["id"]
            )
        )
        assert row.action == "create" and row.actor_name == "system-admin"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"institution_id": None}, "institution_id"),
        ({"role": "resident", "institution_id": None}, "resident_id"),
        ({"role": "chief_doctor"}, "role"),
        ({"password": "password"}, "password"),
        ({"username": "Chen Jing"}, "username"),
        ({"institution_id": str(uuid.UUID(int=7))}, "institution_id"),
        ({"practitioner_id": str(uuid.UUID(int=7))}, "practitioner_id"),
        ({"role": "resident", "institution_id": None, "resident_id": str(uuid.UUID(int=7))},
         "resident_id"),
    ],
    ids=[
        "staff-without-institution",
        "resident-without-person",
        "unknown-role",
        "weak-password",
        "bad-username",
        "unknown-institution",
        "unknown-practitioner",
        "unknown-resident",
    ],
)  # fmt: skip
def test_an_account_that_breaks_a_rule_is_refused_by_field_and_not_created(
    client: TestClient, login: Login, engine: Engine, changes: dict[str, object], field: str
) -> None:
    headers = login("system_admin")
    before = count_rows(engine, "users")
    answer = client.post("/api/v1/users", json=_account(engine, **changes), headers=headers)
    assert field in _refusal(answer, 422)
    assert count_rows(engine, "users") == before


def test_a_taken_username_is_a_conflict(client: TestClient, login: Login, engine: Engine) -> None:
    answer = client.post(
        "/api/v1/users",
        json=_account(engine, username="township-doctor"),
        headers=login("system_admin"),
    )
    _refusal(answer, 409)
    assert "已被使用" in answer.json()["detail_zh"]


def test_a_resident_account_is_linked_to_its_person(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    body = _account(engine, role="resident", institution_id=None, resident_id=str(person.id))
    answer = client.post("/api/v1/users", json=body, headers=login("system_admin"))
    assert answer.status_code == 201, answer.text
    with unit_of_work(engine) as session:
        user = session.scalar(select(User).where(User.username == "chen.jing"))
        assert user.resident_id == person.id


@pytest.mark.parametrize("role", ["bureau_admin", "township_doctor", "resident"])
def test_only_user_managers_create_list_or_disable_accounts(
    client: TestClient, login: Login, engine: Engine, role: str
) -> None:
    headers = login(role)
    with unit_of_work(engine) as session:
        target = user_of(session, "village_doctor").id
    _refusal(client.post("/api/v1/users", json=_account(engine), headers=headers), 403)
    _refusal(client.get("/api/v1/users", headers=headers), 403)
    _refusal(client.patch(f"/api/v1/users/{target}", json={"active": False}, headers=headers), 403)
    with unit_of_work(engine) as session:
        assert user_of(session, "village_doctor").active


def test_the_account_list_counts_every_account_not_just_the_page(
    client: TestClient, login: Login, engine: Engine
) -> None:
    page = client.get("/api/v1/users", params={"limit": 2}, headers=login("system_admin")).json()
    assert len(page["items"]) == 2
    assert page["total"] == count_rows(engine, "users")
    second = client.get(
        "/api/v1/users", params={"limit": 2, "offset": 2}, headers=login("system_admin")
    ).json()
    assert {u["id"] for u in page["items"]}.isdisjoint({u["id"] for u in second["items"]})


def test_disabling_an_unknown_account_is_404(client: TestClient, login: Login) -> None:
    answer = client.patch(
        f"/api/v1/users/{uuid.uuid4()}", json={"active": False}, headers=login("system_admin")
    )
    _refusal(answer, 404)
