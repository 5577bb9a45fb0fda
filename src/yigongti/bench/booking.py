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
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update

from yigongti.kernel import local, now, uuid7

DEFAULT_PG = os.environ.get("YGT_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")
BENCH_PASSWORD = "Rush-hour-0800"  # every bench account shares one hash of it
TOKEN_MINUTES = 120
FEE_FEN = 1_200
FULL = "No place left"  # how the service says a session is full for the channel
Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    """No progress report."""


# --- setup ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Booker:
    """A resident with an account of his own and its bearer token."""

    resident_id: uuid.UUID
    user_id: uuid.UUID
    token: str


@dataclass(frozen=True)
class Fixture:
    """What the rush books: released sessions holding ``slots`` places, and who books them."""

    session_ids: list[uuid.UUID]
    slots: int
    fee_fen: int
    bookers: list[Booker]


def open_rush_sessions(engine: Engine, slots: int) -> list[uuid.UUID]:
    """One department clinic of a county hospital with sessions of ``slots`` online places in all.

    The schedule is published as a schedule manager would (``create_schedule``,
    ``open_sessions``, 200 places a session, from tomorrow on); surplus places of the last
    session are taken away, and every session is released now, as at 08:00 on release day.
    """
    from yigongti import booking
    from yigongti.booking.models import ClinicSession, Slot
    from yigongti.db import unit_of_work
    from yigongti.registry.models import Department, Institution
    from yigongti.security import system_actor

    with unit_of_work(engine) as session:
        hospital, department = session.execute(
            select(Institution.id, Department.id)
            .join(Department, Department.institution_id == Institution.id)
            .where(Institution.kind == "county_hospital", Institution.active.is_(True))
            .order_by(Institution.code, Department.code)
            .limit(1)
        ).one()
        schedule = booking.create_schedule(
            session,
            system_actor("bench"),
            booking.NewSchedule(
                institution_id=hospital,
                department_id=department,
                resource="clinic",
                room="Rush-1",
                fee_fen=FEE_FEN,
                name="08:00 rush",
                slice_minutes=5,
                slice_capacity=5,
                weekdays="1234567",
                periods=("morning", "afternoon"),
                quotas={"online": 100},
            ),
        )
        first = local(now()).date() + timedelta(days=1)
        days = 1
        while True:
            booking.open_sessions(session, schedule, first, first + timedelta(days=days - 1))
            have = session.scalar(
                select(func.count())
                .select_from(Slot)
                .join(ClinicSession, ClinicSession.id == Slot.session_id)
                .where(ClinicSession.schedule_id == schedule.id)
            )
            if (have or 0) >= slots:
                break
            if days > 366:
                raise ValueError(f"{slots} places do not fit in a year of sessions")
            days += 1
        sessions = session.execute(
            select(ClinicSession.id, func.count(Slot.id))
            .join(Slot, Slot.session_id == ClinicSession.id)
            .where(ClinicSession.schedule_id == schedule.id)
            .group_by(ClinicSession.id, ClinicSession.starts_at)
            .order_by(ClinicSession.starts_at)
        ).all()
        kept, left = [], slots
        for session_id, places in sessions:
            if left <= 0:
                session.execute(delete(Slot).where(Slot.session_id == session_id))
                session.execute(delete(ClinicSession).where(ClinicSession.id == session_id))
                continue
            if places > left:
                session.execute(
                    delete(Slot).where(Slot.session_id == session_id, Slot.number > left)
                )
            kept.append(session_id)
            left -= min(places, left)
        session.execute(
            update(ClinicSession)
            .where(ClinicSession.id.in_(kept))
            .values(release_at=now() - timedelta(seconds=1))
        )
    return kept


def create_bookers(engine: Engine, count: int, secret: str) -> list[Booker]:
    """A resident account for each of ``count`` living residents, with its token.

    The accounts are written in one statement and share one Argon2 hash (computed once): the
    rush never logs in, its tokens are issued here with the server's secret.
    """
    from yigongti.db import unit_of_work
    from yigongti.registry.models import Resident
    from yigongti.security.models import User
    from yigongti.security.passwords import hash_password
    from yigongti.security.tokens import issue_token

    password_hash = hash_password(BENCH_PASSWORD)
    with unit_of_work(engine) as session:
        residents = list(
            session.scalars(
                select(Resident.id)
                .where(Resident.deceased_on.is_(None))
                .order_by(Resident.id)
                .limit(count)
            )
        )
        moment = now()
        rows = [
            {
                "id": uuid7(),
                "username": f"rush-{n:06d}",
                "display_name": f"Rush {n}",
                "password_hash": password_hash,
                "role": "resident",
                "resident_id": resident_id,
                "active": True,
                "failed_logins": 0,
                "created_at": moment,
            }
            for n, resident_id in enumerate(residents)
        ]
        if rows:
            session.execute(insert(User), rows)
    return [
        Booker(row["resident_id"], row["id"], issue_token(row["id"], secret, TOKEN_MINUTES))
        for row in rows
    ]


def prepare(
    engine: Engine,
    slots: int,
    secret: str,
    *,
    residents: int | None = None,
    progress: Progress = _quiet,
) -> Fixture:
    """Migrate an empty database, build a county into it, open the sessions, make the bookers."""
    from yigongti.db.migrate import upgrade
    from yigongti.synth import build_county

    residents = residents or max(3 * slots, 2_000)
    progress("migrate", 0, 1)
    upgrade(engine)
    progress("migrate", 1, 1)
    build_county(engine, residents=residents, encounters=False, progress=progress)
    progress("sessions", 0, 1)
    session_ids = open_rush_sessions(engine, slots)
    progress("sessions", 1, 1)
    progress("accounts", 0, residents)
    bookers = create_bookers(engine, residents, secret)
    progress("accounts", len(bookers), residents)
    return Fixture(session_ids, slots, FEE_FEN, bookers)


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    database_url: str, secret: str, data_dir: Path, port: int, workers: int = 1
) -> subprocess.Popen[bytes]:
    """``ygt serve`` on 127.0.0.1:``port``, without scheduled jobs, logging to data_dir/serve.log.

    It leads its own process group, so it (and its worker processes) can be killed together
    by its own pid.
    """
    env = {
        **os.environ,
        "YGT_DATABASE_URL": database_url,
        "YGT_SECRET_KEY": secret,
        "YGT_DATA_DIR": str(data_dir),
    }
    command = [sys.executable, "-m", "yigongti.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--jobs-every", "0"]
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "serve.log").open("ab") as log:
        return subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def server_log(data_dir: Path, tail: int = 2_000) -> str:
    """The end of the server's log."""
    path = data_dir / "serve.log"
    return path.read_text(errors="replace")[-tail:] if path.exists() else ""


def wait_healthy(
    port: int, process: subprocess.Popen[bytes], data_dir: Path, timeout: float = 90.0
) -> float:
    """Poll ``/healthz`` until it answers; seconds waited. Raises if the server dies or hangs."""
    started = time.monotonic()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"ygt serve exited ({process.returncode}):\n{server_log(data_dir)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                if reply.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"ygt serve did not answer /healthz:\n{server_log(data_dir)}")
        time.sleep(0.1)


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user and system) of the live processes of process group ``pgid`` (Linux)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wait_idle(pgid: int, timeout: float = 120.0) -> None:
    """Until the processes of group ``pgid`` are idle (under 5% of a core for a second).

    ``/healthz`` answers as soon as one worker is up; the others may still be importing, and
    keep-alive connections made meanwhile would all stay on the first worker.
    """
    deadline = time.monotonic() + timeout
    quiet, last = 0, group_cpu_seconds(pgid)
    while quiet < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        now_cpu = group_cpu_seconds(pgid)
        quiet = quiet + 1 if now_cpu - last < 0.025 else 0
        last = now_cpu


def kill_server(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server and its workers (its process group), as a crash would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop_server(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop the server gracefully (SIGTERM); kill its process group if it does not stop."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_server(process)


# --- one booking ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What one booking request got: ``outcome`` is booked, full, conflict, error or unknown.

    ``unknown``: no answer at all (connection refused or reset, timeout), so the client cannot
    tell whether the booking was made.
    """

    outcome: str
    status: int
    started: float
    seconds: float
    booking_id: uuid.UUID | None = None


def booking_request(
    fixture: Fixture, booker: Booker, session_id: uuid.UUID, key: str
) -> tuple[dict[str, str], bytes]:
    """Headers and body of ``POST /api/v1/bookings``: book at once, online, for oneself."""
    body = json.dumps(
        {
            "session_id": str(session_id),
            "channel": "online",
            "resident_id": str(booker.resident_id),
            "confirm": True,
            "expected_fee_fen": fixture.fee_fen,
        }
    ).encode()
    headers = {
        "Authorization": f"Bearer {booker.token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    return headers, body


def read_answer(status: int, payload: bytes, started: float, ended: float) -> Answer:
    """Classify the server's answer to a booking request."""
    seconds = ended - started
    if 200 <= status < 300:
        return Answer("booked", status, started, seconds, uuid.UUID(json.loads(payload)["id"]))
    if status == 409:
        full = FULL in json.loads(payload).get("detail", "")
        return Answer("full" if full else "conflict", status, started, seconds)
    return Answer("error", status, started, seconds)


def post_booking(connection: http.client.HTTPConnection, fixture: Fixture, turn: Turn) -> Answer:
    """One booking over a (keep-alive) ``http.client`` connection, for client threads.

    No answer (the server is gone, the connection reset) is an ``unknown`` outcome; the
    connection is closed so the next call opens a new one.
    """
    headers, body = booking_request(fixture, turn.booker, turn.session_id, turn.key)
    started = time.perf_counter()
    try:
        connection.request("POST", "/api/v1/bookings", body=body, headers=headers)
        reply = connection.getresponse()
        payload = reply.read()
    except (OSError, http.client.HTTPException):
        connection.close()
        return Answer("unknown", 0, started, time.perf_counter() - started)
    return read_answer(reply.status, payload, started, time.perf_counter())


@dataclass(frozen=True)
class Turn:
    """One booking to ask for: who, in which session, under which idempotency key."""

    booker: Booker
    session_id: uuid.UUID
    key: str


class Desk:
    """What all clients share: the sessions not known to be full and the residents yet to book.

    A client asks ``first()`` for its first turn and ``after(turn, answer)`` for each next
    one. No answer (``unknown``) is retried as it was, same session and same idempotency key,
    as a careful app would: if the lost attempt booked, the retry answers with that booking.
    A resident told "full" tries another session; any other answer uses him up.
    """

    def __init__(self, fixture: Fixture, seed: int = 8) -> None:
        self.fixture = fixture
        self.open = list(fixture.session_ids)
        self.bookers = deque(fixture.bookers)
        self.random = random.Random(seed)
        self.lock = threading.Lock()

    def first(self) -> Turn | None:
        """A new resident's turn; ``None`` when every session is full or nobody is left."""
        return self._turn(None)

    def after(self, turn: Turn, answer: Answer) -> Turn | None:
        """The turn that follows ``answer`` to ``turn``; ``None`` when there is nothing to do."""
        if answer.outcome == "unknown":
            return turn
        if answer.outcome == "full":
            with self.lock, contextlib.suppress(ValueError):
                self.open.remove(turn.session_id)
            return self._turn(turn.booker)
        return self._turn(None)

    def _turn(self, booker: Booker | None) -> Turn | None:
        with self.lock:
            if not self.open:
                return None
            if booker is None:
                if not self.bookers:
                    return None
                booker = self.bookers.popleft()
            return Turn(booker, self.random.choice(self.open), uuid.uuid4().hex)


# --- the rush ------------------------------------------------------------------------------


@dataclass
class RushResult:
    """Every answer of a rush, and the client process's CPU time during it."""

    answers: list[Answer] = field(default_factory=list)
    wall_seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    server_cpu_seconds: float = 0.0


class _Connection:
    """One keep-alive HTTP/1.1 connection to the server over asyncio streams."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise ValueError("chunked answers are not expected from the booking API")
        payload = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def _client(port: int, desk: Desk, deadline: float, answers: list[Answer]) -> None:
    connection = _Connection(port)
    turn = desk.first()
    try:
        while turn is not None and time.perf_counter() < deadline:
            headers, body = booking_request(desk.fixture, turn.booker, turn.session_id, turn.key)
            started = time.perf_counter()
            try:
                status, payload = await asyncio.wait_for(
                    connection.post("/api/v1/bookings", headers, body), deadline + 30 - started
                )
                answer = read_answer(status, payload, started, time.perf_counter())
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                await connection.close()
                answer = Answer("unknown", 0, started, time.perf_counter() - started)
                await asyncio.sleep(0.05)
            answers.append(answer)
            turn = desk.after(turn, answer)
    finally:
        await connection.close()


async def _rush(port: int, desk: Desk, clients: int, seconds: float) -> list[Answer]:
    answers: list[Answer] = []
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(_client(port, desk, deadline, answers) for _ in range(clients)))
    return answers


def rush(port: int, fixture: Fixture, clients: int, seconds: float) -> RushResult:
    """``clients`` concurrent clients book until every session is full or ``seconds`` pass."""
    cpu, wall = time.process_time(), time.perf_counter()
    answers = asyncio.run(_rush(port, Desk(fixture), clients, seconds))
    return RushResult(answers, time.perf_counter() - wall, time.process_time() - cpu)


# --- the audit -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    """What the database says after a rush."""

    stored: int  # live bookings of the rush's sessions
    oversold: int  # sessions with more live bookings than places
    double_booked: int  # slots with two live bookings, or live bookings their slot does not name
    lost: int  # bookings answered 2xx that are not stored as confirmed


def audit_bookings(
    engine: Engine, session_ids: list[uuid.UUID], answered: list[uuid.UUID]
) -> Audit:
    """Check the rush's sessions against their places, and the answered bookings against the DB."""
    from yigongti.booking.models import LIVE_STATUSES, Booking, Slot
    from yigongti.db import unit_of_work

    live = and_(Booking.session_id.in_(session_ids), Booking.status.in_(LIVE_STATUSES))
    with unit_of_work(engine) as session:
        booked = dict(
            session.execute(
                select(Booking.session_id, func.count()).where(live).group_by(Booking.session_id)
            ).all()
        )
        places = dict(
            session.execute(
                select(Slot.session_id, func.count())
                .where(Slot.session_id.in_(session_ids))
                .group_by(Slot.session_id)
            ).all()
        )
        oversold = sum(1 for s, n in booked.items() if n > places.get(s, 0))
        twice = session.scalar(
            select(func.count()).select_from(
                select(Booking.slot_id)
                .where(live)
                .group_by(Booking.slot_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        unnamed = session.scalar(
            select(func.count())
            .select_from(Booking)
            .join(Slot, Slot.id == Booking.slot_id)
            .where(live, or_(Slot.booking_id.is_(None), Slot.booking_id != Booking.id))
        )
        confirmed = set(
            session.scalars(
                select(Booking.id).where(
                    Booking.session_id.in_(session_ids), Booking.status == "confirmed"
                )
            )
        )
    lost = sum(1 for booking_id in set(answered) if booking_id not in confirmed)
    return Audit(sum(booked.values()), oversold, (twice or 0) + (unnamed or 0), lost)


# --- PostgreSQL and the reference ----------------------------------------------------------


def pg_url(admin_url: str, database: str) -> str:
    """The URL of ``database`` on the server of ``admin_url``."""
    return admin_url.rsplit("/", 1)[0] + "/" + database


def _pg_admin(admin_url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


@contextlib.contextmanager
def pg_database(admin_url: str, name: str) -> Iterator[str]:
    """A new, empty database ``name``, dropped when the block ends, whatever happens in it."""
    _pg_admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_admin(admin_url, f"CREATE DATABASE {name}")
    try:
        yield pg_url(admin_url, name)
    finally:
        _pg_admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def pgbench_clients(admin_url: str, wanted: int) -> int:
    """As many pgbench clients as wanted, but at most what ``max_connections`` leaves free."""
    (limit,), (reserved,) = (
        _pg_admin(admin_url, "SHOW max_connections")[0],
        _pg_admin(admin_url, "SHOW superuser_reserved_connections")[0],
    )
    in_use = _pg_admin(
        admin_url, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
    )[0][0]
    return max(1, min(wanted, int(limit) - max(int(reserved), 10) - int(in_use)))


TPS = re.compile(r"tps = ([\d.]+) \(without initial connection time\)")


def pgbench(url: str, clients: int, seconds: int, scale: int = 10) -> float:
    """tps of pgbench's built-in simple-update script on ``url`` (initialised at ``scale``)."""
    command = shutil.which("pgbench")
    if command is None:
        raise RuntimeError("pgbench is not installed (Debian: postgresql-client)")
    subprocess.run(
        [command, "-i", "-q", "-s", str(scale), url], check=True, capture_output=True, timeout=600
    )
    threads = min(2, clients)
    done = subprocess.run(
        [
            command,
            "-b",
            "simple-update",
            "-n",
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(seconds),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    found = TPS.search(done.stdout)
    if found is None:
        raise RuntimeError(f"no tps in pgbench's output:\n{done.stdout}\n{done.stderr}")
    return float(found.group(1))


# --- the whole bench -----------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile, rounded to 0.1; ``None`` (JSON null) of nothing."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))], 1)


def summarise(
    result: RushResult, audit: Audit, *, clients: int, slots: int, workers: int
) -> dict[str, Any]:
    """The figures of a rush and its audit (pgbench's are added by ``run``)."""
    booked = [a for a in result.answers if a.outcome == "booked"]
    latencies = [a.seconds * 1000 for a in booked]
    first = min((a.started for a in result.answers), default=0.0)
    last = max((a.started + a.seconds for a in booked), default=first)
    span = last - first
    outcomes = Counter(a.outcome for a in result.answers)
    return {
        "bench": "booking",
        "clients": clients,
        "slots": slots,
        "workers": workers,
        "bookings": len({a.booking_id for a in booked}),
        "bookings_per_s": round(len(booked) / span, 1) if span > 0 else 0.0,
        "p50_ms": _percentile(latencies, 0.50),
        "p95_ms": _percentile(latencies, 0.95),
        "p99_ms": _percentile(latencies, 0.99),
        "errors": outcomes["error"] + outcomes["unknown"],
        "no_answer": outcomes["unknown"],
        "full_answers": outcomes["full"],
        "other_409": outcomes["conflict"],
        "requests": len(result.answers),
        "rush_seconds": round(span, 2),
        "client_cores": round(result.client_cpu_seconds / result.wall_seconds, 3)
        if result.wall_seconds
        else 0.0,
        "server_cores": round(result.server_cpu_seconds / result.wall_seconds, 3)
        if result.wall_seconds
        else 0.0,
        "server_cpu_ms_per_booking": round(1000 * result.server_cpu_seconds / len(booked), 1)
        if booked
        else 0.0,
        "stored": audit.stored,
        "oversold": audit.oversold,
        "double_booked": audit.double_booked,
        "lost": audit.lost,
    }


def run(
    clients: int = 200,
    slots: int = 2_000,
    seconds: int = 30,
    workers: int = 2,
    *,
    admin_url: str = DEFAULT_PG,
    pgbench_scale: int = 10,
    progress: Progress | None = None,
    on_server: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> dict[str, Any]:
    """The whole bench in a database of its own, dropped at the end (even on failure).

    ``on_server(process)`` is called once the server answers, before the rush (e.g. to attach
    a profiler to it).
    """
    from yigongti.db import make_engine

    progress = progress or _quiet

    secret = secrets.token_urlsafe(48)
    name = f"ygt_bench_{os.getpid()}"
    with pg_database(admin_url, name) as url, tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        engine = make_engine(url)
        try:
            fixture = prepare(engine, slots, secret, progress=progress)
            port = free_port()
            progress("server", 0, 1)
            server = start_server(url, secret, data_dir, port, workers)
            try:
                wait_healthy(port, server, data_dir, timeout=300)
                wait_idle(server.pid)
                progress("server", 1, 1)
                if on_server is not None:
                    on_server(server)
                progress("rush", 0, slots)
                load = os.getloadavg()[0]
                cpu = group_cpu_seconds(server.pid)
                result = rush(port, fixture, clients, seconds)
                result.server_cpu_seconds = group_cpu_seconds(server.pid) - cpu
                progress("rush", sum(a.outcome == "booked" for a in result.answers), slots)
            finally:
                stop_server(server)
            answered = [a.booking_id for a in result.answers if a.booking_id is not None]
            audit = audit_bookings(engine, fixture.session_ids, answered)
        finally:
            engine.dispose()
        figures = summarise(result, audit, clients=clients, slots=slots, workers=workers)
        figures["load_before"] = round(load, 2)
        progress("pgbench", 0, 1)
        reference_clients = pgbench_clients(admin_url, clients)
        tps = pgbench(url, reference_clients, seconds, pgbench_scale)
        progress("pgbench", 1, 1)
    figures["pgbench_tps"] = round(tps, 1)
    figures["pgbench_clients"] = reference_clients
    figures["ratio"] = round(figures["bookings_per_s"] / tps, 3) if tps else 0.0
    return figures


@contextlib.contextmanager
def rich_progress() -> Iterator[Progress]:
    """A ``progress(stage, done, total)`` that draws rich progress bars on the terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bars

    with Bars(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bars:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield report
