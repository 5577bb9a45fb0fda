"""FHIR Schedule, Slot and Appointment over the county's slot pool and bookings."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.booking.conftest import Clinic, neighbours, publish_clinic
from tests.interop.fhir.conftest import Fhir, issue_paths
from tests.support import actor, places
from yigongti import booking
from yigongti.db import unit_of_work
from yigongti.interop.fhir import systems


@pytest.fixture
def clinic(engine: Engine) -> Clinic:
    """The township center's general practice clinic, a week of sessions on sale."""
    return publish_clinic(engine)


def _day(c: Clinic, days: int = 2) -> str:
    return (c.today + timedelta(days=days)).isoformat()


def _free_slots(client: Fhir, c: Clinic, channel: str = "online", days: int = 2) -> list[dict]:
    answer = client.get(
        f"Slot?schedule={c.schedule_id}&status=free&channel={channel}&start={_day(c, days)}"
        "&_count=100"
    )
    assert answer.status_code == 200, answer.text
    return [e["resource"] for e in answer.json().get("entry", [])]


def _appointment(slot: dict, patient: uuid.UUID, status: str = "booked", **more: object) -> dict:
    return {
        "resourceType": "Appointment",
        "status": status,
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "participant": [
            {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
        ],
        **more,
    }


def _home(engine: Engine) -> uuid.UUID:
    with Session(engine) as session:
        return places(session).resident.id


def test_free_slots_of_a_schedule_are_found_by_day_and_channel(
    fhir: Callable[[str], Fhir], clinic: Clinic
) -> None:
    slots = _free_slots(fhir("resident"), clinic)
    assert slots, "a released morning and afternoon have free online places"
    for slot in slots:
        Slot.model_validate(slot)
        assert slot["status"] == "free"
        assert slot["schedule"]["reference"] == f"Schedule/{clinic.schedule_id}"
        assert slot["start"].startswith(_day(clinic))
        assert {"url": systems.CHANNEL_EXTENSION, "valueCode": "online"} in slot["extension"]


def test_the_schedule_names_its_department_location_and_is_found_by_department(
    fhir: Callable[[str], Fhir], clinic: Clinic
) -> None:
    client = fhir("village_doctor")
    schedule = client.get(f"Schedule/{clinic.schedule_id}").json()
    Schedule.model_validate(schedule)
    assert {"reference": f"Location/{clinic.department_id}"} in [
        {"reference": a["reference"]} for a in schedule["actor"]
    ]
    assert schedule["serviceType"][0]["coding"][0]["code"] == "02"
    found = client.get(
        f"Schedule?service-type=02&actor=Location/{clinic.department_id}&date={_day(clinic)}"
    ).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [str(clinic.schedule_id)]


def test_a_resident_books_a_slot_and_it_turns_busy(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("resident")
    slot = _free_slots(client, clinic)[0]
    answer = client.post("Appointment", _appointment(slot, _home(engine)))
    assert answer.status_code == 201, answer.text
    made = answer.json()
    Appointment.model_validate(made)
    assert made["status"] == "booked"
    assert made["slot"] == [{"reference": f"Slot/{slot['id']}"}]
    assert made["participant"][0]["actor"]["reference"] == f"Patient/{_home(engine)}"
    assert {"url": systems.CHANNEL_EXTENSION, "valueCode": "online"} in made["extension"]
    assert client.get(f"Slot/{slot['id']}").json()["status"] == "busy"


def test_a_retry_with_the_same_idempotency_key_returns_the_same_appointment(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("resident")
    slot = _free_slots(client, clinic)[0]
    body = _appointment(slot, _home(engine))
    first = client.post("Appointment", body, **{"Idempotency-Key": "app-req-1"})
    again = client.post("Appointment", body, **{"Idempotency-Key": "app-req-1"})
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["identifier"] == [
        {"system": systems.APPOINTMENT_REQUEST, "value": "app-req-1"}
    ]


def test_a_conditional_create_on_the_identifier_books_once(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("window_clerk")
    slot = _free_slots(client, clinic, channel="window")[0]
    body = _appointment(
        slot,
        _home(engine),
        identifier=[{"system": systems.APPOINTMENT_REQUEST, "value": "HIS-0001"}],
    )
    condition = {"If-None-Exist": f"identifier={systems.APPOINTMENT_REQUEST}|HIS-0001"}
    first = client.post("Appointment", body, **condition)
    again = client.post("Appointment", body, **condition)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
    found = client.get("Appointment?identifier=HIS-0001").json()
    assert found["total"] == 1


def test_second_booking_for_same_department_same_day_is_refused(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("resident")
    first, second = _free_slots(client, clinic)[:2]
    assert client.post("Appointment", _appointment(first, _home(engine))).status_code == 201
    refused = client.post("Appointment", _appointment(second, _home(engine)))
    assert refused.status_code == 409
    outcome = refused.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "One booking per department a day" in outcome["issue"][0]["diagnostics"]


def test_cancel_through_update_frees_the_slot(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("resident")
    slot = _free_slots(client, clinic)[0]
    made = client.post("Appointment", _appointment(slot, _home(engine))).json()
    answer = client.put(f"Appointment/{made['id']}", {**made, "status": "cancelled"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"
    assert answer.json()["meta"]["versionId"] == "2"
    assert client.get(f"Slot/{slot['id']}").json()["status"] == "free"


def test_a_pending_appointment_holds_the_place_until_it_is_confirmed(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("resident")
    slot = _free_slots(client, clinic)[0]
    held = client.post("Appointment", _appointment(slot, _home(engine), "pending")).json()
    assert held["status"] == "pending"
    assert client.get(f"Slot/{slot['id']}").json()["status"] == "busy"
    confirmed = client.put(f"Appointment/{held['id']}", {**held, "status": "booked"})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "booked"


def test_other_status_changes_are_refused_naming_the_status(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("resident")
    slot = _free_slots(client, clinic)[0]
    made = client.post("Appointment", _appointment(slot, _home(engine))).json()
    refused = client.put(f"Appointment/{made['id']}", {**made, "status": "fulfilled"})
    assert refused.status_code == 400
    assert issue_paths(refused) == ["Appointment.status"]


def test_a_new_appointment_must_be_booked_or_pending_with_a_known_channel(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("resident")
    slot = _free_slots(client, clinic)[0]
    wrong_status = client.post("Appointment", _appointment(slot, _home(engine), "arrived"))
    assert (wrong_status.status_code, issue_paths(wrong_status)) == (400, ["Appointment.status"])
    odd_channel = _appointment(
        slot, _home(engine), extension=[{"url": systems.CHANNEL_EXTENSION, "valueCode": "fax"}]
    )
    refused = client.post("Appointment", odd_channel)
    assert (refused.status_code, issue_paths(refused)) == (400, ["Appointment.extension[0]"])
    missing = _appointment({"id": str(uuid.uuid4())}, _home(engine))
    gone = client.post("Appointment", missing)
    assert (gone.status_code, issue_paths(gone)) == (400, ["Appointment.slot[0]"])


def test_a_channel_the_role_may_not_use_is_forbidden(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("resident")
    slot = _free_slots(client, clinic, channel="window")[0]
    window = _appointment(
        slot, _home(engine), extension=[{"url": systems.CHANNEL_EXTENSION, "valueCode": "window"}]
    )
    refused = client.post("Appointment", window)
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"


def test_a_resident_sees_only_his_own_appointments(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        stranger = neighbours(session, 1)[0].id
        other = booking.book(
            session,
            actor(session, "window_clerk"),
            booking.BookingRequest(
                session_id=clinic.session(), channel="window", resident_id=stranger, confirm=True
            ),
        ).id
    client = fhir("resident")
    slot = _free_slots(client, clinic)[0]
    mine = client.post("Appointment", _appointment(slot, _home(engine))).json()["id"]
    found = client.get(f"Appointment?date={_day(clinic)}").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [mine]
    assert client.get(f"Appointment/{other}").status_code == 404
    assert client.get(f"Appointment?patient=Patient/{stranger}").json()["total"] == 0
    clerk = fhir("window_clerk").get(f"Appointment?date={_day(clinic)}&status=booked").json()
    assert {str(other), mine} <= {e["resource"]["id"] for e in clerk["entry"]}


def test_an_external_platform_books_by_id_number_and_name(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    with Session(engine) as session:
        home = places(session).resident
    client = fhir("booking_platform")
    slot = _free_slots(client, clinic, channel="external")[0]
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "participant": [
            {
                "actor": {
                    "identifier": {"system": systems.ID_NUMBER, "value": home.id_number},
                    "display": home.name,
                },
                "status": "accepted",
            }
        ],
    }
    answer = client.post("Appointment", body)
    assert answer.status_code == 201, answer.text
    assert {"url": systems.CHANNEL_EXTENSION, "valueCode": "external"} in answer.json()["extension"]
    assert answer.json()["participant"][0]["actor"]["reference"] == f"Patient/{home.id}"
    wrong_name = {**body, "participant": [{**body["participant"][0]}]}
    wrong_name["participant"][0]["actor"] = {**body["participant"][0]["actor"], "display": "王五"}
    refused = client.post("Appointment", wrong_name)
    assert refused.status_code in (400, 404, 409), refused.text


def test_slots_of_a_stopped_session_are_busy_unavailable(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        booking.stop_session(
            session, actor(session, "window_clerk"), clinic.session(), "医生外出会诊"
        )
    answer = fhir("resident").get(
        f"Slot?schedule={clinic.schedule_id}&start={_day(clinic)}&_count=200"
    )
    slots = [e["resource"] for e in answer.json()["entry"]]
    morning = [s for s in slots if s["start"][11:13] < "12"]
    afternoon = [s for s in slots if s["start"][11:13] >= "12"]
    assert morning and {s["status"] for s in morning} == {"busy-unavailable"}
    assert "free" in {s["status"] for s in afternoon}


def test_include_of_the_slot_and_a_bad_status_code(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("resident")
    slot = _free_slots(client, clinic)[0]
    client.post("Appointment", _appointment(slot, _home(engine)))
    found = client.get(
        f"Appointment?patient={_home(engine)}&date={_day(clinic)}&_include=Appointment:slot"
    ).json()
    by_mode = {e["search"]["mode"]: e["resource"] for e in found["entry"]}
    assert len(found["entry"]) == 2
    assert by_mode["match"]["slot"][0]["reference"] == f"Slot/{by_mode['include']['id']}"
    bad = client.get("Appointment?status=maybe")
    assert (bad.status_code, issue_paths(bad)) == (400, ["status"])


def _entry(resource: dict, condition: str | None = None) -> dict:
    request = {"method": "POST", "url": "Appointment"}
    if condition:
        request["ifNoneExist"] = condition
    return {"resource": resource, "request": request}


def test_a_transaction_retried_with_its_identifiers_books_once(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("window_clerk")
    slot = _free_slots(client, clinic, channel="window")[0]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [_entry(_appointment(slot, _home(engine)), "identifier=HIS-0002")],
    }
    first = client.post("", bundle)
    again = client.post("", bundle)
    assert (first.status_code, again.status_code) == (200, 200), again.text
    made, repeated = (a.json()["entry"][0] for a in (first, again))
    assert (made["response"]["status"], repeated["response"]["status"]) == ("201 Created", "200 OK")
    assert repeated["resource"]["id"] == made["resource"]["id"]


def test_a_transaction_with_one_refused_booking_books_nothing(
    fhir: Callable[[str], Fhir], clinic: Clinic, engine: Engine
) -> None:
    client = fhir("resident")
    first, second = _free_slots(client, clinic)[:2]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entry(_appointment(first, _home(engine))),
            _entry(_appointment(second, _home(engine))),
        ],
    }
    refused = client.post("", bundle)
    assert refused.status_code == 409
    assert issue_paths(refused) == ["Bundle.entry[1]"]
    assert client.get(f"Slot/{first['id']}").json()["status"] == "free"


def test_slots_sort_by_start_either_way(fhir: Callable[[str], Fhir], clinic: Clinic) -> None:
    client = fhir("resident")
    query = f"Slot?schedule={clinic.schedule_id}&start={_day(clinic)}&_count=200&_sort="
    ahead = [e["resource"]["start"] for e in client.get(query + "start").json()["entry"]]
    back = [e["resource"]["start"] for e in client.get(query + "-start").json()["entry"]]
    assert ahead == sorted(ahead) and back == sorted(ahead, reverse=True)
    assert ahead[0] < ahead[-1]
