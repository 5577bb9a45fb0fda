"""The lake's HTTP API: pushes answer 201, 200 (duplicate) or 422 with the report; who may push."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support import places
from yigongti.db import unit_of_work
from yigongti.settings import Settings

Login = Callable[[str], dict[str, str]]
CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def lead(engine: Engine) -> str:
    """The lead hospital's id, the institution the tests push for."""
    with unit_of_work(engine) as session:
        return str(places(session).lead.id)


def fees_csv(lead: str, *amounts: str) -> bytes:
    """A fee-line file of the lead hospital, one line per amount."""
    lines = ["line_id,visit_id,institution_id,month,kind,category,amount_fen"]
    lines += [f"L{a}-{n},V{n},{lead},2025-03,outpatient,drug,{a}" for n, a in enumerate(amounts)]
    return ("\n".join(lines) + "\n").encode()


def url(lead: str, dataset: str = "fees", filename: str = "fees-2025-03.csv") -> str:
    """The push URL of a file of the lead hospital."""
    return f"/api/v1/lake/{dataset}/files?institution_id={lead}&filename={filename}"


def test_a_push_answers_201_then_200_for_the_same_bytes(
    client: TestClient, login: Login, lead: str
) -> None:
    admin = login("system_admin") | CSV
    data = fees_csv(lead, "2600", "1900")
    first = client.post(url(lead), content=data, headers=admin)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["status"], body["rows"], body["months"], body["duplicate"]) == (
        "loaded",
        2,
        ["2025-03"],
        False,
    )
    assert body["paths"] == [
        f"fees/month=2025-03/institution={lead}/upload-{body['sha256']}.parquet"
    ]
    again = client.post(url(lead), content=data, headers=admin)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["id"] == body["id"]


def test_a_parquet_push_is_taken_as_parquet(client: TestClient, login: Login, lead: str) -> None:
    table = pa.table(
        {
            "line_id": ["L1"],
            "visit_id": ["V1"],
            "institution_id": [lead],
            "month": ["2025-03"],
            "kind": ["outpatient"],
            "category": ["lab"],
            "amount_fen": pa.array([800], pa.int32()),
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    answer = client.post(
        url(lead, filename="fees.parquet"),
        content=sink.getvalue().to_pybytes(),
        headers=login("bureau_admin") | {"Content-Type": "application/vnd.apache.parquet"},
    )
    assert answer.status_code == 201, answer.text


def test_a_rejected_push_is_a_problem_with_the_report_line_by_line(
    client: TestClient, login: Login, lead: str
) -> None:
    admin = login("system_admin")
    answer = client.post(url(lead), content=fees_csv(lead, "10", "-5", "x"), headers=admin | CSV)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"].endswith("/rejected-file")
    assert problem["rejected_rows"] == 2
    assert [(r["line"], r["column"]) for r in problem["report"]] == [
        (3, "amount_fen"),
        (4, "amount_fen"),
    ]
    assert problem["errors"][0]["message_zh"] == "第 3 行 amount_fen：金额不能为负数"
    assert "line 3, amount_fen: amount must not be negative" in problem["detail"]
    record = client.get(f"/api/v1/lake/files/{problem['file_id']}", headers=admin)
    assert record.status_code == 200
    assert (record.json()["status"], record.json()["report"]) == ("rejected", problem["report"])


def test_pushed_files_are_listed_newest_first(client: TestClient, login: Login, lead: str) -> None:
    admin = login("system_admin")
    for amount in ("1", "2", "-3"):
        client.post(url(lead), content=fees_csv(lead, amount), headers=admin | CSV)
    listing = client.get("/api/v1/lake/files", params={"limit": 2}, headers=admin)
    assert listing.status_code == 200
    page = listing.json()
    assert (page["total"], len(page["items"])) == (3, 2)
    assert page["items"][0]["status"] == "rejected"
    rejected = client.get("/api/v1/lake/files", params={"status": "rejected"}, headers=admin)
    assert rejected.json()["total"] == 1


@pytest.mark.parametrize("role", ["county_doctor", "township_doctor", "bureau_analyst"])
def test_a_role_without_lake_load_may_not_push(
    client: TestClient, login: Login, lead: str, role: str
) -> None:
    answer = client.post(url(lead), content=fees_csv(lead, "1"), headers=login(role) | CSV)
    assert answer.status_code == 403
    assert answer.json()["detail"].endswith("(lake:load)")
    listing = client.get("/api/v1/lake/files", headers=login(role))
    assert listing.status_code == 403


def test_an_anonymous_push_must_log_in(client: TestClient, lead: str) -> None:
    assert client.post(url(lead), content=fees_csv(lead, "1"), headers=CSV).status_code == 401


def test_pushes_that_cannot_be_taken_say_why(client: TestClient, login: Login, lead: str) -> None:
    admin = login("system_admin")
    data = fees_csv(lead, "1")
    as_json = client.post(url(lead), content=data, headers=admin | {"Content-Type": "text/plain"})
    assert as_json.status_code == 422 and as_json.json()["errors"][0]["field"] == "content-type"
    bookings = client.post(url(lead, "bookings"), content=data, headers=admin | CSV)
    assert bookings.status_code == 422 and bookings.json()["errors"][0]["field"] == "dataset"
    stranger = "0194a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b"
    assert client.post(url(stranger), content=data, headers=admin | CSV).status_code == 404


def test_a_push_over_the_body_limit_is_a_clear_413(
    client: TestClient, login: Login, lead: str, settings: Settings
) -> None:
    big = fees_csv(lead, *(["2600"] * (settings.max_body_bytes // 60 + 1)))
    assert len(big) > settings.max_body_bytes
    answer = client.post(url(lead), content=big, headers=login("system_admin") | CSV)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert str(settings.max_body_bytes) in answer.json()["detail"]


def test_the_export_runs_on_request_and_a_second_run_writes_nothing(
    client: TestClient, login: Login
) -> None:
    admin = login("bureau_admin")
    first = client.post("/api/v1/lake/export", headers=admin)
    assert first.status_code == 200, first.text
    report = first.json()
    parts = {d["dataset"]: d for d in report["datasets"]}
    assert set(parts) == {"institutions", "visits", "fees", "bookings"}
    assert parts["visits"]["rows"] > 0 and report["rows"] == sum(d["rows"] for d in parts.values())
    again = client.post("/api/v1/lake/export", headers=admin).json()
    assert (again["rows"], again["files"]) == (0, 0)
    refused = client.post("/api/v1/lake/export", headers=login("township_doctor"))
    assert refused.status_code == 403
