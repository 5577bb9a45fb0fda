"""``Patient/$everything`` and transactions that write a visit with its results at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.interop.fhir import clinical_json as fj
from tests.interop.fhir.conftest import Fhir, issue_paths
from tests.support import count_rows, max_seq, new_id_number, places
from yigongti.db import unit_of_work
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.resource import RESOURCE_TYPES, ResourceType
from yigongti.interop.fhir.resources.patient import VILLAGE_EXTENSION
from yigongti.registry.models import Resident
from yigongti.security import AuditEvent
from yigongti.synth import builders


def _resident_with_a_record(engine: Engine) -> tuple[Resident, set[str]]:
    """A resident of the village doctor's village whose record was made at three institutions,
    and a neighbour with a record of his own; the resident's record as ``Type/id``."""
    with unit_of_work(engine) as session:
        where = places(session)
        resident = builders.make_resident(session, where.village)
        neighbour = builders.make_resident(session, where.village)
        made = [
            ("Observation", builders.add_observation(session, resident, where.lead)),
            ("Immunization", builders.add_immunization(session, resident, where.clinic)),
            ("MedicationRequest", builders.add_medication_request(session, resident, where.center)),
            ("Condition", builders.add_condition(session, resident, "I10")),
        ]
        builders.add_observation(session, neighbour, where.clinic)
        builders.add_immunization(session, neighbour, where.clinic)
        session.expunge(resident)
        return resident, {f"{kind}/{row.id}" for kind, row in made}


def _everything(doctor: Fhir, resident_id: uuid.UUID, query: str = "") -> list[dict]:
    answer = doctor.get(f"Patient/{resident_id}/$everything{query}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    matches = [e for e in body["entry"] if e["search"]["mode"] == "match"]
    assert (body["type"], body["total"]) == ("searchset", len(matches))
    return [e["resource"] for e in body["entry"]]


def test_everything_is_the_patient_and_his_record_from_every_institution_and_nothing_else(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    resident, record = _resident_with_a_record(engine)
    doctor = fhir("village_doctor")
    for resource in (fj.encounter(resident.id), fj.lab_report(resident.id)):
        answer = doctor.post(resource["resourceType"], resource)
        assert answer.status_code == 201, answer.text
        record.add(f"{resource['resourceType']}/{answer.json()['id']}")
    found = _everything(doctor, resident.id)
    assert found[0]["resourceType"] == "Patient" and found[0]["id"] == str(resident.id)
    given = {f"{r['resourceType']}/{r['id']}" for r in found[1:]}
    assert record <= given
    assert "Organization" in {r["resourceType"] for r in found}  # where it was recorded
    report = next(r for r in found if r["resourceType"] == "DiagnosticReport")
    assert {r["reference"] for r in report["result"]} <= given  # its results are there too
    for resource in found:
        fj.assert_valid_r4b(resource)
        if resource["resourceType"] not in ("Patient", "Organization", "Practitioner"):
            about = resource.get("subject") or resource.get("patient")
            assert about == {"reference": f"Patient/{resident.id}"}


def test_everything_of_a_resident_outside_the_callers_scope_is_not_found(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        where = places(session)
        town = builders.make_town(session)
        stranger = builders.make_resident(session, builders.make_village(session, town))
        builders.add_observation(session, stranger, where.lead)
        stranger_id = stranger.id
    answer = fhir("village_doctor").get(f"Patient/{stranger_id}/$everything")
    assert answer.status_code == 404
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert fhir("cdc_officer").get(f"Patient/{stranger_id}/$everything").status_code == 200


def test_everything_reads_through_the_services_and_is_audited_per_kind_of_record(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    resident, _ = _resident_with_a_record(engine)
    with Session(engine) as session:
        start = max_seq(session)
    _everything(fhir("village_doctor"), resident.id)
    with Session(engine) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.seq > start)).all()
    assert ("read", "resident") in {(r.action, r.object_type) for r in rows}
    searched = {r.object_type for r in rows if r.action == "search"}
    assert {"observation", "immunization", "medication_request", "condition"} <= searched
    assert all(r.person_id in (resident.id, None) for r in rows)


def test_start_end_and_type_narrow_everything(fhir: Callable[[str], Fhir], engine: Engine) -> None:
    resident, _ = _resident_with_a_record(engine)
    doctor = fhir("village_doctor")
    only = _everything(doctor, resident.id, "?_type=Observation")
    assert {r["resourceType"] for r in only} == {"Patient", "Observation"}
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert [r["resourceType"] for r in _everything(doctor, resident.id, f"?start={tomorrow}")] == [
        "Patient"
    ]
    answer = doctor.get(f"Patient/{resident.id}/$everything?_type=Slot")
    assert answer.status_code == 400 and issue_paths(answer) == ["_type"]
    assert issue_paths(doctor.get(f"Patient/{resident.id}/$everything?since=2020")) == ["since"]


class _Organizations(ResourceType):
    """A stand-in Organization type, as the registry's mapping will serve it."""

    name = "Organization"

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        return {"resourceType": "Organization", "id": str(resource_id), "name": "机构"}


def test_everything_includes_the_organizations_its_record_refers_to_when_they_are_served(
    fhir: Callable[[str], Fhir], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    resident, _ = _resident_with_a_record(engine)
    with Session(engine) as session:
        lead = places(session).lead
    monkeypatch.setitem(RESOURCE_TYPES, "Organization", _Organizations())
    answer = fhir("village_doctor").get(f"Patient/{resident.id}/$everything")
    included = [e for e in answer.json()["entry"] if e["search"]["mode"] == "include"]
    assert str(lead.id) in {e["resource"]["id"] for e in included}
    assert {e["resource"]["resourceType"] for e in included} == {"Organization"}


def _visit_bundle(engine: Engine, bad_second_result: bool = False) -> dict:
    with Session(engine) as session:
        village = places(session).village
        id_number = new_id_number(session, birth=date(1957, 4, 9))
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": systems.ID_NUMBER, "value": id_number}],
        "name": [{"text": "测试陈"}],
        "address": [{"extension": [{"url": VILLAGE_EXTENSION, "valueString": str(village.id)}]}],
    }
    visit = {**fj.encounter("x"), "subject": {"reference": "urn:uuid:p"}}
    results = [fj.glucose("x"), fj.blood_pressure("x", 150, 95)]
    if bad_second_result:
        results[1]["component"][0]["valueQuantity"]["code"] = "kPa"
    entries = [
        {
            "fullUrl": "urn:uuid:p",
            "resource": patient,
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "fullUrl": "urn:uuid:e",
            "resource": visit,
            "request": {"method": "POST", "url": "Encounter"},
        },
    ]
    for index, result in enumerate(results):
        result.update(subject={"reference": "urn:uuid:p"}, encounter={"reference": "urn:uuid:e"})
        entries.append(
            {
                "fullUrl": f"urn:uuid:o{index}",
                "resource": result,
                "request": {"method": "POST", "url": "Observation"},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def test_a_transaction_writes_a_new_patient_his_visit_and_its_observations_together(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor = fhir("village_doctor")
    answer = doctor.post("", _visit_bundle(engine))
    assert answer.status_code == 200, answer.text
    created = [e["resource"] for e in answer.json()["entry"]]
    patient, visit, *results = created
    assert visit["subject"] == {"reference": f"Patient/{patient['id']}"}
    for result in results:
        assert result["subject"] == {"reference": f"Patient/{patient['id']}"}
        assert result["encounter"] == {"reference": f"Encounter/{visit['id']}"}
    found = doctor.get(f"Observation?encounter={visit['id']}").json()
    assert found["total"] == 2


def test_a_transaction_with_one_bad_observation_writes_nothing(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    counts = {t: count_rows(engine, t) for t in ("residents", "encounters", "observations")}
    answer = fhir("village_doctor").post("", _visit_bundle(engine, bad_second_result=True))
    assert answer.status_code == 400
    assert issue_paths(answer) == ["Bundle.entry[3].resource.component"]
    assert {t: count_rows(engine, t) for t in counts} == counts
