"""$import: NDJSON lines through the mappings' create, rejected lines reported, no duplicates."""

from __future__ import annotations

import json
import multiprocessing
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.interop.bulk.conftest import finished, kick_off_import, lines_of, ndjson
from tests.interop.fhir.conftest import Fhir
from tests.support import actor, count_rows, new_id_number, places, user_of
from yigongti.bench.ingest.mix import encounter_resource, observation_resource, patient_resource
from yigongti.clinical.models import Encounter
from yigongti.db import unit_of_work
from yigongti.interop.bulk import ImportOptions, open_job, run_import
from yigongti.interop.bulk.models import ImportedResource
from yigongti.interop.bulk.service import importer
from yigongti.interop.bulk.service.lines import MAX_LINE_BYTES
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import invalid
from yigongti.interop.fhir.resource import RESOURCE_TYPES, ResourceType
from yigongti.kernel import SHANGHAI
from yigongti.registry.models import Resident
from yigongti.settings import Settings

VISIT = datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)


def _patients(engine: Engine, count: int) -> list[dict]:
    """New residents of the window clerk's area, as a HIS would send them."""
    with Session(engine) as session:
        village = places(session).village
        born = [datetime(1960 + i, 5, 1).date() for i in range(count)]
        numbers = [new_id_number(session, birth=b) for b in born]
    return [
        patient_resource(f"p{i}", f"导入{'甲乙丙丁戊'[i]}", numbers[i], village.id)
        for i in range(count)
    ]


def _center(engine: Engine) -> object:
    with Session(engine) as session:
        return user_of(session, "window_clerk").institution_id


def test_good_lines_are_committed_and_bad_ones_reported_with_line_and_reason(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    first, second = _patients(engine, 2)
    bad_gender = {**second, "gender": "unknown"}
    lost_visit = encounter_resource("e9", "Patient/nobody", _center(engine), VISIT)
    body = ndjson(first, bad_gender, "{not json", lost_visit, {**first, "id": "p7", "foo": 1})
    clerk = fhir("window_clerk")
    residents_before = count_rows(engine, "residents")

    answer = finished(clerk, kick_off_import(clerk, body))

    assert answer.status_code == 200, answer.text
    manifest = answer.json()
    assert manifest["extension"]["created"] == 1
    assert manifest["extension"]["rejected"] == 4
    assert manifest["requiresAccessToken"] is True
    assert count_rows(engine, "residents") == residents_before + 1
    errors = lines_of(clerk.client.get(manifest["error"][0]["url"], headers=clerk.headers))
    by_line = {e["extension"][0]["valueInteger"]: e["issue"][0] for e in errors}
    assert sorted(by_line) == [2, 3, 4, 5]
    assert by_line[2]["expression"] == ["Patient.gender"]
    assert "JSON" in by_line[3]["diagnostics"]
    assert by_line[4]["expression"] == ["Encounter.subject.reference"]
    assert by_line[5]["expression"] == ["Patient.foo"]
    assert all(i["diagnostics"].startswith(f"line {n}:") for n, i in by_line.items())


def test_importing_the_same_file_again_creates_nothing_new(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    patients = _patients(engine, 2)
    visit = encounter_resource("e1", "Patient/p0", _center(engine), VISIT)
    body = ndjson(*patients, visit)
    clerk = fhir("window_clerk")
    assert finished(clerk, kick_off_import(clerk, body)).json()["extension"]["created"] == 3
    residents, encounters = count_rows(engine, "residents"), count_rows(engine, "encounters")

    again = finished(clerk, kick_off_import(clerk, body)).json()

    assert again["extension"] | {"createdByType": {}} == {
        "lines": 3,
        "created": 0,
        "updated": 0,
        "unchanged": 3,
        "rejected": 0,
        "createdByType": {},
    }
    assert (count_rows(engine, "residents"), count_rows(engine, "encounters")) == (
        residents,
        encounters,
    )


def test_an_encounter_and_observation_are_linked_to_the_patient_line_of_the_same_file(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    (patient,) = _patients(engine, 1)
    visit = encounter_resource("e1", "Patient/p0", _center(engine), VISIT)
    pulse = observation_resource("o1", "Patient/p0", "Encounter/e1", VISIT + timedelta(minutes=5))
    clerk = fhir("window_clerk")

    # The observation comes first in the file: the import orders lines by what they refer to.
    manifest = finished(clerk, kick_off_import(clerk, ndjson(pulse, visit, patient))).json()

    assert manifest["extension"]["createdByType"] == {
        "Encounter": 1,
        "Observation": 1,
        "Patient": 1,
    }
    with Session(engine) as session:
        ours = {r.resource_type: r.resource_id for r in session.scalars(select(ImportedResource))}
        encounter = session.get(Encounter, ours["Encounter"])
        assert encounter is not None and encounter.resident_id == ours["Patient"]
    read = clerk.get(f"Observation/{ours['Observation']}").json()
    assert read["subject"]["reference"] == f"Patient/{ours['Patient']}"
    assert read["encounter"]["reference"] == f"Encounter/{ours['Encounter']}"


def test_an_oversized_line_is_rejected_and_the_rest_imported(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    (patient,) = _patients(engine, 1)
    huge = {**patient, "id": "huge", "name": [{"text": "长" * 400_000}]}
    clerk = fhir("window_clerk")

    manifest = finished(clerk, kick_off_import(clerk, ndjson(huge, patient))).json()

    assert (manifest["extension"]["created"], manifest["extension"]["rejected"]) == (1, 1)
    (error,) = lines_of(clerk.client.get(manifest["error"][0]["url"], headers=clerk.headers))
    assert error["issue"][0]["code"] == "too-costly"
    assert error["extension"][0]["valueInteger"] == 1


def test_a_body_over_the_import_limit_is_refused_413_and_nothing_is_stored(
    settings: Settings, engine: Engine, login: Callable[[str], dict[str, str]]
) -> None:
    from yigongti.web.app import create_app

    small = settings.model_copy(update={"bulk_import_max_bytes": 2_000})
    body = ndjson(*_patients(engine, 1)) * 20
    with TestClient(create_app(small, engine=engine, with_ui=False)) as client:
        answer = kick_off_import(Fhir(client, login("window_clerk")), body)
    assert answer.status_code == 413
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert count_rows(engine, "bulk_jobs") == 0


def test_the_import_route_takes_bodies_over_the_general_limit(
    fhir: Callable[[str], Fhir], engine: Engine, settings: Settings
) -> None:
    padding = {"resourceType": "Basic", "id": "pad", "text": "x" * settings.max_body_bytes}
    clerk = fhir("window_clerk")
    answer = finished(clerk, kick_off_import(clerk, ndjson(*_patients(engine, 1), padding)))
    assert answer.status_code == 200, answer.text
    assert answer.json()["extension"]["created"] == 1


def test_someone_elses_import_status_is_not_found(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    clerk = fhir("window_clerk")
    kick_off = kick_off_import(clerk, ndjson(*_patients(engine, 1)))
    finished(clerk, kick_off)
    answer = fhir("system_admin").client.get(
        kick_off.headers["content-location"], headers=fhir("system_admin").headers
    )
    assert answer.status_code == 404
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_a_role_without_bulk_import_is_forbidden(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor = fhir("village_doctor")
    answer = kick_off_import(doctor, ndjson(*_patients(engine, 1)))
    assert answer.status_code == 403
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_import_needs_ndjson_and_respond_async(fhir: Callable[[str], Fhir], engine: Engine) -> None:
    clerk = fhir("window_clerk")
    body = ndjson(*_patients(engine, 1))
    assert kick_off_import(clerk, body, **{"Content-Type": "text/csv"}).status_code == 415
    assert kick_off_import(clerk, body, Prefer="").status_code == 400
    assert count_rows(engine, "bulk_jobs") == 0


def test_a_line_refused_after_its_service_wrote_leaves_nothing_behind(
    fhir: Callable[[str], Fhir], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a mapping refuse a line after writing, the batch is redone line by line."""
    patients = _patients(engine, 3)
    mapping = RESOURCE_TYPES["Patient"]
    real_create = type(mapping).create

    def create_then_refuse(self: object, ctx: Context, resource: dict) -> uuid.UUID:
        new_id = real_create(self, ctx, resource)
        if resource["name"][0]["text"] == patients[1]["name"][0]["text"]:
            raise invalid("refused after writing", "写入后拒绝", "Patient.name")
        return new_id

    monkeypatch.setattr(type(mapping), "create", create_then_refuse)
    monkeypatch.setattr(type(mapping), "create_many", ResourceType.create_many)
    clerk = fhir("window_clerk")
    residents = count_rows(engine, "residents")

    manifest = finished(clerk, kick_off_import(clerk, ndjson(*patients))).json()

    assert (manifest["extension"]["created"], manifest["extension"]["rejected"]) == (2, 1)
    assert count_rows(engine, "residents") == residents + 2
    with Session(engine) as session:
        names = set(session.scalars(select(Resident.name).where(Resident.name.like("导入%"))))
    assert names == {patients[0]["name"][0]["text"], patients[2]["name"][0]["text"]}


def test_patient_lines_go_through_the_patient_index_linked_new_or_held_for_review(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        taken = places(session).resident.id_number
    before = count_rows(engine, "residents")
    first, second = _patients(engine, 2)
    known = {**first, "id": "known", "identifier": [{**first["identifier"][0], "value": taken}]}
    twin = {**second, "id": "twin", "name": [{"text": "导入己"}]}
    clerk = fhir("window_clerk")

    manifest = finished(clerk, kick_off_import(clerk, ndjson(known, second, twin))).json()

    # known: a resident's ID number under another person's name: held for a clerk rather than
    # trusted; second: a new resident; twin: second's number with a look-alike character in
    # the name (己 for 乙), linked to him.
    assert (manifest["extension"]["created"], manifest["extension"]["rejected"]) == (2, 1)
    assert count_rows(engine, "residents") == before + 1
    errors = lines_of(clerk.client.get(manifest["error"][0]["url"], headers=clerk.headers))
    assert [e["extension"][0]["valueInteger"] for e in errors] == [1]
    assert errors[0]["issue"][0]["code"] == "informational"
    assert count_rows(engine, "empi_reviews") >= 1


def test_a_changed_line_updates_its_resource_once(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    (patient,) = _patients(engine, 1)
    visit = encounter_resource("e1", "Patient/p0", _center(engine), VISIT)
    pulse = observation_resource("o1", "Patient/p0", "Encounter/e1", VISIT + timedelta(minutes=5))
    clerk = fhir("window_clerk")
    first = finished(clerk, kick_off_import(clerk, ndjson(patient, visit, pulse))).json()
    assert first["extension"]["created"] == 3
    amended = {**pulse, "status": "amended"}

    changed = finished(clerk, kick_off_import(clerk, ndjson(patient, visit, amended))).json()
    again = finished(clerk, kick_off_import(clerk, ndjson(patient, visit, amended))).json()

    assert changed["extension"] | {"createdByType": {}} == {
        "lines": 3,
        "created": 0,
        "updated": 1,
        "unchanged": 2,
        "rejected": 0,
        "createdByType": {},
    }
    assert (again["extension"]["updated"], again["extension"]["unchanged"]) == (0, 3)
    with Session(engine) as session:
        ours = {r.resource_type: r.resource_id for r in session.scalars(select(ImportedResource))}
    assert clerk.get(f"Observation/{ours['Observation']}").json()["status"] == "amended"


def test_lines_checked_ahead_by_a_second_process_are_imported_and_rejected_alike(
    engine: Engine, tmp_path: Path
) -> None:
    """A long file's next batch is checked in a second process: same outcome, line by line."""
    patients = _patients(engine, 4)
    visits = [
        encounter_resource(f"e{i}", f"Patient/p{i}", _center(engine), VISIT) for i in range(4)
    ]
    lines = [*patients, {**patients[0], "id": "p9", "gender": "unknown"}, "{not json", *visits]
    path = tmp_path / "import.ndjson"
    path.write_bytes(ndjson(*lines))
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        job_id = open_job(session, clerk, "import", "test", {"source": "his"}, "lines").id
    options = ImportOptions(source="his", batch_lines=1, check_ahead_from=2)

    manifest = run_import(engine, clerk, job_id, path, options, "http://test.invalid/fhir")

    assert manifest["extension"] | {"createdByType": {}} == {
        "lines": 10,
        "created": 8,
        "updated": 0,
        "unchanged": 0,
        "rejected": 2,
        "createdByType": {},
    }
    errors = [json.loads(line) for line in (tmp_path / "errors.ndjson").read_text().splitlines()]
    assert [(e["extension"][0]["valueInteger"], e["issue"][0]["code"]) for e in errors] == [
        (5, "invalid"),
        (6, "structure"),
    ]


def test_the_checking_process_answers_each_line_as_it_is_checked_here(engine: Engine) -> None:
    """The second process (started afresh) registers the resource types and checks alike."""
    (patient,) = _patients(engine, 1)
    raw = ndjson(patient, {**patient, "id": "p2", "gender": "unknown"}, "{not json", patient)
    lines = [(n, line) for n, line in enumerate(raw.splitlines(keepends=True), start=1)]
    lines.append((5, b'{"resourceType": "Basic", "id": "b", "code": {"text": "x"}}\n'))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = pool.submit(importer._checked_in_worker, lines, MAX_LINE_BYTES).result()
    here = importer.checked_lines(lines, MAX_LINE_BYTES)
    assert there == here
    kinds = [type(c).__name__ for c in here]
    assert kinds == ["Candidate", "Candidate", "tuple", "Candidate", "tuple"]
