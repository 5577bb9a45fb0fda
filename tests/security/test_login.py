"""Logging in: tokens, wrong passwords, lockout, disabled accounts, expired or forged tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from tests.conftest import Template
from tests.support import user_of, username_of
from yigongti.db import unit_of_work
from yigongti.kernel import now
from yigongti.security import AuditEvent, User, issue_token
from yigongti.settings import Settings

Login = Callable[[str], dict[str, str]]
ROLE = "township_doctor"


def _token(client: TestClient, password: str, username: str = username_of(ROLE)):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def _assert_problem(answer, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["status"] == status
    assert body["type"].startswith("https://yigongti.org/problems/")
    return body


def _failed_logins(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return user_of(session, ROLE).failed_logins


def test_the_right_password_gives_a_bearer_token_that_opens_the_api(
    client: TestClient, template: Template
) -> None:
    answer = _token(client, template.passwords[ROLE])
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "bearer"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == ROLE
    assert "resident:reveal" in me.json()["permissions"]


def test_a_wrong_password_is_401_and_the_failure_is_stored(
    client: TestClient, engine: Engine
) -> None:
    problem = _assert_problem(_token(client, "wrong-password-1"), 401)
    assert problem["detail_zh"] == "用户名或密码错误"
    assert _token(client, "wrong-password-2").headers["www-authenticate"] == "Bearer"
    assert _failed_logins(engine) == 2
    with unit_of_work(engine) as session:
        failures = session.scalar(
            select(func.count()).where(
                AuditEvent.action == "login_failed", AuditEvent.actor_name == username_of(ROLE)
            )
        )
        assert failures == 2


def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(
    client: TestClient,
) -> None:
    unknown = _assert_problem(_token(client, "whatever-1", username="nobody-here"), 401)
    wrong = _assert_problem(_token(client, "whatever-1"), 401)
    assert unknown == wrong


def test_the_account_locks_after_lockout_failures_wrong_passwords(
    client: TestClient, engine: Engine, settings: Settings, template: Template
) -> None:
    for attempt in range(1, settings.lockout_failures):
        _assert_problem(_token(client, f"wrong-{attempt}"), 401)
        assert _failed_logins(engine) == attempt
    problem = _assert_problem(_token(client, "wrong-last"), 423)
    assert problem["detail"].startswith("Too many failed logins; the account is locked until ")
    assert problem["detail_zh"].startswith("登录失败次数过多，账号已锁定至 ")
    with unit_of_work(engine) as session:
        locked_until = user_of(session, ROLE).locked_until
        lockouts = session.scalars(select(AuditEvent).where(AuditEvent.action == "lockout")).all()
    assert locked_until is not None and locked_until > now()
    assert [row.actor_name for row in lockouts] == [username_of(ROLE)]
    assert _assert_problem(_token(client, template.passwords[ROLE]), 423) == problem


def test_a_successful_login_resets_the_failure_count(
    client: TestClient, engine: Engine, template: Template
) -> None:
    _token(client, "wrong-1")
    assert _failed_logins(engine) == 1
    assert _token(client, template.passwords[ROLE]).status_code == 200
    assert _failed_logins(engine) == 0
    with unit_of_work(engine) as session:
        assert user_of(session, ROLE).last_login_at is not None


def test_a_lock_whose_time_has_passed_no_longer_holds(
    client: TestClient, engine: Engine, template: Template
) -> None:
    with unit_of_work(engine) as session:
        session.execute(
            update(User)
            .where(User.username == username_of(ROLE))
            .values(locked_until=now() - timedelta(minutes=1))
        )
    assert _token(client, template.passwords[ROLE]).status_code == 200


def test_enabling_an_account_lifts_its_lockout(
    client: TestClient, engine: Engine, login: Login, settings: Settings, template: Template
) -> None:
    for attempt in range(settings.lockout_failures):
        _token(client, f"wrong-{attempt}")
    with unit_of_work(engine) as session:
        user_id = user_of(session, ROLE).id
    answer = client.patch(
        f"/api/v1/users/{user_id}", json={"active": True}, headers=login("system_admin")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["locked_until"] is None
    assert _token(client, template.passwords[ROLE]).status_code == 200


def test_a_disabled_account_cannot_log_in_and_its_token_stops_working(
    client: TestClient, engine: Engine, login: Login, template: Template
) -> None:
    headers = login(ROLE)
    with unit_of_work(engine) as session:
        user_id = user_of(session, ROLE).id
    answer = client.patch(
        f"/api/v1/users/{user_id}", json={"active": False}, headers=login("system_admin")
    )
    assert answer.status_code == 200
    assert answer.json()["active"] is False
    problem = _assert_problem(client.get("/api/v1/me", headers=headers), 401)
    assert problem["detail_zh"] == "账号不存在或已停用"
    _assert_problem(_token(client, template.passwords[ROLE]), 401)


def test_an_expired_token_is_401(client: TestClient, engine: Engine, settings: Settings) -> None:
    with unit_of_work(engine) as session:
        user_id = user_of(session, ROLE).id
    expired = issue_token(user_id, settings.secret_key or "", -1)
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
    problem = _assert_problem(answer, 401)
    assert problem["detail_zh"] == "访问令牌无效或已过期，请重新登录"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_token_signed_with_another_key_is_401(client: TestClient, engine: Engine) -> None:
    with unit_of_work(engine) as session:
        user_id = user_of(session, ROLE).id
    forged = issue_token(user_id, "someone-elses-secret-key-of-32-bytes", 60)
    _assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}), 401)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz"],
    ids=["none", "empty-bearer", "garbage", "basic-auth"],
)
def test_a_request_without_a_valid_bearer_token_is_401(
    client: TestClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    problem = _assert_problem(client.get("/api/v1/residents?q=a", headers=headers), 401)
    assert problem["detail"]
    assert problem["detail_zh"]


def test_login_takes_a_form_not_json(client: TestClient, template: Template) -> None:
    answer = client.post(
        "/api/v1/auth/token",
        json={"username": username_of(ROLE), "password": template.passwords[ROLE]},
    )
    _assert_problem(answer, 422)
