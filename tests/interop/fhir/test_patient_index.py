"""A Patient created through FHIR is an institution's record: the master patient index links it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import Engine

from tests.interop.fhir.conftest import Fhir, issue_paths
from tests.support import count_rows, places, user_of
from yigongti.db import unit_of_work
from yigongti.interop.empi.service import linking
from yigongti.interop.empi.thresholds import Thresholds
from yigongti.interop.fhir import systems
from yigongti.registry.models import Institution
from yigongti.synth import builders


def _person(engine: Engine, **fields: object) -> dict:
    """A resident of the clerk's village, as plain values."""
    with unit_of_work(engine) as session:
        resident = builders.make_resident(session, places(session).village, **fields)
        clerk_institution = session.get(
            Institution, user_of(session, "window_clerk").institution_id
        )
        return {
            "id": str(resident.id),
            "name": resident.name,
            "sex": resident.sex,
            "birth": resident.birth_date.isoformat(),
            "id_number": resident.id_number,
            "phone": resident.phone,
            "mrn_system": systems.mrn_system(clerk_institution.code),
        }


def _as_sent(person: dict, *, mrn: str, with_id: bool = True) -> dict:
    identifiers = [{"system": person["mrn_system"], "value": mrn}]
    if with_id and person["id_number"]:
        identifiers.append({"system": systems.ID_NUMBER, "value": person["id_number"]})
    return {
        "resourceType": "Patient",
        "identifier": identifiers,
        "name": [{"text": person["name"]}],
        "gender": person["sex"],
        "birthDate": person["birth"],
        "telecom": [{"system": "phone", "value": person["phone"]}],
    }


def test_a_record_with_a_known_id_number_links_to_the_resident_and_carries_the_mrn(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    person = _person(engine)
    clerk = fhir("window_clerk")
    before = count_rows(engine, "residents")
    answer = clerk.post("Patient", _as_sent(person, mrn="MZ0001"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == person["id"]
    assert count_rows(engine, "residents") == before
    found = clerk.get(f"Patient?identifier={person['mrn_system']}|MZ0001").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [person["id"]]
    identifiers = found["entry"][0]["resource"]["identifier"]
    assert {"system": person["mrn_system"], "value": "MZ0001"}.items() <= next(
        i for i in identifiers if i["system"] == person["mrn_system"]
    ).items()


def test_a_record_without_id_number_links_on_name_birth_date_and_phone(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    person = _person(engine, id_number=None, birth_date=date(2021, 5, 17))
    answer = fhir("window_clerk").post("Patient", _as_sent(person, mrn="MZ0002"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == person["id"]


def test_a_new_person_becomes_a_new_resident(fhir: Callable[[str], Fhir], engine: Engine) -> None:
    person = _person(engine)
    with unit_of_work(engine) as session:
        from tests.support import new_id_number

        stranger = {
            **person,
            "name": "欧阳新来",
            "id_number": new_id_number(session),
            "phone": "13700007777",
        }
    before = count_rows(engine, "residents")
    answer = fhir("window_clerk").post("Patient", _as_sent(stranger, mrn="MZ0003"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"][0]["family"] == "欧阳"
    assert count_rows(engine, "residents") == before + 1


def test_an_uncertain_record_is_held_for_review_with_202_and_no_resident(
    fhir: Callable[[str], Fhir], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linking, "thresholds", lambda: Thresholds(link=1.01, review=0.5))
    person = _person(engine, id_number=None)
    before = count_rows(engine, "residents")
    answer = fhir("window_clerk").post("Patient", _as_sent(person, mrn="MZ0004"))
    assert answer.status_code == 202, answer.text
    issue = answer.json()["issue"][0]
    assert (issue["severity"], issue["code"]) == ("information", "informational")
    assert count_rows(engine, "residents") == before
    assert count_rows(engine, "empi_reviews") >= 1


def test_another_institutions_mrn_is_refused(fhir: Callable[[str], Fhir], engine: Engine) -> None:
    person = _person(engine)
    sent = _as_sent(person, mrn="X1")
    sent["identifier"][0]["system"] = systems.mrn_system("NOT-OURS")
    answer = fhir("window_clerk").post("Patient", sent)
    assert answer.status_code == 400
    assert issue_paths(answer) == ["Patient.identifier[0].system"]


def test_match_ranks_the_resident_first_with_a_score_and_grade(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    person = _person(engine)
    query = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": _as_sent(person, mrn="MZ0005", with_id=False)},
            {"name": "count", "valueInteger": 3},
        ],
    }
    answer = fhir("window_clerk").post("Patient/$match", query)
    assert answer.status_code == 200, answer.text
    first = answer.json()["entry"][0]
    assert first["resource"]["id"] == person["id"]
    assert 0 < first["search"]["score"] <= 1
    assert first["search"]["extension"][0]["valueCode"] in ("certain", "probable", "possible")


def test_match_without_a_patient_is_a_400(fhir: Callable[[str], Fhir]) -> None:
    answer = fhir("window_clerk").post(
        "Patient/$match", {"resourceType": "Parameters", "parameter": []}
    )
    assert answer.status_code == 400
    assert answer.json()["resourceType"] == "OperationOutcome"
