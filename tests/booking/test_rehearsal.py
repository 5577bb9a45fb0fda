"""The booking pool rehearses a booking on each new connection and leaves nothing written."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest
from sqlalchemy import Engine, text

from yigongti.bench.booking.setup import open_rush_sessions
from yigongti.booking import Rehearsal

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("template", ["postgresql"], indirect=True),  # the pool is PostgreSQL's
]

COUNTED = ("bookings", "audit_pending", "audit_events", "notices")


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {t: connection.scalar(text(f"SELECT count(*) FROM {t}")) for t in COUNTED}


def _rehearse(engine: Engine, rehearsal: Rehearsal) -> str:
    """Run ``rehearsal`` on a new autocommit connection; the connection's state after it."""
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def run() -> str:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            await rehearsal(conn)
            return conn.info.transaction_status.name

    return asyncio.run(run())


def test_a_rehearsal_books_nothing_and_leaves_the_connection_idle(engine: Engine) -> None:
    session_ids = open_rush_sessions(engine, 200)
    before = _counts(engine)
    rehearsal = Rehearsal()

    assert _rehearse(engine, rehearsal) == "IDLE"
    assert rehearsal.target is not None, "an account and a free place were there to rehearse"
    assert rehearsal.target[2] in session_ids
    assert _rehearse(engine, rehearsal) == "IDLE"  # the same target, looked up once
    assert _counts(engine) == before


def test_a_target_that_no_longer_books_is_looked_up_again(engine: Engine) -> None:
    open_rush_sessions(engine, 200)
    rehearsal = Rehearsal()
    gone = (uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), 0)  # an account that does not exist
    rehearsal.target = gone

    _rehearse(engine, rehearsal)
    assert rehearsal.target is None
    _rehearse(engine, rehearsal)
    assert rehearsal.target is not None and rehearsal.target != gone


def test_a_rehearsal_that_fails_leaves_the_connection_serving(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from yigongti.booking.service import in_database

    open_rush_sessions(engine, 200)
    monkeypatch.setattr(in_database, "_BOOK_AS", "SELECT no_such_function()")
    before = _counts(engine)

    assert _rehearse(engine, Rehearsal()) == "IDLE"  # no exception: the pool keeps it
    assert _counts(engine) == before
