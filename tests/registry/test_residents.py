"""The resident master index through the API: register, read masked, search, update, guardians."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.support import (
    actor,
    count_rows,
    new_id_number,
    other_town,
    places,
    resident_outside,
    resident_where,
    villages_of_towns,
    wards,
)
from yigongti.db import unit_of_work
from yigongti.kernel.resident_id import check_char
from yigongti.registry.models import Guardianship, Resident, Village
from yigongti.security import AuditEvent

Login = Callable[[str], dict[str, str]]
MASKED_ID = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")
MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")


def _problem(answer, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return answer.json()


def _fields(problem: dict) -> dict[str, str]:
    return {e["field"]: e["message"] for e in problem.get("errors", [])}


def _registration(engine: Engine, **changes: object) -> dict[str, object]:
    with unit_of_work(engine) as session:
        at = places(session)
        body: dict[str, object] = {
            "name": "李秀英",
            "id_number": new_id_number(session, date(1958, 4, 12), male=False),
            "residence_village_id": str(at.village.id),
            "phone": "13905791234",
        }
    body.update(changes)
    return body


# --- register ---------------------------------------------------------------------------------


def test_window_clerk_registers_a_resident_with_sex_and_birth_date_read_from_the_id(
    client: TestClient, login: Login, engine: Engine
) -> None:
    body = _registration(engine)
    answer = client.post("/api/v1/residents", json=body, headers=login("window_clerk"))
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert (created["sex"], created["birth_date"]) == ("female", "1958-04-12")
    assert MASKED_ID.match(created["id_number"])
    assert created["id_number"][-4:] == body["id_number"][-4:]
    assert created["phone"] == "139****1234"
    assert created["revealed"] is False
    with unit_of_work(engine) as session:
        stored = session.get(Resident, uuid.UUID(created["id"]))
        assert stored.id_number == body["id_number"]
        assert stored.name_initials == "LXY"
        row = session.scalar(
            select(AuditEvent).where(
                AuditEvent.person_id == stored.id, AuditEvent.action == "create"
            )
        )
        assert row is not None and row.actor_role == "window_clerk"


def test_a_wrong_check_digit_is_refused_naming_the_right_one_and_nothing_is_written(
    client: TestClient, login: Login, engine: Engine
) -> None:
    body = _registration(engine)
    number = str(body["id_number"])
    wrong = "0" if number[17] != "0" else "1"
    headers = login("window_clerk")
    before = (count_rows(engine, "residents"), count_rows(engine, "audit_events"))
    answer = client.post(
        "/api/v1/residents", json={**body, "id_number": number[:17] + wrong}, headers=headers
    )
    problem = _problem(answer, 422)
    assert f"第18位应为 {number[17]}" in problem["detail_zh"]
    assert _fields(problem) == {
        "id_number": f"ID number check digit wrong: 18th character should be {number[17]}"
    }
    assert (count_rows(engine, "residents"), count_rows(engine, "audit_events")) == before


def test_an_id_number_with_an_impossible_birth_date_is_refused(
    client: TestClient, login: Login, engine: Engine
) -> None:
    first17 = "33078419990230002"
    body = _registration(engine, id_number=first17 + check_char(first17))
    before = count_rows(engine, "residents")
    problem = _problem(
        client.post("/api/v1/residents", json=body, headers=login("window_clerk")), 422
    )
    assert "19990230" in _fields(problem)["id_number"]
    assert count_rows(engine, "residents") == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sex", "male", "Sex does not match the ID number (it encodes female)"),
        ("birth_date", "1958-04-13", "Birth date does not match the ID number (1958-04-12)"),
    ],
)
def test_sex_or_birth_date_contradicting_the_id_number_is_refused(
    client: TestClient, login: Login, engine: Engine, field: str, value: str, message: str
) -> None:
    body = _registration(engine, **{field: value})
    before = count_rows(engine, "residents")
    problem = _problem(
        client.post("/api/v1/residents", json=body, headers=login("window_clerk")), 422
    )
    assert _fields(problem) == {field: message}
    assert count_rows(engine, "residents") == before


def test_an_id_number_already_registered_is_a_conflict(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        taken = places(session).resident.id_number
    body = _registration(engine, id_number=taken.lower())
    before = count_rows(engine, "residents")
    problem = _problem(
        client.post("/api/v1/residents", json=body, headers=login("window_clerk")), 409
    )
    assert problem["detail_zh"] == "该身份证号的居民已登记"
    assert count_rows(engine, "residents") == before


def test_a_village_outside_the_clerks_area_is_refused(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        elsewhere = other_town(session, places(session).center.town_id)
        village = session.scalar(select(Village.id).where(Village.town_id == elsewhere.id))
    body = _registration(engine, residence_village_id=str(village))
    before = count_rows(engine, "residents")
    problem = _problem(
        client.post("/api/v1/residents", json=body, headers=login("window_clerk")), 422
    )
    assert "residence_village_id" in _fields(problem)
    assert "不在本机构服务范围内" in problem["detail_zh"]
    assert count_rows(engine, "residents") == before


def test_without_an_id_number_sex_and_birth_date_are_required(
    client: TestClient, login: Login, engine: Engine
) -> None:
    body = _registration(engine, id_number=None)
    problem = _problem(
        client.post("/api/v1/residents", json=body, headers=login("window_clerk")), 422
    )
    assert "sex" in _fields(problem)
    body.update(sex="female", birth_date="2024-02-29")
    answer = client.post("/api/v1/residents", json=body, headers=login("window_clerk"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["id_number"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "0579-8888888"),
        ("name", "X"),
        ("insurance_type", "commercial"),
        ("relation", "cousin"),
        ("residence_village_id", str(uuid.UUID(int=1))),
        ("household_id", str(uuid.UUID(int=1))),
    ],
)
def test_a_bad_field_is_refused_by_name(
    client: TestClient, login: Login, engine: Engine, field: str, value: str
) -> None:
    body = _registration(engine, **{field: value})
    problem = _problem(
        client.post("/api/v1/residents", json=body, headers=login("window_clerk")), 422
    )
    assert list(_fields(problem)) == [field]


@pytest.mark.parametrize("role", ["resident", "center_reader", "cdc_officer", "system_admin"])
def test_roles_without_resident_write_cannot_register(
    client: TestClient, login: Login, engine: Engine, role: str
) -> None:
    body = _registration(engine)
    _problem(client.post("/api/v1/residents", json=body, headers=login(role)), 403)


# --- read and reveal --------------------------------------------------------------------------


def test_a_read_is_masked_and_a_reveal_shows_the_full_id_number(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    url = f"/api/v1/residents/{person.id}"
    masked = client.get(url, headers=login("village_doctor")).json()
    assert masked["id_number"] == person.id_number[:6] + "********" + person.id_number[-4:]
    assert MASKED_PHONE.match(masked["phone"])
    revealed = client.get(url, params={"reveal": True}, headers=login("village_doctor")).json()
    assert (revealed["id_number"], revealed["phone"], revealed["revealed"]) == (
        person.id_number,
        person.phone,
        True,
    )


def test_a_resident_out_of_scope_is_not_found_rather_than_forbidden(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        stranger = resident_outside(session, actor(session, "village_doctor"))
    problem = _problem(
        client.get(f"/api/v1/residents/{stranger.id}", headers=login("village_doctor")), 404
    )
    assert problem["detail_zh"] == "您的权限范围内无此居民"
    missing = client.get(f"/api/v1/residents/{uuid.uuid4()}", headers=login("village_doctor"))
    assert _problem(missing, 404) == problem


# --- search -----------------------------------------------------------------------------------


def _search(client: TestClient, headers: dict[str, str], q: str) -> dict:  # type: ignore[type-arg]
    answer = client.get("/api/v1/residents", params={"q": q, "limit": 100}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(
    "term",
    [
        pytest.param(lambda r: r.name[:1], id="surname"),
        pytest.param(lambda r: r.name, id="full-name"),
        pytest.param(lambda r: r.name_initials.lower(), id="pinyin-initials"),
        pytest.param(lambda r: r.id_number, id="full-id-number"),
        pytest.param(lambda r: r.id_number.lower(), id="id-number-lower-case-x"),
        pytest.param(lambda r: r.id_number[-4:], id="id-number-last-four"),
        pytest.param(lambda r: r.phone, id="phone"),
        pytest.param(lambda r: r.phone[-4:], id="phone-last-four"),
    ],
)
def test_a_township_doctor_finds_a_resident_of_his_town_by(
    client: TestClient, login: Login, engine: Engine, term: Callable[[Resident], str]
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    found = _search(client, login("township_doctor"), term(person))
    hit = next(r for r in found["items"] if r["id"] == str(person.id))
    assert MASKED_ID.match(hit["id_number"])
    assert MASKED_PHONE.match(hit["phone"])
    assert hit["revealed"] is False
    assert found["total"] >= len(found["items"]) >= 1


def test_search_by_full_id_number_finds_exactly_that_resident(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    found = _search(client, login("cdc_officer"), person.id_number)
    assert [r["id"] for r in found["items"]] == [str(person.id)]


def test_search_results_stay_inside_the_searchers_scope(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        town = villages_of_towns(session, {at.center.town_id})
        stranger = resident_where(session, Resident.residence_village_id.not_in(town))
    assert _search(client, login("township_doctor"), stranger.id_number)["total"] == 0
    assert _search(client, login("cdc_officer"), stranger.id_number)["total"] == 1


@pytest.mark.parametrize("term", ["%", "_", "%%", "1%"])
def test_like_wildcards_in_a_search_are_taken_literally(
    client: TestClient, login: Login, term: str
) -> None:
    assert _search(client, login("cdc_officer"), term)["total"] == 0


def test_a_blank_search_is_refused(client: TestClient, login: Login) -> None:
    headers = login("township_doctor")
    problem = _problem(client.get("/api/v1/residents", params={"q": "  "}, headers=headers), 422)
    assert "q" in _fields(problem)
    problem = _problem(client.get("/api/v1/residents", headers=headers), 422)
    assert "query.q" in _fields(problem)


# --- update -----------------------------------------------------------------------------------


def test_a_clerk_changes_a_residents_phone_and_the_change_is_audited(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    answer = client.patch(
        f"/api/v1/residents/{person.id}",
        json={"phone": "13700001111", "insurance_type": "employee"},
        headers=login("window_clerk"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["phone"] == "137****1111"
    with unit_of_work(engine) as session:
        stored = session.get(Resident, person.id)
        assert (stored.phone, stored.insurance_type, stored.name) == (
            "13700001111",
            "employee",
            person.name,
        )
        row = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "update").order_by(AuditEvent.seq.desc())
        )
        assert row.person_id == person.id
        assert row.detail == "fields=phone,insurance_type"


def test_moving_a_resident_outside_the_clerks_area_is_refused(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        elsewhere = other_town(session, at.center.town_id)
        village = session.scalar(select(Village.id).where(Village.town_id == elsewhere.id))
    problem = _problem(
        client.patch(
            f"/api/v1/residents/{at.resident.id}",
            json={"residence_village_id": str(village)},
            headers=login("window_clerk"),
        ),
        422,
    )
    assert list(_fields(problem)) == ["residence_village_id"]
    with unit_of_work(engine) as session:
        assert session.get(Resident, at.resident.id).residence_village_id == at.village.id


def test_a_resident_cannot_change_his_own_record(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    answer = client.patch(
        f"/api/v1/residents/{person.id}", json={"phone": "13700001111"}, headers=login("resident")
    )
    _problem(answer, 403)


def test_an_invalid_phone_change_is_refused_and_nothing_changes(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    problem = _problem(
        client.patch(
            f"/api/v1/residents/{person.id}",
            json={"phone": "12345", "permanent": False},
            headers=login("window_clerk"),
        ),
        422,
    )
    assert list(_fields(problem)) == ["phone"]
    with unit_of_work(engine) as session:
        stored = session.get(Resident, person.id)
        assert (stored.phone, stored.permanent) == (person.phone, person.permanent)


# --- guardians --------------------------------------------------------------------------------


def _two_neighbours_without_guardianship(engine: Engine) -> tuple[Resident, Resident]:
    """Two residents of the township doctor's town not yet linked by a guardianship."""
    with unit_of_work(engine) as session:
        at = places(session)
        town = villages_of_towns(session, {at.center.town_id})
        linked = set(session.scalars(select(Guardianship.ward_id)))
        guardian = resident_where(
            session, Resident.residence_village_id.in_(town), Resident.id.not_in(linked)
        )
        ward = resident_where(
            session,
            Resident.residence_village_id.in_(town),
            Resident.id.not_in(linked | {guardian.id} | wards(session, guardian.id)),
        )
        return guardian, ward


def test_a_recorded_guardian_may_act_for_the_ward(
    client: TestClient, login: Login, engine: Engine
) -> None:
    guardian, ward = _two_neighbours_without_guardianship(engine)
    answer = client.post(
        f"/api/v1/residents/{ward.id}/guardians",
        json={"guardian_id": str(guardian.id), "relation": "child"},
        headers=login("township_doctor"),
    )
    assert answer.status_code == 204, answer.text
    with unit_of_work(engine) as session:
        assert wards(session, guardian.id) >= {ward.id}
        row = session.scalar(select(AuditEvent).where(AuditEvent.object_type == "guardianship"))
        assert (row.action, row.object_id, row.person_id) == ("create", str(guardian.id), ward.id)
        assert row.detail == "relation=child"


def test_the_same_guardianship_twice_is_a_conflict(
    client: TestClient, login: Login, engine: Engine
) -> None:
    guardian, ward = _two_neighbours_without_guardianship(engine)
    url, body = f"/api/v1/residents/{ward.id}/guardians", {"guardian_id": str(guardian.id)}
    headers = login("township_doctor")
    assert client.post(url, json={**body, "relation": "other"}, headers=headers).status_code == 204
    _problem(client.post(url, json={**body, "relation": "parent"}, headers=headers), 409)


def test_a_resident_cannot_be_his_own_guardian(
    client: TestClient, login: Login, engine: Engine
) -> None:
    guardian, _ = _two_neighbours_without_guardianship(engine)
    problem = _problem(
        client.post(
            f"/api/v1/residents/{guardian.id}/guardians",
            json={"guardian_id": str(guardian.id), "relation": "other"},
            headers=login("township_doctor"),
        ),
        422,
    )
    assert list(_fields(problem)) == ["ward_id"]


def test_an_unknown_guardian_relation_is_refused(
    client: TestClient, login: Login, engine: Engine
) -> None:
    guardian, ward = _two_neighbours_without_guardianship(engine)
    problem = _problem(
        client.post(
            f"/api/v1/residents/{ward.id}/guardians",
            json={"guardian_id": str(guardian.id), "relation": "neighbour"},
            headers=login("township_doctor"),
        ),
        422,
    )
    assert list(_fields(problem)) == ["relation"]


def test_a_guardian_outside_the_doctors_scope_is_not_found(
    client: TestClient, login: Login, engine: Engine
) -> None:
    _, ward = _two_neighbours_without_guardianship(engine)
    with unit_of_work(engine) as session:
        stranger = resident_outside(session, actor(session, "township_doctor"))
    _problem(
        client.post(
            f"/api/v1/residents/{ward.id}/guardians",
            json={"guardian_id": str(stranger.id), "relation": "other"},
            headers=login("township_doctor"),
        ),
        404,
    )
    with unit_of_work(engine) as session:
        assert ward.id not in wards(session, stranger.id)


def test_a_resident_lists_his_wards(client: TestClient, login: Login, engine: Engine) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        expected = wards(session, at.resident.id)
    listed = client.get("/api/v1/me/wards", headers=login("resident")).json()
    assert {w["id"] for w in listed} == {str(w) for w in expected}
    assert all(MASKED_ID.match(w["id_number"]) for w in listed if w["id_number"])


def test_staff_have_no_wards(client: TestClient, login: Login) -> None:
    assert client.get("/api/v1/me/wards", headers=login("township_doctor")).json() == []
