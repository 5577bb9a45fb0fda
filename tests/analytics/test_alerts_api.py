"""The alerts API on both backends: who sees which alerts, and closing with a note, once,
by a role that may."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.analytics.test_alerts import CATALOG, breaches
from tests.support import places
from yigongti import analytics
from yigongti.analytics.models import Alert
from yigongti.db import unit_of_work

Login = Callable[[str], dict[str, str]]
ALERTS = "/api/v1/alerts"


@pytest.fixture
def center_alert(engine: Engine) -> str:
    """Open the test breaches; the id of the center's March no-show-rate alert."""
    with unit_of_work(engine) as session:
        analytics.evaluate_alerts(session, breaches(session), CATALOG)
        center = places(session).center.id
        found = session.scalar(
            select(Alert.id).where(Alert.institution_id == center, Alert.period == "2026-03")
        )
    assert found is not None
    return str(found)


def _problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["detail"] and body["detail_zh"]
    return body


def test_a_township_doctor_lists_only_his_institutions_alerts(
    client: TestClient, login: Login, engine: Engine, center_alert: str
) -> None:
    with unit_of_work(engine) as session:
        center = str(places(session).center.id)
    answer = client.get(ALERTS, headers=login("township_doctor"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 2 and {a["institution_id"] for a in body["items"]} == {center}
    assert center_alert in {a["id"] for a in body["items"]}
    one = client.get(f"{ALERTS}/{center_alert}", headers=login("township_doctor"))
    assert one.status_code == 200 and one.json()["value"] == 12.0
    assert one.json()["threshold"] == 10.0 and one.json()["status"] == "open"


def test_the_bureau_analyst_lists_every_alert_and_filters_by_status_and_indicator(
    client: TestClient, login: Login, center_alert: str
) -> None:
    headers = login("bureau_analyst")
    assert client.get(ALERTS, headers=headers).json()["total"] == 4
    county = client.get(ALERTS, params={"indicator": "in_county_visit_rate"}, headers=headers)
    assert county.json()["total"] == 1 and county.json()["items"][0]["grain"] == "county"
    assert client.get(ALERTS, params={"status": "all"}, headers=headers).json()["total"] == 4
    assert client.get(ALERTS, params={"status": "closed"}, headers=headers).json()["total"] == 0
    _problem(client.get(ALERTS, params={"status": "done"}, headers=headers), 422)


def test_another_institutions_alert_is_a_404_for_a_village_doctor(
    client: TestClient, login: Login, center_alert: str
) -> None:
    _problem(client.get(f"{ALERTS}/{center_alert}", headers=login("village_doctor")), 404)
    _problem(client.get(f"{ALERTS}/{uuid.uuid4()}", headers=login("bureau_analyst")), 404)
    _problem(client.get(ALERTS, headers=login("cdc_officer")), 403)


def test_the_bureau_admin_closes_an_alert_with_a_note_once(
    client: TestClient, login: Login, center_alert: str
) -> None:
    headers = login("bureau_admin")
    url = f"{ALERTS}/{center_alert}/close"
    closed = client.post(url, json={"note": "已约谈院长，制定整改方案"}, headers=headers)
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed" and body["closed_by"] == "bureau-admin"
    assert body["note"] == "已约谈院长，制定整改方案" and body["closed_at"]
    again = _problem(client.post(url, json={"note": "再次关闭"}, headers=headers), 409)
    assert "bureau-admin" in again["detail"]
    listed = client.get(ALERTS, params={"status": "closed"}, headers=login("township_doctor"))
    assert [a["id"] for a in listed.json()["items"]] == [center_alert]


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "   "}, {"note": "长" * 501}])
def test_closing_without_a_proper_note_is_a_422_problem(
    client: TestClient, login: Login, center_alert: str, body: dict[str, str]
) -> None:
    answer = client.post(f"{ALERTS}/{center_alert}/close", json=body, headers=login("bureau_admin"))
    errors = _problem(answer, 422)["errors"]
    assert any(e["field"].endswith("note") for e in errors)


@pytest.mark.parametrize("role", ["bureau_analyst", "township_doctor"])
def test_closing_without_alert_close_is_a_403_problem(
    client: TestClient, login: Login, center_alert: str, role: str
) -> None:
    answer = client.post(
        f"{ALERTS}/{center_alert}/close", json={"note": "关闭"}, headers=login(role)
    )
    _problem(answer, 403)
    still = client.get(f"{ALERTS}/{center_alert}", headers=login("bureau_analyst"))
    assert still.json()["status"] == "open"
