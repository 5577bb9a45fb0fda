"""The FHIR REST core: capability, read, search and paging, create, update, history, errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.interop.fhir.conftest import FHIR_JSON, Fhir, issue_paths
from tests.support import actor, count_rows, new_id_number, places, resident_outside
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.resources.patient import VILLAGE_EXTENSION
from yigongti.registry.models import Resident
from yigongti.security import AuditEvent


def _new_patient(engine: Engine, id_number: str | None = None, name: str = "测试新") -> dict:
    with Session(engine) as session:
        village = places(session).village
        id_number = id_number or new_id_number(session)
    return {
        "resourceType": "Patient",
        "identifier": [{"system": systems.ID_NUMBER, "value": id_number}],
        "name": [{"text": name}],
        "telecom": [{"system": "phone", "value": "13900001111"}],
        "address": [{"extension": [{"url": VILLAGE_EXTENSION, "valueString": str(village.id)}]}],
    }


def test_the_capability_statement_lists_patient_and_needs_no_login(client) -> None:
    answer = client.get("/fhir/metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    body = answer.json()
    assert body["fhirVersion"] == "4.0.1"
    patient = next(r for r in body["rest"][0]["resource"] if r["type"] == "Patient")
    assert {"read", "vread", "search-type", "create", "update"} <= {
        i["code"] for i in patient["interaction"]
    }
    assert "identifier" in {p["name"] for p in patient["searchParam"]}


def test_without_a_token_the_answer_is_an_operation_outcome_401(client) -> None:
    answer = client.get("/fhir/Patient")
    assert answer.status_code == 401
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_a_village_doctor_reads_his_resident_with_masked_identifiers(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        resident = places(session).resident
    answer = fhir("village_doctor").get(f"Patient/{resident.id}")
    assert answer.status_code == 200, answer.text
    patient = answer.json()
    assert patient["name"][0]["text"] == resident.name
    assert "*" in patient["identifier"][0]["value"]
    assert patient["meta"]["versionId"] == "1"
    assert answer.headers["etag"] == 'W/"1"'


def test_reveal_shows_the_full_id_number_and_is_audited(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        resident = places(session).resident
    answer = fhir("village_doctor").get(f"Patient/{resident.id}", **{"X-Reveal": "true"})
    assert answer.json()["identifier"][0]["value"] == resident.id_number
    with Session(engine) as session:
        last = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        assert (last.action, last.person_id) == ("reveal", resident.id)


def test_a_resident_outside_the_doctors_scope_is_not_found(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        stranger = resident_outside(session, actor(session, "village_doctor"))
    answer = fhir("village_doctor").get(f"Patient/{stranger.id}")
    assert answer.status_code == 404
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_search_by_identifier_finds_the_one_resident(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        resident = places(session).resident
    answer = fhir("township_doctor").get(
        f"Patient?identifier={systems.ID_NUMBER}|{resident.id_number}"
    )
    bundle = answer.json()
    assert (bundle["type"], bundle["total"]) == ("searchset", 1)
    assert bundle["entry"][0]["resource"]["id"] == str(resident.id)


def test_search_pages_with_next_links_and_sorts_by_birth_date(
    fhir: Callable[[str], Fhir],
) -> None:
    doctor = fhir("township_doctor")
    first = doctor.get("Patient?_count=5&_sort=-birthdate").json()
    assert first["total"] > 5 and len(first["entry"]) == 5
    births = [e["resource"]["birthDate"] for e in first["entry"]]
    assert births == sorted(births, reverse=True)
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = doctor.get(next_url.split("/fhir/", 1)[1]).json()
    assert {e["resource"]["id"] for e in second["entry"]}.isdisjoint(
        {e["resource"]["id"] for e in first["entry"]}
    )
    assert second["entry"][0]["resource"]["birthDate"] <= births[-1]


def test_search_by_birthdate_range_and_gender(fhir: Callable[[str], Fhir]) -> None:
    bundle = (
        fhir("cdc_officer")
        .get("Patient?birthdate=ge1950-01-01&birthdate=lt1960-01-01&gender=female&_count=50")
        .json()
    )
    assert bundle["total"] > 0
    for entry in bundle["entry"]:
        patient = entry["resource"]
        assert patient["gender"] == "female"
        assert date(1950, 1, 1) <= date.fromisoformat(patient["birthDate"]) < date(1960, 1, 1)


def test_an_unknown_search_parameter_is_refused_unless_lenient(
    fhir: Callable[[str], Fhir],
) -> None:
    doctor = fhir("township_doctor")
    answer = doctor.get("Patient?nmae=王")
    assert answer.status_code == 400
    assert issue_paths(answer) == ["nmae"]
    assert doctor.get("Patient?nmae=王&_count=1", Prefer="handling=lenient").status_code == 200


def test_bad_dates_sorts_and_types_are_400_or_404_outcomes(fhir: Callable[[str], Fhir]) -> None:
    doctor = fhir("township_doctor")
    assert doctor.get("Patient?birthdate=1990-13-01").status_code == 400
    assert doctor.get("Patient?_sort=phone").status_code == 400
    assert doctor.get("Patient?_count=many").status_code == 400
    assert doctor.get("Spaceship?name=x").status_code == 404
    assert doctor.get("Patient/not-a-uuid").status_code == 404


def test_create_registers_a_resident_and_if_none_exist_does_not_duplicate(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    clerk = fhir("window_clerk")
    patient = _new_patient(engine)
    number = patient["identifier"][0]["value"]
    created = clerk.post("Patient", patient)
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith("/_history/1")
    again = clerk.post(
        "Patient", patient, **{"If-None-Exist": f"identifier={systems.ID_NUMBER}|{number}"}
    )
    assert again.status_code == 200
    assert again.json()["id"] == created.json()["id"]
    with Session(engine) as session:
        assert session.scalars(select(Resident).where(Resident.id_number == number)).all()


def test_invalid_resources_name_the_offending_element_and_write_nothing(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    clerk = fhir("window_clerk")
    before = count_rows(engine, "residents")
    good = _new_patient(engine)
    bad_id = {**good, "identifier": [{"system": systems.ID_NUMBER, "value": "33078419880601001"}]}
    cases = {
        "Patient.gender": {**good, "gender": "unknown"},
        "Patient.identifier[0].value": bad_id,
        "Patient.foo": {**good, "foo": 1},
        "resourceType": {**good, "resourceType": "Observation"},
        "Patient.identifier[0].system": {**good, "identifier": [{"system": "urn:x", "value": "1"}]},
    }
    for path, resource in cases.items():
        answer = clerk.post("Patient", resource)
        assert answer.status_code == 400, (path, answer.text)
        assert path in issue_paths(answer), (path, answer.json())
    not_json = clerk.client.post(
        "/fhir/Patient", content=b"{", headers={**clerk.headers, "Content-Type": FHIR_JSON}
    )
    assert not_json.status_code == 400
    assert not_json.json()["resourceType"] == "OperationOutcome"
    assert count_rows(engine, "residents") == before


def test_update_changes_the_phone_and_keeps_every_version(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    clerk = fhir("window_clerk")
    created = clerk.post("Patient", _new_patient(engine)).json()
    changed = {**created, "telecom": [{"system": "phone", "value": "13812345678"}]}
    answer = clerk.put(f"Patient/{created['id']}", changed, **{"If-Match": 'W/"1"'})
    assert answer.status_code == 200, answer.text
    assert answer.json()["meta"]["versionId"] == "2"
    stale = clerk.put(f"Patient/{created['id']}", changed, **{"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    first = clerk.get(f"Patient/{created['id']}/_history/1").json()
    assert first["telecom"][0]["value"] != answer.json()["telecom"][0]["value"]
    history = clerk.get(f"Patient/{created['id']}/_history").json()
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]


def test_update_cannot_change_what_the_id_number_fixes(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    clerk = fhir("window_clerk")
    created = clerk.post("Patient", _new_patient(engine)).json()
    answer = clerk.put(f"Patient/{created['id']}", {**created, "birthDate": "1990-01-01"})
    assert answer.status_code == 400
    assert issue_paths(answer) == ["Patient.birthDate"]


def test_a_transaction_is_all_or_nothing(fhir: Callable[[str], Fhir], engine: Engine) -> None:
    clerk = fhir("window_clerk")
    before = count_rows(engine, "residents")
    good = _new_patient(engine)
    with Session(engine) as session:
        other = new_id_number(session, birth=date(1979, 3, 3))
    bad = {**_new_patient(engine, other), "gender": "other"}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": good,
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:2",
                "resource": bad,
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
    answer = clerk.post("", bundle)
    assert answer.status_code == 400
    assert issue_paths(answer) == ["Bundle.entry[1].resource.gender"]
    assert count_rows(engine, "residents") == before
    bundle["entry"] = bundle["entry"][:1]
    done = clerk.post("", bundle)
    assert done.status_code == 200, done.text
    assert done.json()["entry"][0]["response"]["status"].startswith("201")
    assert count_rows(engine, "residents") == before + 1


def test_a_batch_answers_each_entry_and_keeps_the_good_ones(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    clerk = fhir("window_clerk")
    before = count_rows(engine, "residents")
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": {**_new_patient(engine), "gender": "other"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": _new_patient(engine), "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": "Patient?_count=1"}},
        ],
    }
    answer = clerk.post("", bundle)
    assert answer.status_code == 200, answer.text
    statuses = [e["response"]["status"] for e in answer.json()["entry"]]
    assert statuses[0] == "400" and statuses[1].startswith("201") and statuses[2].startswith("200")
    assert count_rows(engine, "residents") == before + 1


def test_an_oversized_bundle_is_refused(fhir: Callable[[str], Fhir]) -> None:
    entries = [{"request": {"method": "GET", "url": "Patient?_count=1"}}] * 1001
    answer = fhir("window_clerk").post(
        "", {"resourceType": "Bundle", "type": "batch", "entry": entries}
    )
    assert answer.status_code == 413
    assert answer.json()["resourceType"] == "OperationOutcome"
