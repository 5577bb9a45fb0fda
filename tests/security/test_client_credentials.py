"""Machine accounts: an institution's HIS obtains tokens with OAuth2 client credentials."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from tests.conftest import Template
from tests.support import places, user_of, username_of
from yigongti.db import unit_of_work
from yigongti.security import User
from yigongti.security.passwords import check_password

TOKEN = "/api/v1/auth/token"
HIS = "integration"


def _grant(client: TestClient, **form: str):  # type: ignore[no-untyped-def]
    return client.post(TOKEN, data={"grant_type": "client_credentials", **form})


def test_client_credentials_in_the_form_give_a_token_of_the_integration_account(
    client: TestClient, template: Template
) -> None:
    answer = _grant(client, client_id=username_of(HIS), client_secret=template.passwords[HIS])
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "bearer" and token["expires_in"] > 0
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.json()["role"] == HIS
    assert {"resident:read", "resident:write", "empi:link"} <= set(me.json()["permissions"])


def test_client_credentials_as_http_basic_are_accepted(
    client: TestClient, template: Template
) -> None:
    pair = f"{username_of(HIS)}:{template.passwords[HIS]}".encode()
    answer = client.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(pair).decode()},
    )
    assert answer.status_code == 200, answer.text


def test_a_wrong_secret_is_invalid_client_in_oauth_error_json(
    client: TestClient, engine: Engine
) -> None:
    answer = _grant(client, client_id=username_of(HIS), client_secret="not-the-secret-1")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["www-authenticate"] == "Basic"
    with unit_of_work(engine) as session:
        assert user_of(session, HIS).failed_logins == 1


def test_a_person_cannot_use_the_client_credentials_grant(
    client: TestClient, template: Template
) -> None:
    role = "township_doctor"
    answer = _grant(client, client_id=username_of(role), client_secret=template.passwords[role])
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


def test_missing_credentials_and_unknown_grants_are_refused_the_oauth_way(
    client: TestClient,
) -> None:
    assert _grant(client).json()["error"] == "invalid_client"
    odd = client.post(TOKEN, data={"grant_type": "implicit"})
    assert (odd.status_code, odd.json()["error"]) == (400, "unsupported_grant_type")


def test_ygt_user_create_makes_an_integration_account_and_prints_its_secret_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from yigongti import cli
    from yigongti.settings import get_settings

    monkeypatch.setenv("YGT_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("YGT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    with unit_of_work(engine) as session:
        code = places(session).center.code
    result = CliRunner().invoke(
        cli.app, ["user", "create", "--role", "integration", "--institution-code", code]
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    secret = result.output.split("client_secret:")[1].split()[0]
    with unit_of_work(engine) as session:
        account = session.scalar(select(User).where(User.username == f"his-{code}".lower()))
        assert account is not None
        assert account.role == HIS
        assert account.password_hash != secret and check_password(account.password_hash, secret)


def test_a_machine_account_gets_no_password_login_even_with_its_secret(
    client: TestClient, template: Template, engine: Engine
) -> None:
    answer = client.post(
        TOKEN, data={"username": username_of(HIS), "password": template.passwords[HIS]}
    )
    assert answer.status_code == 401
    assert "client credentials" in answer.json()["detail"]
    with unit_of_work(engine) as session:
        account = user_of(session, HIS)
        assert account.last_login_at is None and account.failed_logins == 0
