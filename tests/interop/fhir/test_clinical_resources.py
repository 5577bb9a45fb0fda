"""The shared record over FHIR: Encounter, Condition, Observation, DiagnosticReport, Immunization,
MedicationRequest and ServiceRequest are created, read and searched through the clinical services,
in the caller's scope, audited, with the codes we bind checked."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.interop.fhir import clinical_json as fj
from tests.interop.fhir.conftest import Fhir, issue_paths
from tests.support import actor, count_rows, max_seq, places, resident_outside
from yigongti.db import unit_of_work
from yigongti.registry.models import Resident
from yigongti.security import AuditEvent
from yigongti.synth import builders

CLINICAL_TYPES = (
    "Encounter",
    "Condition",
    "Observation",
    "DiagnosticReport",
    "Immunization",
    "MedicationRequest",
    "ServiceRequest",
)


def _new_resident(engine: Engine, **given: object) -> Resident:
    """A resident of the village doctor's village with no record yet."""
    with unit_of_work(engine) as session:
        resident = builders.make_resident(session, places(session).village, **given)
        session.expunge(resident)
    return resident


def _created(doctor: Fhir, resource: dict) -> dict:
    answer = doctor.post(resource["resourceType"], resource)
    assert answer.status_code == 201, answer.text
    fj.assert_valid_r4b(answer.json())
    return answer.json()


def _found(doctor: Fhir, query: str) -> list[dict]:
    answer = doctor.get(query)
    assert answer.status_code == 200, answer.text
    return [e["resource"] for e in answer.json().get("entry", [])]


def test_the_capability_statement_lists_each_clinical_type_with_create_and_patient_search(
    client,
) -> None:
    listed = {r["type"]: r for r in client.get("/fhir/metadata").json()["rest"][0]["resource"]}
    for name in CLINICAL_TYPES:
        assert {"read", "search-type", "create"} <= {i["code"] for i in listed[name]["interaction"]}
        assert "patient" in {p["name"] for p in listed[name]["searchParam"]}
    assert "everything" in {o["name"] for o in listed["Patient"]["operation"]}


def test_an_encounter_is_recorded_read_and_found_by_patient_class_date_and_diagnosis(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    stored = _created(doctor, fj.encounter(resident.id))
    with Session(engine) as session:
        clinic = places(session).clinic
    assert stored["serviceProvider"] == {"reference": f"Organization/{clinic.id}"}
    assert stored["participant"][0]["individual"]["reference"].startswith("Practitioner/")
    assert doctor.get(f"Encounter/{stored['id']}").json()["reasonCode"][0]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10",
        "code": "I10",
        "display": stored["reasonCode"][0]["coding"][0]["display"],
    }
    today = date.today().isoformat()
    query = f"Encounter?patient={resident.id}&class=AMB&date=ge{today}&reason-code=I10"
    assert [e["id"] for e in _found(doctor, query)] == [stored["id"]]
    assert _found(doctor, f"Encounter?patient={resident.id}&class=IMP") == []


def test_a_condition_is_recorded_with_its_icd10_code_and_found_by_onset(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    stored = _created(doctor, fj.condition(resident.id))
    assert stored["code"]["coding"][0]["code"] == "E11.900"
    assert stored["clinicalStatus"]["coding"][0]["code"] == "active"
    found = _found(doctor, f"Condition?subject=Patient/{resident.id}&onset-date=2024-03")
    assert [c["id"] for c in found] == [stored["id"]]
    assert _found(doctor, f"Condition?patient={resident.id}&onset-date=2024-04") == []


def test_a_blood_pressure_panel_keeps_its_components_and_flags_a_high_systolic(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    stored = _created(doctor, fj.blood_pressure(resident.id, 158, 88))
    flags = [c["interpretation"][0]["coding"][0]["code"] for c in stored["component"]]
    assert flags == ["H", "N"]
    assert stored["interpretation"][0]["coding"][0]["code"] == "H"
    assert stored["category"][0]["coding"][0]["code"] == "vital-signs"


def test_observations_are_found_by_code_category_status_date_and_encounter_and_sorted_by_date(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    visit = _created(doctor, fj.encounter(resident.id))
    glucose = _created(
        doctor, {**fj.glucose(resident.id), "encounter": {"reference": f"Encounter/{visit['id']}"}}
    )
    pressure = _created(doctor, fj.blood_pressure(resident.id, 120, 80))
    base = f"Observation?patient={resident.id}"
    assert [o["id"] for o in _found(doctor, f"{base}&code=http://loinc.org|14771-0")] == [
        glucose["id"]
    ]
    assert [o["id"] for o in _found(doctor, f"{base}&category=vital-signs")] == [pressure["id"]]
    assert [o["id"] for o in _found(doctor, f"{base}&encounter=Encounter/{visit['id']}")] == [
        glucose["id"]
    ]
    assert [o["id"] for o in _found(doctor, f"{base}&_sort=date")] == [
        glucose["id"],
        pressure["id"],
    ]
    assert [o["id"] for o in _found(doctor, f"{base}&_sort=-date")] == [
        pressure["id"],
        glucose["id"],
    ]
    assert _found(doctor, f"{base}&status=entered-in-error") == []
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert _found(doctor, f"{base}&date=le{yesterday}") == []


def test_include_patient_adds_the_resident_once(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    _created(doctor, fj.glucose(resident.id))
    _created(doctor, fj.blood_pressure(resident.id, 120, 80))
    answer = doctor.get(f"Observation?patient={resident.id}&_include=Observation:patient")
    modes = [(e["search"]["mode"], e["resource"]["resourceType"]) for e in answer.json()["entry"]]
    assert modes.count(("include", "Patient")) == 1
    assert modes.count(("match", "Observation")) == 2


def test_a_lab_report_records_its_contained_results_as_observations(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    stored = _created(doctor, fj.lab_report(resident.id))
    assert stored["category"][0]["coding"][0]["code"] == "LAB"
    assert "contained" not in stored
    results = [doctor.get(r["reference"]).json() for r in stored["result"]]
    assert {r["code"]["coding"][0]["code"] for r in results} == {"718-7", "6690-2"}
    assert {r["interpretation"][0]["coding"][0]["code"] for r in results} == {"N", "H"}
    found = _found(doctor, f"DiagnosticReport?patient={resident.id}&category=LAB&code=58410-2")
    assert [r["id"] for r in found] == [stored["id"]]


def test_a_report_result_must_be_contained(fhir: Callable[[str], Fhir], engine: Engine) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    report = {**fj.lab_report(resident.id), "result": [{"reference": "Observation/x"}]}
    answer = doctor.post("DiagnosticReport", report)
    assert answer.status_code == 400
    assert issue_paths(answer) == ["DiagnosticReport.result[0]"]


def test_an_immunization_is_recorded_with_cvx_beside_and_found_by_vaccine(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor = fhir("village_doctor")
    child = _new_resident(engine, birth_date=date.today() - timedelta(days=400))
    stored = _created(doctor, fj.immunization(child.id, child.birth_date.isoformat()))
    systems_given = [c["system"] for c in stored["vaccineCode"]["coding"]]
    assert systems_given == ["urn:yigongti:vaccine", "http://hl7.org/fhir/sid/cvx"]
    assert stored["protocolApplied"] == [{"doseNumberPositiveInt": 1}]
    found = _found(doctor, f"Immunization?patient={child.id}&vaccine-code=HepB")
    assert [i["id"] for i in found] == [stored["id"]]


def test_a_prescription_is_recorded_and_found_by_code_and_a_long_one_needs_a_chronic_condition(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    stored = _created(doctor, fj.prescription(resident.id))
    assert stored["dispenseRequest"]["expectedSupplyDuration"]["value"] == 28
    found = _found(doctor, f"MedicationRequest?patient={resident.id}&code=C08CA01")
    assert [m["id"] for m in found] == [stored["id"]]
    refused = doctor.post("MedicationRequest", fj.prescription(resident.id, days=8, unit="wk"))
    assert refused.status_code == 400
    assert issue_paths(refused) == ["MedicationRequest.dispenseRequest.expectedSupplyDuration"]
    _created(doctor, {**fj.condition(resident.id, "I10")})
    long = _created(doctor, fj.prescription(resident.id, days=8, unit="wk"))
    assert long["dispenseRequest"]["expectedSupplyDuration"]["value"] == 56
    assert any(e["url"].endswith("long-prescription") for e in long["extension"])


def test_a_referral_completed_by_a_visit_is_listed_in_the_visits_based_on(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    with Session(engine) as session:
        where = places(session)
    request = _created(doctor, fj.referral(resident.id, where.lead.id))
    visit = fj.encounter(resident.id)
    visit["extension"] = [
        {
            "url": "https://yigongti.org/fhir/StructureDefinition/referral-direction",
            "valueCode": "down",
        }
    ]
    visit["hospitalization"] = {"origin": {"reference": f"Organization/{where.lead.id}"}}
    encounter = _created(doctor, visit)
    done = {
        **request,
        "status": "completed",
        "extension": [
            {
                "url": "https://yigongti.org/fhir/StructureDefinition/fulfilled-by",
                "valueReference": {"reference": f"Encounter/{encounter['id']}"},
            }
        ],
    }
    answer = doctor.put(f"ServiceRequest/{request['id']}", done)
    assert answer.status_code == 200, answer.text
    assert answer.json()["meta"]["versionId"] == "2"
    reread = doctor.get(f"Encounter/{encounter['id']}").json()
    fj.assert_valid_r4b(reread)
    assert reread["basedOn"] == [{"reference": f"ServiceRequest/{request['id']}"}]
    assert reread["hospitalization"]["origin"]["reference"] == f"Organization/{where.lead.id}"
    found = _found(
        doctor, f"ServiceRequest?patient={resident.id}&category=3457005&status=completed"
    )
    assert [r["id"] for r in found] == [request["id"]]


def test_an_observation_entered_in_error_gets_a_new_version_and_cannot_come_back(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    stored = _created(doctor, fj.glucose(resident.id))
    wrong = {**stored, "status": "entered-in-error"}
    answer = doctor.put(f"Observation/{stored['id']}", wrong)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["meta"]["versionId"]) == (
        "entered-in-error",
        "2",
    )
    back = doctor.put(f"Observation/{stored['id']}", {**stored, "status": "final"})
    assert back.status_code == 409
    other_code = {**wrong, "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]}}
    assert issue_paths(doctor.put(f"Observation/{stored['id']}", other_code)) == [
        "Observation.code"
    ]


def _outsider_with_observation(engine: Engine) -> tuple[Resident, uuid.UUID]:
    with unit_of_work(engine) as session:
        outsider = resident_outside(session, actor(session, "village_doctor"))
        observation = builders.add_observation(session, outsider, places(session).lead)
        session.expunge(outsider)
        return outsider, observation.id


def test_a_village_doctor_can_neither_read_nor_find_another_villages_observations(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    outsider, observation_id = _outsider_with_observation(engine)
    doctor = fhir("village_doctor")
    assert doctor.get(f"Observation/{observation_id}").status_code == 404
    answer = doctor.get(f"Observation?patient={outsider.id}")
    assert answer.json()["total"] == 0
    assert observation_id not in {
        e["resource"]["id"] for e in doctor.get("Observation?_count=100").json().get("entry", [])
    }
    assert fhir("cdc_officer").get(f"Observation/{observation_id}").status_code == 200


def test_reading_and_searching_observations_is_audited_with_the_resident(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    stored = _created(doctor, fj.glucose(resident.id))
    with Session(engine) as session:
        start = max_seq(session)
    doctor.get(f"Observation/{stored['id']}")
    doctor.get(f"Observation?patient={resident.id}")
    with Session(engine) as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > start).order_by(AuditEvent.seq)
        ).all()
    assert [(r.action, r.object_type, r.person_id) for r in rows] == [
        ("read", "observation", resident.id),
        ("search", "observation", resident.id),
    ]


BAD_CODES = [
    ("Observation", "code", "9999-9", "Observation.code.coding[0].code"),
    ("Observation", "unit", "mg/dL", "Observation.valueQuantity.code"),
    ("Observation", "unit-system", "http://example.org/units", "Observation.valueQuantity.system"),
    ("Observation", "category", "social-history", "Observation.category[0].coding[0].code"),
    ("Condition", "code", "X99.999", "Condition.code.coding[0].code"),
    ("Encounter", "class", "HH", "Encounter.class.code"),
    ("Encounter", "reason", "E11.9", "Encounter.reasonCode[0].coding[0].code"),
    ("Immunization", "code", "FLU99", "Immunization.vaccineCode.coding[0].code"),
    (
        "MedicationRequest",
        "code",
        "C99ZZ99",
        "MedicationRequest.medicationCodeableConcept.coding[0].code",
    ),
    ("DiagnosticReport", "category", "XRAY", "DiagnosticReport.category[0].coding[0].code"),
    ("ServiceRequest", "category", "12345", "ServiceRequest.category[0].coding[0].code"),
]


def _with_bad(kind: str, what: str, value: str, resident_id: uuid.UUID, lead_id: uuid.UUID) -> dict:
    if kind == "Observation":
        resource = fj.glucose(resident_id)
        if what == "code":
            resource["code"]["coding"][0]["code"] = value
        elif what == "unit":
            resource["valueQuantity"].update(unit=value, code=value)
        elif what == "unit-system":
            resource["valueQuantity"]["system"] = value
        else:
            resource["category"][0]["coding"][0]["code"] = value
        return resource
    make: dict[str, Callable[[], dict]] = {
        "Condition": lambda: fj.condition(resident_id),
        "Encounter": lambda: fj.encounter(resident_id),
        "Immunization": lambda: fj.immunization(resident_id, "2020-01-01"),
        "MedicationRequest": lambda: fj.prescription(resident_id),
        "DiagnosticReport": lambda: fj.lab_report(resident_id),
        "ServiceRequest": lambda: fj.referral(resident_id, lead_id),
    }
    resource = make[kind]()
    element = {
        ("Condition", "code"): resource.get("code"),
        ("Encounter", "reason"): (resource.get("reasonCode") or [{}])[0],
        ("Immunization", "code"): resource.get("vaccineCode"),
        ("MedicationRequest", "code"): resource.get("medicationCodeableConcept"),
        ("DiagnosticReport", "category"): (resource.get("category") or [{}])[0],
        ("ServiceRequest", "category"): (resource.get("category") or [{}])[0],
    }.get((kind, what))
    if element is not None:
        element["coding"][0]["code"] = value
    else:
        resource["class"]["code"] = value
    return resource


@pytest.mark.parametrize(("kind", "what", "value", "path"), BAD_CODES)
def test_a_bad_code_or_unit_is_a_400_naming_the_element_and_writes_nothing(
    fhir: Callable[[str], Fhir], engine: Engine, kind: str, what: str, value: str, path: str
) -> None:
    resident = _new_resident(engine, birth_date=date(2019, 1, 1))
    with Session(engine) as session:
        lead = places(session).lead
    table = {
        "Observation": "observations",
        "Condition": "conditions",
        "Encounter": "encounters",
        "Immunization": "immunizations",
        "MedicationRequest": "medication_requests",
        "DiagnosticReport": "diagnostic_reports",
        "ServiceRequest": "service_requests",
    }[kind]
    before = count_rows(engine, table)
    answer = fhir("village_doctor").post(kind, _with_bad(kind, what, value, resident.id, lead.id))
    assert answer.status_code == 400, answer.text
    assert issue_paths(answer) == [path]
    assert count_rows(engine, table) == before


def test_references_to_missing_or_unseen_resources_are_400s_naming_the_element(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    outsider, _ = _outsider_with_observation(engine)
    missing = uuid.uuid4()
    before = count_rows(engine, "observations")
    cases = [
        ({"subject": {"reference": f"Patient/{missing}"}}, "Observation.subject"),
        ({"subject": {"reference": f"Patient/{outsider.id}"}}, "Observation.subject"),
        ({"subject": {"reference": f"Encounter/{missing}"}}, "Observation.subject"),
        ({"encounter": {"reference": f"Encounter/{missing}"}}, "Observation.encounter"),
        ({"performer": [{"reference": f"Practitioner/{missing}"}]}, "Observation.performer"),
        ({"performer": [{"reference": f"Organization/{missing}"}]}, "Observation.performer"),
    ]
    for change, path in cases:
        answer = doctor.post("Observation", {**fj.glucose(resident.id), **change})
        assert answer.status_code == 400, (change, answer.text)
        assert issue_paths(answer) == [path], change
    assert count_rows(engine, "observations") == before


def test_bad_search_values_are_400s_naming_the_parameter(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor = fhir("village_doctor")
    for query, parameter in [
        ("Observation?status=done", "status"),
        ("Observation?code=http://snomed.info/sct|271649006", "code"),
        ("Encounter?class=HH", "class"),
        ("DiagnosticReport?category=XRAY", "category"),
        ("Immunization?date=2025-13-01", "date"),
        ("Condition?_sort=code", "_sort"),
    ]:
        answer = doctor.get(query)
        assert answer.status_code == 400, query
        assert issue_paths(answer) == [parameter], query


def test_a_count_only_search_gives_the_total_without_entries(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor, resident = fhir("village_doctor"), _new_resident(engine)
    _created(doctor, fj.glucose(resident.id))
    _created(doctor, fj.blood_pressure(resident.id, 120, 80))
    body = doctor.get(f"Observation?patient={resident.id}&_summary=count").json()
    assert (body["total"], "entry" in body) == (2, False)
