"""``ygt bench booking`` end to end at a small size: the figures are all there, the audit is clean.

Timing is not checked (the host is shared); the audit must be exact: nothing oversold, no slot
held twice, every answered booking stored as confirmed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import PG_ADMIN, pg_available, require_or_skip
from yigongti import booking
from yigongti.bench import booking as bench
from yigongti.cli import app
from yigongti.db import make_engine, unit_of_work
from yigongti.security import actor_for
from yigongti.security.models import User
from yigongti.settings import get_settings

ARGS = ["bench", "booking", "--clients", "8", "--slots", "40", "--seconds", "3", "--workers", "1"]
KEYS = {
    "clients",
    "slots",
    "workers",
    "bookings",
    "bookings_per_s",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "errors",
    "oversold",
    "double_booked",
    "lost",
    "pgbench_tps",
    "pgbench_clients",
    "ratio",
}


@pytest.mark.postgres
def test_small_booking_bench_books_every_place_exactly_once() -> None:
    require_or_skip(pg_available(), f"PostgreSQL at {PG_ADMIN}")
    require_or_skip(shutil.which("pgbench") is not None, "pgbench")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, [*ARGS, "--pgbench-scale", "1", "--pg", PG_ADMIN, "--json"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert not KEYS - figures.keys(), KEYS - figures.keys()
    assert (figures["clients"], figures["slots"], figures["workers"]) == (8, 40, 1)
    assert figures["oversold"] == figures["double_booked"] == figures["lost"] == 0
    assert figures["errors"] == 0
    assert figures["bookings"] == figures["stored"] == 40  # every place, once
    assert figures["full_answers"] > 0  # the last clients were told the sessions are full
    assert figures["pgbench_clients"] == 8 and figures["pgbench_tps"] > 0
    assert figures["bookings_per_s"] > 0 and figures["ratio"] > 0


def test_audit_catches_oversold_double_booked_and_lost(tmp_path: Path) -> None:
    """The audit the bench and the crash test rely on does fail on a broken database."""
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    try:
        fixture = bench.prepare(engine, 10, "audit-secret-of-at-least-32-bytes!", residents=200)
        (session_id,) = fixture.session_ids
        with unit_of_work(engine) as session:
            booked = []
            for booker in fixture.bookers[:3]:
                actor = actor_for(session.get(User, booker.user_id))
                request = booking.BookingRequest(
                    session_id=session_id,
                    channel="online",
                    resident_id=booker.resident_id,
                    confirm=True,
                )
                booked.append(booking.book(session, actor, request).id)
        clean = bench.audit_bookings(engine, fixture.session_ids, booked)
        assert clean == bench.Audit(stored=3, oversold=0, double_booked=0, lost=0)

        # Break it behind the application's back (no foreign keys): the session keeps two
        # places for its three bookings, and one of the two left forgets its booking.
        with closing(sqlite3.connect(tmp_path / "audit.db")) as raw, raw:
            raw.execute(
                "DELETE FROM slots WHERE session_id = ? AND (booking_id IS NULL OR booking_id = ?)",
                (session_id.hex, booked[0].hex),
            )
            raw.execute("UPDATE slots SET booking_id = NULL WHERE booking_id = ?", (booked[1].hex,))
        broken = bench.audit_bookings(engine, fixture.session_ids, [*booked, uuid.uuid4()])
    finally:
        engine.dispose()
    assert broken == bench.Audit(stored=3, oversold=1, double_booked=1, lost=1)
