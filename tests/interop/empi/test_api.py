"""The master patient index through the JSON API: refusals are clear 4xx, nothing half-written."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support import count_rows, places
from yigongti.db import unit_of_work

Login = Callable[[str], dict[str, str]]


def _record(engine: Engine, **changes: object) -> dict[str, object]:
    with unit_of_work(engine) as session:
        at = places(session)
        body: dict[str, object] = {
            "institution_id": str(at.center.id),
            "mrn": "ZY0001",
            "name": at.resident.name,
            "sex": at.resident.sex,
            "birth_date": at.resident.birth_date.isoformat(),
            "id_number": at.resident.id_number,
        }
    body.update(changes)
    return body


def test_a_doctor_links_a_record_on_its_id_number(
    client: TestClient, login: Login, engine: Engine
) -> None:
    answer = client.post(
        "/api/v1/empi/records", json=_record(engine), headers=login("township_doctor")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"] == "linked" and answer.json()["method"] == "id_number"


def test_a_bad_id_number_is_a_422_naming_the_position_and_nothing_is_written(
    client: TestClient, login: Login, engine: Engine
) -> None:
    body = _record(engine, id_number="33078419900101123")  # 17 characters
    answer = client.post("/api/v1/empi/records", json=body, headers=login("window_clerk"))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "18" in answer.text
    good = _record(engine)
    number = str(good["id_number"])
    body = _record(engine, id_number=number[:5] + "A" + number[6:])
    answer = client.post("/api/v1/empi/records", json=body, headers=login("window_clerk"))
    assert answer.status_code == 422 and "character 6" in answer.text
    assert count_rows(engine, "empi_source_records") == 0
    assert count_rows(engine, "empi_link_history") == 0


def test_a_village_doctor_may_neither_review_nor_merge(client: TestClient, login: Login) -> None:
    doctor = login("village_doctor")
    assert client.get("/api/v1/empi/reviews", headers=doctor).status_code == 403
    decision = client.post(
        f"/api/v1/empi/reviews/{uuid.uuid4()}/decision", json={"same_as": None}, headers=doctor
    )
    assert decision.status_code == 403
    merge = {"survivor_id": str(uuid.uuid4()), "merged_id": str(uuid.uuid4()), "reason": "重复建档"}
    assert client.post("/api/v1/empi/merges", json=merge, headers=doctor).status_code == 403


def test_a_backlog_job_reports_its_progress(
    client: TestClient, login: Login, engine: Engine
) -> None:
    clerk = login("window_clerk")
    with unit_of_work(engine) as session:
        center = places(session).center.id
    started = client.post(
        "/api/v1/empi/backlogs", json={"institution_id": str(center)}, headers=clerk
    )
    assert started.status_code == 202, started.text
    job = started.json()
    for _ in range(600):
        job = client.get(f"/api/v1/empi/backlogs/{job['id']}", headers=clerk).json()
        if job["state"] != "running":
            break
        time.sleep(0.05)  # polling, as a client would
    assert job["state"] == "finished" and job["done"] == job["total"]
