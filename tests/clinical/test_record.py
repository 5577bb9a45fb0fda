"""The shared resident record: conditions, encounters and fees, in scope and audited."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tests.support import (
    actor,
    add_encounter,
    audit_rows_after,
    max_seq,
    places,
    resident_outside,
    visible_ids,
)
from yigongti.clinical.models import Condition, Encounter, FeeLine
from yigongti.db import unit_of_work

Login = Callable[[str], dict[str, str]]
REASON = "医疗费用专项检查"


def _patient_with_history(engine: Engine, role: str) -> uuid.UUID:
    """A resident ``role`` may see who has encounters at two or more institutions if possible."""
    with unit_of_work(engine) as session:
        seen = visible_ids(session, actor(session, role))
        places_visited = func.count(func.distinct(Encounter.institution_id))
        found = session.scalar(
            select(Encounter.resident_id)
            .where(Encounter.resident_id.in_(seen))
            .group_by(Encounter.resident_id)
            .order_by(places_visited.desc(), Encounter.resident_id)
            .limit(1)
        )
        assert found is not None, "nobody in this role's scope has encounters"
        return found


def test_a_doctor_sees_a_patients_encounters_at_every_institution_newest_first(
    client: TestClient, login: Login, engine: Engine
) -> None:
    patient = _patient_with_history(engine, "township_doctor")
    answer = client.get(
        f"/api/v1/residents/{patient}/encounters",
        params={"limit": 100},
        headers=login("township_doctor"),
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    with unit_of_work(engine) as session:
        stored = session.scalars(select(Encounter).where(Encounter.resident_id == patient)).all()
    assert page["total"] == len(stored)
    assert {e["id"] for e in page["items"]} == {str(e.id) for e in stored}
    started = [e["started_at"] for e in page["items"]]
    assert started == sorted(started, reverse=True)


def test_encounters_are_paged(client: TestClient, login: Login, engine: Engine) -> None:
    patient = _patient_with_history(engine, "cdc_officer")
    url, headers = f"/api/v1/residents/{patient}/encounters", login("cdc_officer")
    first = client.get(url, params={"limit": 1}, headers=headers).json()
    second = client.get(url, params={"limit": 1, "offset": 1}, headers=headers).json()
    assert len(first["items"]) == 1
    if first["total"] > 1:
        assert first["items"][0]["id"] != second["items"][0]["id"]


def test_a_patients_conditions_are_listed_oldest_first(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        patient = session.scalar(select(Condition.resident_id).order_by(Condition.resident_id))
        expected = session.scalars(select(Condition).where(Condition.resident_id == patient)).all()
    assert patient is not None
    listed = client.get(
        f"/api/v1/residents/{patient}/conditions", headers=login("cdc_officer")
    ).json()
    assert {c["code"] for c in listed} == {c.code for c in expected}
    assert [c["onset_date"] for c in listed] == sorted(c["onset_date"] for c in listed)


def test_fees_of_an_encounter_add_up_by_category(
    client: TestClient, login: Login, engine: Engine
) -> None:
    patient = _patient_with_history(engine, "county_doctor")
    with unit_of_work(engine) as session:
        encounter = session.scalar(
            select(Encounter.id)
            .join(FeeLine, FeeLine.encounter_id == Encounter.id)
            .where(Encounter.resident_id == patient)
            .limit(1)
        )
        lines = session.execute(
            select(FeeLine.category, FeeLine.amount_fen).where(FeeLine.encounter_id == encounter)
        ).all()
    expected: dict[str, int] = {}
    for category, amount in lines:
        expected[category] = expected.get(category, 0) + amount
    fees = client.get(f"/api/v1/encounters/{encounter}/fees", headers=login("county_doctor"))
    assert fees.status_code == 200, fees.text
    assert fees.json() == expected


def test_reading_the_record_is_audited_per_part_read(
    client: TestClient, login: Login, engine: Engine
) -> None:
    patient = _patient_with_history(engine, "village_doctor")
    headers = login("village_doctor")
    with unit_of_work(engine) as session:
        start = max_seq(session)
        encounter = session.scalar(select(Encounter.id).where(Encounter.resident_id == patient))
    client.get(f"/api/v1/residents/{patient}/conditions", headers=headers)
    client.get(f"/api/v1/residents/{patient}/encounters", headers=headers)
    client.get(f"/api/v1/encounters/{encounter}/fees", headers=headers)
    with unit_of_work(engine) as session:
        rows = audit_rows_after(session, start)
    assert [(r.action, r.object_type, r.person_id) for r in rows] == [
        ("read", "condition", patient),
        ("read", "encounter", patient),
        ("read", "fee_lines", patient),
    ]
    assert {r.client for r in rows} == {"testclient"}


def test_the_record_of_a_resident_out_of_scope_is_not_found(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        stranger = resident_outside(session, actor(session, "village_doctor"))
        add_encounter(session, stranger.id, places(session).lead.id)
        encounter = session.scalar(select(Encounter.id).where(Encounter.resident_id == stranger.id))
    headers = login("village_doctor")
    with unit_of_work(engine) as session:
        start = max_seq(session)
    for url in (
        f"/api/v1/residents/{stranger.id}/conditions",
        f"/api/v1/residents/{stranger.id}/encounters",
        f"/api/v1/encounters/{encounter}/fees",
    ):
        answer = client.get(url, headers=headers)
        assert answer.status_code == 404, url
    with unit_of_work(engine) as session:
        assert audit_rows_after(session, start) == []


def test_fees_of_an_unknown_encounter_are_not_found(client: TestClient, login: Login) -> None:
    answer = client.get(f"/api/v1/encounters/{uuid.uuid4()}/fees", headers=login("cdc_officer"))
    assert answer.status_code == 404


def test_a_resident_sees_his_own_fees_but_not_his_neighbours(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        add_encounter(session, at.resident.id, at.clinic.id)
        mine = session.scalar(select(Encounter.id).where(Encounter.resident_id == at.resident.id))
        stranger = resident_outside(session, actor(session, "resident"))
        add_encounter(session, stranger.id, at.clinic.id)
        theirs = session.scalar(select(Encounter.id).where(Encounter.resident_id == stranger.id))
    headers = login("resident")
    assert client.get(f"/api/v1/encounters/{mine}/fees", headers=headers).status_code == 200
    assert client.get(f"/api/v1/encounters/{theirs}/fees", headers=headers).status_code == 404


def test_bureau_staff_read_fees_only_with_a_reason_that_is_audited(
    client: TestClient, login: Login, engine: Engine
) -> None:
    patient = _patient_with_history(engine, "cdc_officer")
    with unit_of_work(engine) as session:
        encounter = session.scalar(select(Encounter.id).where(Encounter.resident_id == patient))
    url, headers = f"/api/v1/encounters/{encounter}/fees", login("bureau_analyst")
    assert client.get(url, headers=headers).status_code == 403
    with unit_of_work(engine) as session:
        start = max_seq(session)
    assert client.get(url, params={"reason": REASON}, headers=headers).status_code == 200
    with unit_of_work(engine) as session:
        [row] = audit_rows_after(session, start)
    assert (row.object_type, row.person_id, row.reason) == ("fee_lines", patient, REASON)
