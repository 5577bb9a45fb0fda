"""The 08:00 release: many residents book the same clinic sessions at once, through a real server.

``run`` makes a fresh PostgreSQL database, builds a small county into it, opens one schedule's
sessions (all places ``online``, released this very moment) and gives every resident who may
book an account and a token. It then starts ``ygt serve`` and lets ``clients`` concurrent HTTP
clients on loopback book until no place is left or the time is up, audits the database
(oversold sessions, double-booked slots, answered bookings that are not stored), and runs
``pgbench``'s built-in simple-update script against the same PostgreSQL server as the reference.

The setup (``prepare``), the server (``start_server``, ``wait_healthy``, ``stop_server``), one
booking request (``post_booking``) and the audit (``audit_bookings``) are shared with the crash
test, which runs them on SQLite as well.

The clients are asyncio streams speaking HTTP/1.1 with keep-alive, not a full HTTP client
library: on a 2-core machine the clients share the cores with the server, so the cheaper they
are the more of the machine is left to what is measured. The bench reports their CPU time.

Split by what each part does: ``setup`` (database, county, schedule, accounts, tokens),
``server`` (start and stop ``ygt serve``), ``rush`` (the clients and their answers), ``audit``,
``pgbench`` (PostgreSQL and the reference) and ``run`` (the orchestration and progress).
"""

from yigongti.bench.booking.audit import Audit, audit_bookings
from yigongti.bench.booking.pgbench import DEFAULT_PG, pg_database
from yigongti.bench.booking.run import rich_progress, run
from yigongti.bench.booking.rush import Answer, Desk, post_booking
from yigongti.bench.booking.server import (
    free_port,
    kill_server,
    server_log,
    start_server,
    stop_server,
    wait_healthy,
)
from yigongti.bench.booking.setup import Fixture, prepare

__all__ = [
    "DEFAULT_PG",
    "Answer",
    "Audit",
    "Desk",
    "Fixture",
    "audit_bookings",
    "free_port",
    "kill_server",
    "pg_database",
    "post_booking",
    "prepare",
    "rich_progress",
    "run",
    "server_log",
    "start_server",
    "stop_server",
    "wait_healthy",
]
