"""$export: kick-off, poll, download; what a caller's scope shows, and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.interop.bulk.conftest import NDJSON, finished, kick_off_export, lines_of
from tests.interop.fhir.conftest import Fhir
from tests.support import actor, all_residents, places, residents_of_villages, visible_ids
from yigongti.security import AuditEvent


def _download(client: Fhir, manifest: dict) -> dict[str, list[dict]]:
    files: dict[str, list[dict]] = {}
    for output in manifest["output"]:
        answer = client.client.get(output["url"], headers=client.headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith(NDJSON)
        files[output["type"]] = lines_of(answer)
        assert len(files[output["type"]]) == output["count"]
    return files


def test_a_system_export_round_trip_kick_off_poll_download(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    admin = fhir("system_admin")
    kick_off = kick_off_export(admin, "$export?_type=Patient,Encounter")
    assert kick_off.status_code == 202
    assert "/fhir/bulk-status/" in kick_off.headers["content-location"]

    answer = finished(admin, kick_off)

    assert answer.status_code == 200, answer.text
    manifest = answer.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["error"] == []
    assert manifest["request"].endswith("$export?_type=Patient%2CEncounter")
    assert {o["type"] for o in manifest["output"]} <= {"Patient", "Encounter"}
    files = _download(admin, manifest)
    with Session(engine) as session:
        everyone = visible_ids(session, actor(session, "system_admin"))
    assert {uuid.UUID(p["id"]) for p in files["Patient"]} == everyone


def test_an_export_without_prefer_respond_async_is_refused_400(
    fhir: Callable[[str], Fhir],
) -> None:
    answer = fhir("system_admin").get("$export")
    assert answer.status_code == 400
    assert answer.json()["issue"][0]["expression"] == ["Prefer"]


def test_an_unknown_type_or_format_is_refused_400(fhir: Callable[[str], Fhir]) -> None:
    admin = fhir("system_admin")
    assert kick_off_export(admin, "$export?_type=Spaceship").status_code == 400
    assert kick_off_export(admin, "$export?_outputFormat=text/csv").status_code == 400
    assert kick_off_export(admin, "$export?_since=yesterday").status_code == 400


def test_a_village_doctors_patient_export_holds_only_his_scope(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    doctor = fhir("village_doctor")
    manifest = finished(doctor, kick_off_export(doctor, "Patient/$export?_type=Patient")).json()
    exported = {uuid.UUID(p["id"]) for p in _download(doctor, manifest)["Patient"]}
    with Session(engine) as session:
        assert exported == visible_ids(session, actor(session, "village_doctor"))
        assert exported and exported < all_residents(session)
        exports = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert [e.object_type for e in exports] == ["patient"]
    assert f"{len(exported)} Patient" in (exports[0].detail or "")


def test_a_group_export_holds_the_villages_residents_in_scope(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        village = places(session).village
        expected = residents_of_villages(session, {village.id}) & visible_ids(
            session, actor(session, "village_doctor")
        )
    doctor = fhir("village_doctor")
    assert doctor.get(f"Group/{village.id}").json()["name"] == village.name

    manifest = finished(
        doctor, kick_off_export(doctor, f"Group/{village.id}/$export?_type=Patient")
    ).json()

    exported = {uuid.UUID(p["id"]) for p in _download(doctor, manifest)["Patient"]}
    assert exported == expected and expected


def test_export_files_are_served_to_the_owner_only(fhir: Callable[[str], Fhir]) -> None:
    admin = fhir("system_admin")
    manifest = finished(admin, kick_off_export(admin, "$export?_type=Patient")).json()
    url = manifest["output"][0]["url"]
    other = fhir("cdc_officer")
    assert other.client.get(url, headers=other.headers).status_code == 404
    assert other.client.get(url).status_code == 401


def test_a_cancelled_export_is_gone(fhir: Callable[[str], Fhir]) -> None:
    admin = fhir("system_admin")
    kick_off = kick_off_export(admin, "$export?_type=Patient")
    url = kick_off.headers["content-location"]
    finished(admin, kick_off)
    assert admin.client.delete(url, headers=admin.headers).status_code == 202
    assert admin.client.get(url, headers=admin.headers).status_code == 404


def test_a_role_without_bulk_export_is_forbidden(fhir: Callable[[str], Fhir]) -> None:
    answer = kick_off_export(fhir("resident"), "Patient/$export")
    assert answer.status_code == 403
