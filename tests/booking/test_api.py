"""The booking API: bad input gets a 4xx problem in Chinese and English, and nothing is written."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.pool import NullPool

from tests.booking.conftest import (
    Clinic,
    book_for,
    make_past,
    neighbours,
    set_release,
    small_schedule,
)
from tests.support import actor, count_rows, places, user_of
from yigongti import booking
from yigongti.db import unit_of_work
from yigongti.security import AuditEvent, chain_pending, set_user_active
from yigongti.settings import Settings

Login = Callable[[str], dict[str, str]]
BOOKINGS = "/api/v1/bookings"


@pytest.fixture
def new_bookings(engine: Engine) -> Callable[[], int]:
    """How many bookings were written since the test began (the county has its own history)."""
    before = count_rows(engine, "bookings")
    return lambda: count_rows(engine, "bookings") - before


def _home(engine: Engine) -> uuid.UUID:
    with unit_of_work(engine) as session:
        return places(session).resident.id


def _problem(answer, status: int, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["detail"] and body["detail_zh"] and body["detail"] != body["detail_zh"]
    if field is not None:
        assert field in {e["field"] for e in body["errors"]}, body
    return body


def _own_booking(client: TestClient, login: Login, clinic: Clinic, engine: Engine, **extra):  # type: ignore[no-untyped-def]
    body = {"session_id": str(clinic.session()), "channel": "online"}
    body.update(resident_id=str(_home(engine)), **extra)
    return client.post(BOOKINGS, headers=login("resident"), json=body)


def test_a_resident_books_online_holds_then_confirms_and_sees_the_fee_first(
    client: TestClient, login: Login, clinic: Clinic, engine: Engine
) -> None:
    held = _own_booking(client, login, clinic, engine)
    assert held.status_code == 201, held.text
    assert held.json()["status"] == "held"
    assert held.json()["fee_fen"] == 1_000 and held.json()["hold_expires_at"]
    confirmed = client.post(f"{BOOKINGS}/{held.json()['id']}/confirm", headers=login("resident"))
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"


def test_a_retried_request_with_the_same_idempotency_key_returns_the_same_booking(
    client: TestClient,
    login: Login,
    clinic: Clinic,
    engine: Engine,
    new_bookings: Callable[[], int],
) -> None:
    headers = {**login("resident"), "Idempotency-Key": "tap-1"}
    body = {"session_id": str(clinic.session()), "channel": "online", "confirm": True}
    body["resident_id"] = str(_home(engine))
    first = client.post(BOOKINGS, headers=headers, json=body)
    again = client.post(BOOKINGS, headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert new_bookings() == 1


def test_a_double_submit_without_a_key_is_refused_as_a_second_booking_that_day(
    client: TestClient,
    login: Login,
    clinic: Clinic,
    engine: Engine,
    new_bookings: Callable[[], int],
) -> None:
    assert _own_booking(client, login, clinic, engine, confirm=True).status_code == 201
    _problem(_own_booking(client, login, clinic, engine, confirm=True), 409)
    assert new_bookings() == 1


@pytest.mark.parametrize("state", ["past", "stopped", "unreleased"])
def test_a_session_that_cannot_be_booked_is_refused_with_its_reason(
    client: TestClient,
    login: Login,
    clinic: Clinic,
    engine: Engine,
    state: str,
    new_bookings: Callable[[], int],
) -> None:
    with unit_of_work(engine) as session:
        if state == "past":
            make_past(session, clinic.session())
        elif state == "stopped":
            booking.stop_session(
                session, actor(session, "window_clerk"), clinic.session(), "设备检修"
            )
        else:
            set_release(session, clinic.session(), released=False)
    body = _problem(_own_booking(client, login, clinic, engine), 409)
    expected = {"past": "over", "stopped": "cancelled", "unreleased": "Not released"}[state]
    assert expected in body["detail"]
    assert new_bookings() == 0


def test_a_full_session_is_refused_and_writes_nothing(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        clerk = actor(session, "window_clerk")
        full = small_schedule(session, clerk, at.center, quotas={"window": 100})
        for person in neighbours(session, 3):  # 3 slices of 1 place: all taken
            book_for(session, clerk, full, person.id)
    before, slots = count_rows(engine, "bookings"), count_rows(engine, "slots")
    body = {"session_id": str(full), "channel": "window", "resident_id": str(_home(engine))}
    problem = _problem(client.post(BOOKINGS, headers=login("window_clerk"), json=body), 409)
    assert "No place left" in problem["detail"]
    assert (count_rows(engine, "bookings"), count_rows(engine, "slots")) == (before, slots)


def test_a_nonexistent_session_is_not_found(
    client: TestClient, login: Login, engine: Engine
) -> None:
    body = {"session_id": str(uuid.uuid4()), "channel": "online", "resident_id": str(_home(engine))}
    _problem(client.post(BOOKINGS, headers=login("resident"), json=body), 404)


def test_the_wrong_channel_for_the_role_is_forbidden_and_an_unknown_one_invalid(
    client: TestClient,
    login: Login,
    clinic: Clinic,
    engine: Engine,
    new_bookings: Callable[[], int],
) -> None:
    body = _problem(_own_booking(client, login, clinic, engine, channel="window"), 403)
    assert "窗口" in body["detail_zh"]
    _problem(_own_booking(client, login, clinic, engine, channel="fax"), 422, "channel")
    assert new_bookings() == 0


def test_a_malformed_id_number_is_refused_naming_the_check_digit(
    client: TestClient,
    login: Login,
    clinic: Clinic,
    engine: Engine,
    new_bookings: Callable[[], int],
) -> None:
    with unit_of_work(engine) as session:
        number = places(session).resident.id_number
    assert number is not None
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    body = {
        "session_id": str(clinic.session()),
        "channel": "window",
        "id_number": wrong,
        "name": "任意",
    }
    problem = _problem(client.post(BOOKINGS, headers=login("window_clerk"), json=body), 422)
    assert "校验位" in problem["detail_zh"]
    assert new_bookings() == 0


def test_someone_elses_booking_is_not_found_for_a_resident(
    client: TestClient, login: Login, clinic: Clinic, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        made = book_for(session, clerk, clinic.session(), neighbours(session, 1)[0].id)
    for verb in ("", "/cancel", "/confirm"):
        call = client.get if not verb else client.post
        _problem(call(f"{BOOKINGS}/{made.id}{verb}", headers=login("resident")), 404)
    with unit_of_work(engine) as session:
        kept = booking.get_booking(session, actor(session, "window_clerk"), made.id)
    assert kept.status == "confirmed"


def test_an_unknown_field_or_a_bad_uuid_is_a_422(
    client: TestClient,
    login: Login,
    clinic: Clinic,
    engine: Engine,
    new_bookings: Callable[[], int],
) -> None:
    _problem(_own_booking(client, login, clinic, engine, colour="red"), 422, "colour")
    bad = {"session_id": "not-a-uuid", "channel": "online"}
    _problem(client.post(BOOKINGS, headers=login("resident"), json=bad), 422, "session_id")
    assert new_bookings() == 0


def test_the_booking_request_answers_bad_json_a_missing_token_and_a_huge_body_as_problems(
    client: TestClient,
    login: Login,
    clinic: Clinic,
    engine: Engine,
    settings: Settings,
    new_bookings: Callable[[], int],
) -> None:
    # POST /bookings is served before the router (web.hot): its errors still go through the
    # application's handlers and its body through the application's limit.
    headers = {**login("resident"), "content-type": "application/json"}
    _problem(client.post(BOOKINGS, headers=headers, content=b'{"session_id": '), 422)
    body = {"session_id": str(clinic.session()), "channel": "online"}
    _problem(client.post(BOOKINGS, json=body), 401)
    huge = {**body, "idempotency_key": "k" * settings.max_body_bytes}
    _problem(client.post(BOOKINGS, headers=headers, content=json.dumps(huge).encode()), 413)
    assert new_bookings() == 0


def test_rules_for_an_unknown_institution_are_not_found_and_nothing_is_written(
    client: TestClient, login: Login, engine: Engine
) -> None:
    body = {
        "institution_id": str(uuid.uuid4()),
        "hold_minutes": 5,
        "max_active": 5,
        "cancel_minutes_before": 120,
        "no_show_limit": 3,
        "no_show_window_days": 90,
        "suspension_days": 90,
    }
    put = client.put("/api/v1/booking-rules", headers=login("system_admin"), json=body)
    _problem(put, 404)
    assert count_rows(engine, "booking_policies") == 0


def test_a_disabled_account_is_refused_at_its_next_booking_request(
    client: TestClient,
    login: Login,
    clinic: Clinic,
    engine: Engine,
    new_bookings: Callable[[], int],
) -> None:
    headers = login("resident")  # a valid token, issued before the account is disabled
    with unit_of_work(engine) as session:
        resident = user_of(session, "resident")
        set_user_active(session, actor(session, "system_admin"), resident.id, active=False)
    body = {"session_id": str(clinic.session()), "channel": "online"}
    body["resident_id"] = str(_home(engine))
    _problem(client.post(BOOKINGS, headers=headers, json=body), 401)
    assert new_bookings() == 0


@pytest.mark.parametrize("template", ["postgresql"], indirect=True)
def test_on_postgresql_a_residents_booking_is_one_statement_and_is_audited(
    client: TestClient,
    login: Login,
    clinic: Clinic,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def general_path(*args: object, **kwargs: object) -> None:
        raise AssertionError("the booking took the general path")

    monkeypatch.setattr(booking, "book", general_path)
    made = _own_booking(client, login, clinic, engine, confirm=True)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "confirmed" and made.json()["institution_name"]
    chain_pending(engine)
    with unit_of_work(engine) as session:
        entry = session.scalars(
            select(AuditEvent).where(AuditEvent.object_id == made.json()["id"])
        ).one()
    assert (entry.action, entry.object_type, entry.actor_role) == ("create", "booking", "resident")
    assert str(entry.person_id) == made.json()["resident_id"]


def test_a_window_clerk_books_through_the_api_for_a_resident_of_the_area(
    client: TestClient, login: Login, clinic: Clinic, engine: Engine
) -> None:
    body = {"session_id": str(clinic.session()), "channel": "window", "confirm": True}
    body["resident_id"] = str(_home(engine))
    made = client.post(BOOKINGS, headers=login("window_clerk"), json=body)
    assert made.status_code == 201, made.text
    assert made.json()["channel"] == "window" and made.json()["resident_id"] == body["resident_id"]


@pytest.mark.parametrize("template", ["postgresql"], indirect=True)
def test_bookings_go_on_after_the_database_ends_the_pools_connections(
    client: TestClient, login: Login, clinic: Clinic, engine: Engine
) -> None:
    admin = create_engine(engine.url, poolclass=NullPool)
    with admin.connect() as connection:  # as a database restart would
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    admin.dispose()
    made = _own_booking(client, login, clinic, engine, confirm=True)
    assert made.status_code == 201, made.text
    again = _own_booking(client, login, clinic, engine, session_id=str(clinic.session(3)))
    assert again.status_code == 201, again.text


@pytest.mark.parametrize("confirm", [False, True])
def test_a_new_booking_reads_as_it_does_when_fetched_again(
    client: TestClient, login: Login, clinic: Clinic, engine: Engine, confirm: bool
) -> None:
    # On PostgreSQL the answer to the booking is built in the database (booking_book from what
    # it read, migration 0012), the later read in Python (views.view): they must agree.
    made = _own_booking(client, login, clinic, engine, confirm=confirm)
    assert made.status_code == 201, made.text
    fetched = client.get(f"{BOOKINGS}/{made.json()['id']}", headers=login("resident"))
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == made.json()
