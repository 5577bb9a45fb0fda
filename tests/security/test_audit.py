"""The audit log: every look at a person is recorded, and tampering with the record shows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, text
from typer.testing import CliRunner

from tests.support import (
    actor,
    audit_rows_after,
    max_seq,
    places,
    user_of,
)
from yigongti.cli import app as ygt_app
from yigongti.db import unit_of_work
from yigongti.kernel import SHANGHAI
from yigongti.registry import get_resident, search_residents
from yigongti.security import (
    AuditEvent,
    ChainBreak,
    audit,
    chain_pending,
    chaining_in_background,
    count_pending,
    system_actor,
    verify_chain,
)
from yigongti.security.audit import _COLUMNS, entry_hash
from yigongti.settings import get_settings

Login = Callable[[str], dict[str, str]]
REASON = "信访件核实居民信息"


def _rows_after(engine: Engine, seq: int) -> list[AuditEvent]:
    with unit_of_work(engine) as session:
        return audit_rows_after(session, seq)


def _last_seq(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return max_seq(session)


def _breaks(engine: Engine, batch: int = 10_000) -> list[ChainBreak]:
    with unit_of_work(engine) as session:
        return list(verify_chain(session, batch=batch))


# --- what is recorded -------------------------------------------------------------------------


def test_reading_a_resident_records_who_whom_what_and_from_where(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
        doctor = user_of(session, "village_doctor")
    headers = login("village_doctor")
    start = _last_seq(engine)
    assert client.get(f"/api/v1/residents/{person.id}", headers=headers).status_code == 200
    [row] = _rows_after(engine, start)
    assert (row.actor_id, row.actor_name, row.actor_role) == (
        doctor.id,
        "village-doctor",
        "village_doctor",
    )
    assert (row.person_id, row.action, row.object_type, row.object_id) == (
        person.id,
        "read",
        "resident",
        str(person.id),
    )
    assert row.client == "testclient"
    assert row.at is not None and row.at.utcoffset().total_seconds() == 0


def test_revealing_a_resident_records_a_reveal(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    headers = login("township_doctor")
    start = _last_seq(engine)
    client.get(f"/api/v1/residents/{person.id}", params={"reveal": True}, headers=headers)
    assert [(r.action, r.person_id) for r in _rows_after(engine, start)] == [("reveal", person.id)]


def test_a_search_records_a_search_with_the_id_number_masked(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    headers = login("cdc_officer")
    start = _last_seq(engine)
    client.get("/api/v1/residents", params={"q": person.id_number}, headers=headers)
    [row] = _rows_after(engine, start)
    assert (row.action, row.object_type, row.actor_role) == ("search", "resident", "cdc_officer")
    assert person.id_number not in (row.detail or "")
    assert row.detail.endswith("hits=1")


def test_a_bureau_read_records_the_reason_given(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    headers = login("bureau_analyst")
    start = _last_seq(engine)
    answer = client.get(
        f"/api/v1/residents/{person.id}", params={"reason": REASON}, headers=headers
    )
    assert answer.status_code == 200
    [row] = _rows_after(engine, start)
    assert (row.action, row.person_id, row.reason) == ("read", person.id, REASON)


def test_reading_a_household_records_one_row_per_member_shown(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    headers = login("village_doctor")
    start = _last_seq(engine)
    shown = client.get(f"/api/v1/residents/{person.id}/household", headers=headers).json()
    rows = _rows_after(engine, start)
    assert sorted(str(r.person_id) for r in rows) == sorted(m["id"] for m in shown)
    assert {r.action for r in rows} == {"read"}


def test_a_refused_request_records_nothing(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    headers = login("center_reader")
    start = _last_seq(engine)
    refused = client.get(f"/api/v1/residents/{person.id}", params={"reveal": True}, headers=headers)
    assert refused.status_code == 403
    assert _rows_after(engine, start) == []


def test_a_rolled_back_unit_of_work_records_nothing(engine: Engine) -> None:
    start = _last_seq(engine)
    with pytest.raises(RuntimeError), unit_of_work(engine) as session:
        doctor = actor(session, "township_doctor")
        get_resident(session, doctor, places(session).resident.id, reveal=True)
        search_residents(session, doctor, "张")
        raise RuntimeError("the request failed after reading")
    assert _rows_after(engine, start) == []
    with unit_of_work(engine) as session:
        get_resident(session, actor(session, "township_doctor"), places(session).resident.id)
    assert [r.seq for r in _rows_after(engine, start)] == [start + 1]


def test_auditors_search_the_log_by_person_and_action(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    client.get(f"/api/v1/residents/{person.id}", headers=login("village_doctor"))
    client.get(
        f"/api/v1/residents/{person.id}", params={"reveal": True}, headers=login("cdc_officer")
    )
    found = client.get(
        "/api/v1/audit",
        params={"person_id": str(person.id), "action": "reveal"},
        headers=login("bureau_admin"),
    ).json()
    assert found["total"] == 1
    assert [(r["actor_name"], r["action"]) for r in found["items"]] == [("cdc-officer", "reveal")]
    assert _rows_after(engine, _last_seq(engine) - 1)[0].object_type == "audit_log"


def test_an_audit_search_with_since_after_until_is_refused(
    client: TestClient, login: Login
) -> None:
    answer = client.get(
        "/api/v1/audit",
        params={"since": "2025-03-02T00:00:00", "until": "2025-03-01T00:00:00"},
        headers=login("system_admin"),
    )
    assert answer.status_code == 422


def test_an_audit_search_reads_a_time_without_zone_as_china_standard_time(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    client.get(f"/api/v1/residents/{person.id}", headers=login("village_doctor"))
    in_china = datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)
    headers = login("bureau_admin")

    def found(**window: datetime) -> int:
        params = {"person_id": str(person.id), "action": "read"}
        params.update({name: moment.isoformat() for name, moment in window.items()})
        answer = client.get("/api/v1/audit", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()["total"]

    assert found(since=in_china - timedelta(minutes=10)) == 1
    assert found(since=in_china + timedelta(minutes=10)) == 0
    assert found(until=in_china - timedelta(minutes=10)) == 0


@pytest.mark.parametrize("moment", ["20250301", "1740787200", "-4765"])
def test_an_audit_search_by_a_bare_number_is_refused_rather_than_read_as_unix_time(
    client: TestClient, login: Login, moment: str
) -> None:
    answer = client.get("/api/v1/audit", params={"since": moment}, headers=login("bureau_admin"))
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["query.since"]


def test_concurrent_requests_leave_one_unbroken_chain(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        person_id = places(session).resident.id
        doctor = actor(session, "township_doctor")
    start = _last_seq(engine)
    errors: list[BaseException] = []

    def reads() -> None:
        try:
            for _ in range(10):
                with unit_of_work(engine) as session:
                    get_resident(session, doctor, person_id)
                    get_resident(session, doctor, person_id, reveal=True)
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=reads) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [r.seq for r in _rows_after(engine, start)] == list(range(start + 1, start + 81))
    assert _breaks(engine) == []


# --- verifying the chain ----------------------------------------------------------------------


def _some_reads(client: TestClient, login: Login, engine: Engine) -> None:
    with unit_of_work(engine) as session:
        person = places(session).resident
    for role in ("village_doctor", "township_doctor", "county_doctor", "cdc_officer"):
        client.get(f"/api/v1/residents/{person.id}", headers=login(role))


def test_an_intact_log_verifies_even_across_batches(
    client: TestClient, login: Login, engine: Engine
) -> None:
    _some_reads(client, login, engine)
    assert _last_seq(engine) > 10
    assert _breaks(engine) == []
    assert _breaks(engine, batch=3) == []


def _change(engine: Engine, seq: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_events SET detail = 'nothing to see' WHERE seq = :s"), {"s": seq}
        )


def _delete(engine: Engine, seq: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": seq})


def _insert_forged(engine: Engine, seq: int) -> None:
    """Slip a well-formed row in at ``seq``, renumbering the rows after it, as a forger would."""
    with unit_of_work(engine) as session:
        before = session.get(AuditEvent, seq - 1)
        forged = {c.key: getattr(before, c.key) for c in AuditEvent.__table__.columns}
    forged.update(seq=seq, prev_hash=before.hash, action="read", detail="forged")
    forged["hash"] = entry_hash(forged)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET seq = -seq WHERE seq >= :s"), {"s": seq})
        connection.execute(text("UPDATE audit_events SET seq = 1 - seq WHERE seq < 0"))
        connection.execute(insert(AuditEvent.__table__).values(**forged))


# kind -> (how to tamper with row ``target``, the first break verify must report)
TAMPERING: dict[str, tuple[Callable[[Engine, int], None], Callable[[int], ChainBreak]]] = {
    "changed": (_change, lambda t: ChainBreak(t, "content changed after it was written")),
    "deleted": (_delete, lambda t: ChainBreak(t + 1, f"row(s) {t} deleted before it")),
    "inserted": (
        _insert_forged,
        lambda t: ChainBreak(t + 1, "previous-hash link broken (row inserted or replaced)"),
    ),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_verify_names_the_row_where_the_log_was_tampered_with(
    client: TestClient, login: Login, engine: Engine, kind: str
) -> None:
    _some_reads(client, login, engine)
    tamper, first_break = TAMPERING[kind]
    target = _last_seq(engine) // 2
    tamper(engine, target)
    breaks = _breaks(engine)
    assert breaks[0] == first_break(target)
    if kind == "inserted":  # the renumbered rows after the forgery no longer match either
        assert {b.seq for b in breaks} == set(range(target + 1, _last_seq(engine) + 1))
    else:
        assert breaks == [first_break(target)]
    assert _breaks(engine, batch=4) == breaks


def _ygt(engine: Engine, tmp_path: Path, *args: str) -> Result:
    env = {
        "YGT_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "YGT_DATA_DIR": str(tmp_path / "cli-data"),
    }
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(ygt_app, list(args), env=env)
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_ygt_audit_verify_exits_1_naming_the_tampered_row(
    client: TestClient, login: Login, engine: Engine, tmp_path: Path, kind: str
) -> None:
    _some_reads(client, login, engine)
    intact = _ygt(engine, tmp_path, "audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert f"Audit chain intact: {_last_seq(engine)} rows" in intact.output
    tamper, first_break = TAMPERING[kind]
    target = _last_seq(engine) // 2
    tamper(engine, target)
    broken = _ygt(engine, tmp_path, "audit", "verify")
    assert broken.exit_code == 1
    assert str(first_break(target)) in " ".join(broken.output.split())


def test_creating_the_demo_accounts_was_audited(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        created = session.scalars(
            select(AuditEvent.object_id).where(
                AuditEvent.object_type == "user", AuditEvent.action == "create"
            )
        ).all()
        assert str(user_of(session, "cdc_officer").id) in created


# --- chaining after commit (PostgreSQL) -------------------------------------------------------


def _pending(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return count_pending(session)


def _read_a_resident(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        get_resident(session, actor(session, "township_doctor"), places(session).resident.id)


# PostgreSQL only: SQLite chains each entry inside its own (serial) transaction.
@pytest.mark.parametrize("template", ["postgresql"], indirect=True)
def test_a_commit_never_waits_for_the_chain_and_its_entry_is_chained_by_the_holder(
    engine: Engine,
) -> None:
    start = _last_seq(engine)
    with engine.connect() as chainer:  # another chainer holds the lock
        chainer.execute(text("SELECT pg_advisory_lock(7170001)"))
        _read_a_resident(engine)  # commits at once, although the chain is busy
        assert (_pending(engine), _rows_after(engine, start)) == (1, [])
        chainer.execute(text("SELECT pg_advisory_unlock(7170001)"))
        chainer.commit()
    assert chain_pending(engine) == 1  # what the holder does after letting go of the lock
    [row] = _rows_after(engine, start)
    assert (row.seq, row.action, _pending(engine)) == (start + 1, "read", 0)
    assert _breaks(engine) == []


# PostgreSQL only: SQLite chains each entry inside its own (serial) transaction.
@pytest.mark.parametrize("template", ["postgresql"], indirect=True)
def test_ygt_audit_verify_chains_entries_a_stopped_chainer_left_waiting(
    engine: Engine, tmp_path: Path
) -> None:
    with engine.connect() as chainer:
        chainer.execute(text("SELECT pg_advisory_lock(7170001)"))
        _read_a_resident(engine)
        _read_a_resident(engine)
        chainer.invalidate()  # its worker is killed: the lock goes, nothing was chained
    assert _pending(engine) == 2
    verified = _ygt(engine, tmp_path, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "Chained 2 audit entries that were waiting" in verified.output
    assert f"Audit chain intact: {_last_seq(engine)} rows" in verified.output
    assert _pending(engine) == 0


def test_entries_left_to_the_background_chainer_are_all_chained_when_it_stops(
    engine: Engine,
) -> None:
    start = _last_seq(engine)
    with chaining_in_background(engine):
        for _ in range(5):
            _read_a_resident(engine)
    assert [r.seq for r in _rows_after(engine, start)] == list(range(start + 1, start + 6))
    assert _pending(engine) == 0
    assert _breaks(engine) == []


# PostgreSQL only: there the database hashes the chain (audit_chain_batch), and verify_chain
# recomputes it in Python: both must build the same canonical JSON, whatever the text holds.
@pytest.mark.parametrize("template", ["postgresql"], indirect=True)
def test_the_database_hashes_entries_as_python_verifies_them_whatever_their_text(
    engine: Engine,
) -> None:
    start = _last_seq(engine)
    awkward = [
        'say "hi"\\ back\nthen\ttab\r\x01\x1f\x7f',
        "张三（门诊）· 复诊 😀 \u2028",
        None,
    ]
    with unit_of_work(engine) as session:
        doctor = actor(session, "township_doctor")
        person = places(session).resident.id
        for text_ in awkward:
            audit.record(
                session,
                doctor,
                "read",
                "resident",
                text_,
                person_id=person,
                reason=text_,
                detail=text_,
            )
        audit.record(session, system_actor("cli"), "export", "report")  # no person, no ids
    rows = _rows_after(engine, start)  # chained by the database right after the commit
    assert (len(rows), _pending(engine)) == (4, 0)
    assert [(r.object_id, r.detail) for r in rows[:3]] == [(t, t) for t in awkward]
    assert all(r.hash == entry_hash({c: getattr(r, c) for c in _COLUMNS}) for r in rows)
    assert _breaks(engine) == []
