"""Real third-party FHIR clients (fhirpy, SMART on FHIR's fhirclient) against the real server.

The application runs under uvicorn on a free loopback port in a background thread, on the
test county; the clients know nothing of it but its base URL and a token obtained with the
lead hospital HIS's client credentials, exactly as an institution's system would.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import uvicorn
from fhirclient import client as smart_client
from fhirclient.auth import FHIROAuth2Auth
from fhirclient.models.patient import Patient as SmartPatient
from fhirpy import SyncFHIRClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.booking.conftest import publish_clinic
from tests.conftest import Template
from tests.interop.fhir.test_core import _new_patient
from tests.support import actor, places, resident_outside, username_of
from yigongti.interop.fhir import systems
from yigongti.registry.models import Resident
from yigongti.settings import Settings
from yigongti.web.app import create_app

HIS = "integration"
START_SECONDS = 30
TIMEOUT = 30  # seconds any one request may take


@dataclass(frozen=True)
class Server:
    """The running server: its FHIR base URL and a bearer token of the HIS account."""

    base: str
    token: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(settings: Settings, engine: Engine, template: Template) -> Iterator[Server]:
    """The application served by uvicorn on 127.0.0.1, and a client-credentials token."""
    port = _free_port()
    app = create_app(settings, engine=engine, with_ui=False)
    uvicorn_server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not uvicorn_server.started:
        assert time.monotonic() < deadline, "the server did not start"
        assert thread.is_alive(), "the server stopped while starting"
        time.sleep(0.05)
    root = f"http://127.0.0.1:{port}"
    answer = httpx.post(
        f"{root}/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(username_of(HIS), template.passwords[HIS]),
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    try:
        yield Server(f"{root}/fhir", answer.json()["access_token"])
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=START_SECONDS)


def _fhirpy(server: Server, **headers: str) -> SyncFHIRClient:
    return SyncFHIRClient(
        server.base,
        authorization=f"Bearer {server.token}",
        extra_headers=headers or None,
        requests_config={"timeout": TIMEOUT},
    )


def test_fhirpy_pages_through_the_patients_of_the_his_scope(server: Server, engine: Engine) -> None:
    with Session(engine) as session:
        home = places(session).resident
        outsider = resident_outside(session, actor(session, HIS))
    client = _fhirpy(server)
    first_page = client.resources("Patient").sort("name").limit(7).fetch()
    assert len(first_page) == 7
    every = client.resources("Patient").sort("name").limit(50).fetch_all()
    ids = [p.id for p in every]
    assert len(ids) == len(set(ids)) > 50, "fetch_all follows the next links"
    assert [p.id for p in first_page] == ids[:7]
    assert str(home.id) in ids and str(outsider.id) not in ids
    read = client.reference("Patient", str(home.id)).to_resource()
    assert read["name"][0]["text"] == home.name


def test_fhirpy_creates_a_patient_and_a_conditional_create_finds_it(
    server: Server, engine: Engine
) -> None:
    body = _new_patient(engine, name="甄试")
    client = _fhirpy(server)
    made = client.resource("Patient", **body)
    made.save()
    assert made.id
    number = body["identifier"][0]["value"]
    again, created = (
        client.resources("Patient")
        .search(identifier=f"{systems.ID_NUMBER}|{number}")
        .get_or_create(client.resource("Patient", **body))
    )
    assert (again.id, created) == (made.id, False)
    with Session(engine) as session:
        stored = session.scalars(select(Resident).where(Resident.id_number == number)).all()
        assert [r.name for r in stored] == ["甄试"]


def test_fhirpy_books_an_appointment_and_includes_its_slot(server: Server, engine: Engine) -> None:
    clinic = publish_clinic(engine)
    with Session(engine) as session:
        home = places(session).resident
    client = _fhirpy(server)
    day = (clinic.today + timedelta(days=2)).isoformat()
    slot = (
        client.resources("Slot")
        .search(schedule=str(clinic.schedule_id), start=day, status="free", channel="window")
        .sort("start")
        .first()
    )
    assert slot is not None
    appointment = client.resource(
        "Appointment",
        status="booked",
        slot=[{"reference": f"Slot/{slot.id}"}],
        participant=[{"actor": {"reference": f"Patient/{home.id}"}, "status": "accepted"}],
    )
    appointment.save()
    found = (
        client.resources("Appointment")
        .search(patient=str(home.id), _id=appointment.id)
        .include("Appointment", "slot")
        .fetch_raw()
    )
    modes = sorted(e["search"]["mode"] for e in found["entry"])
    assert modes == ["include", "match"]


def test_fhirclient_reads_the_capability_and_a_patient_and_searches(
    server: Server, engine: Engine
) -> None:
    with Session(engine) as session:
        home = places(session).resident
        outsider = resident_outside(session, actor(session, HIS))
    smart = smart_client.FHIRClient(settings={"app_id": "his-test", "api_base": server.base})
    smart.prepare()
    security = smart.server.capabilityStatement.rest[0].security
    token_uris = [e.valueUri for x in security.extension for e in x.extension]
    assert token_uris == [server.base.removesuffix("/fhir") + "/api/v1/auth/token"]
    bearer = FHIROAuth2Auth()
    bearer.access_token = server.token
    smart.server.auth = bearer
    patient = SmartPatient.read(str(home.id), smart.server)
    assert patient.name[0].text == home.name
    found = SmartPatient.where(struct={"name": home.name}).perform_resources(smart.server)
    assert str(home.id) in {p.id for p in found}
    assert (
        SmartPatient.where(struct={"_id": str(outsider.id)}).perform_resources(smart.server) == []
    )
