"""The rush: one booking request, the desk all clients share, and the concurrent clients.

The clients are asyncio streams speaking HTTP/1.1 with keep-alive, not a full HTTP client
library: on a 2-core machine the clients share the cores with the server, so the cheaper they
are the more of the machine is left to what is measured. The bench reports their CPU time.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import uvloop

from yigongti.bench.booking.setup import Booker, Fixture

FULL = "No place left"  # how the service says a session is full for the channel


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
    database_cpu_seconds: float = 0.0


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
        # The status line and headers in one read: reading them line by line cost the clients
        # a fifth more CPU per request.
        try:
            block = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise ConnectionResetError("the server closed the connection") from exc
            raise
        status_line, *lines = block[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        length, close = 0, False
        for line in lines:
            name, _, value = line.partition(":")
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
    # uvloop (the server's loop too) costs the clients about a third less CPU than asyncio's.
    answers = uvloop.run(_rush(port, Desk(fixture), clients, seconds))
    return RushResult(answers, time.perf_counter() - wall, time.process_time() - cpu)
