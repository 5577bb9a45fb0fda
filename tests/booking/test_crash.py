"""The server is killed (SIGKILL) in the middle of a burst of bookings, then started again.

Whatever the moment of the kill, every booking a client was told of (a 2xx answer) must be in
the database as confirmed, no session may hold more live bookings than places, and no slot may
be held twice. Requests that got no answer are an unknown outcome: the client retries them with
the same idempotency key once the server is back, as a careful app would.

A real ``ygt serve`` (one process) is started on a fresh county built by the booking bench's
own setup (``yigongti.bench.booking``), on a SQLite file (WAL) and on PostgreSQL.
"""

from __future__ import annotations

import http.client
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN, pg_available, require_or_skip
from yigongti.bench import booking as bench
from yigongti.db import make_engine

SLOTS = 300
CLIENTS = 16
KILL_AFTER = 60  # confirmed answers before the kill
DEAD_SECONDS = 1.0  # the clients keep firing at the dead server this long before the restart
AFTER_RESTART = 40  # confirmed answers after the restart before the burst ends
PHASE_SECONDS = 20.0  # the longest wait for either count


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    require_or_skip(pg_available(), f"PostgreSQL at {PG_ADMIN}")
    with bench.pg_database(PG_ADMIN, f"ygt_crash_{uuid.uuid4().hex[:12]}") as url:
        yield url


class Burst:
    """``CLIENTS`` threads booking through the desk until told to stop or nothing is left."""

    def __init__(self, fixture: bench.Fixture, port: int) -> None:
        self.fixture = fixture
        self.port = port
        self.desk = bench.Desk(fixture)
        self.answers: list[bench.Answer] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]

    def _client(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        turn = self.desk.first()
        while turn is not None and not self.stop.is_set():
            answer = bench.post_booking(connection, self.fixture, turn)
            self.answers.append(answer)
            if answer.outcome == "unknown":
                time.sleep(0.05)
            turn = self.desk.after(turn, answer)
        connection.close()

    def booked(self) -> int:
        return sum(1 for a in list(self.answers) if a.outcome == "booked")

    def wait_for(self, booked: int) -> None:
        """Until ``booked`` confirmed answers in all, every client is done, or time is up."""
        deadline = time.monotonic() + PHASE_SECONDS
        while self.booked() < booked and time.monotonic() < deadline:
            if not any(t.is_alive() for t in self.threads):
                return
            time.sleep(0.01)

    def __enter__(self) -> Burst:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def test_sigkill_mid_burst_loses_no_confirmed_booking(database_url: str, tmp_path: Path) -> None:
    secret = secrets.token_urlsafe(48)
    engine = make_engine(database_url)
    data_dir = tmp_path / "server"
    try:
        fixture = bench.prepare(engine, SLOTS, secret)
        port = bench.free_port()
        server = bench.start_server(database_url, secret, data_dir, port)
        try:
            bench.wait_healthy(port, server, data_dir)
            with Burst(fixture, port) as burst:
                burst.wait_for(KILL_AFTER)
                bench.kill_server(server)  # SIGKILL, mid-burst: requests are in flight
                before_kill = burst.booked()
                time.sleep(DEAD_SECONDS)
                server = bench.start_server(database_url, secret, data_dir, port)
                bench.wait_healthy(port, server, data_dir)
                burst.wait_for(before_kill + AFTER_RESTART)
            answers = list(burst.answers)
        finally:
            bench.stop_server(server)
        answered = [a.booking_id for a in answers if a.booking_id is not None]
        audit = bench.audit_bookings(engine, fixture.session_ids, answered)
    finally:
        engine.dispose()

    outcomes = Counter(a.outcome for a in answers)
    assert before_kill >= KILL_AFTER, (outcomes, bench.server_log(data_dir))
    assert outcomes["unknown"] > 0, "the kill should have cut requests off"
    assert len(set(answered)) > before_kill, "the restarted server should book again"
    assert outcomes["error"] == outcomes["conflict"] == 0, (outcomes, bench.server_log(data_dir))
    assert audit.lost == 0, f"{audit.lost} bookings answered 2xx are not stored as confirmed"
    assert audit.oversold == 0, f"{audit.oversold} sessions hold more bookings than places"
    assert audit.double_booked == 0, f"{audit.double_booked} slots are double-booked"
    assert len(set(answered)) <= audit.stored <= SLOTS
