"""Booking on PostgreSQL: the rules and the taking of a place in one call of ``booking_book``.

The function (migration 0009) does in the database what ``bookings.book`` does in Python on
SQLite: one round trip instead of a dozen, while the patient's and the slot's row locks are
held for the shortest time. It answers an outcome code; refusals become the same messages
(:mod:`refusals`) on both engines.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Engine, Row, text
from sqlalchemy.orm import Session

from yigongti.booking.codes import PUBLIC_CHANNELS
from yigongti.booking.models import LIVE_STATUSES
from yigongti.booking.service import refusals
from yigongti.booking.service.checks import check_channel, check_key
from yigongti.booking.service.policy import Rules
from yigongti.booking.service.pool import check_channel_code
from yigongti.booking.service.views import BookingView, view_of_row
from yigongti.kernel import DomainError, now, uuid7
from yigongti.security import Actor, audit, no_active_account, roles

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

    from yigongti.booking.service.bookings import BookingRequest

log = logging.getLogger(__name__)

# The outcome, and the booking as people see it when there is one, in one round trip.
_BOOK = text(
    "SELECT o.* FROM booking_book("
    "CAST(:booking AS uuid), CAST(:user AS uuid), CAST(:self AS uuid), CAST(:resident AS uuid),"
    " CAST(:session AS uuid), CAST(:channel AS text), CAST(:public AS boolean),"
    " CAST(:slice_start AS timestamptz), CAST(:key AS text), CAST(:confirm AS boolean),"
    " CAST(:expected_fee AS integer), CAST(:referred_by AS uuid), CAST(:rebooked_from AS uuid),"
    " CAST(:moment AS timestamptz), CAST(:defaults AS integer[]), CAST(:actor_name AS text),"
    " CAST(:actor_role AS text), CAST(:client AS text)) AS o"
)

_DEFAULTS = [
    Rules.hold_minutes,
    Rules.max_active,
    Rules.no_show_limit,
    Rules.no_show_window_days,
    Rules.suspension_days,
]

# Outcome code -> the refusal it stands for, from the row's time (o_at) and number (o_number).
_REFUSALS: dict[str, Callable[[datetime | None, int | None], DomainError]] = {
    "no_resident": lambda at, n: refusals.no_resident(),
    "no_session": lambda at, n: refusals.no_session(),
    "key_reused": lambda at, n: refusals.key_reused(),
    "stopped": lambda at, n: refusals.stopped(),
    "over": lambda at, n: refusals.over(),
    "unreleased": lambda at, n: refusals.unreleased(at),  # type: ignore[arg-type]
    "fee_changed": lambda at, n: refusals.fee_changed(n),  # type: ignore[arg-type]
    "deceased": lambda at, n: refusals.deceased(),
    "suspended": lambda at, n: refusals.suspended(at, n),  # type: ignore[arg-type]
    "too_many": lambda at, n: refusals.too_many(n),  # type: ignore[arg-type]
    "same_day": lambda at, n: refusals.same_day(),
    "full": lambda at, n: refusals.full(),
}


def book(
    session: Session,
    actor: Actor,
    *,
    self_id: uuid.UUID | None,
    resident_id: uuid.UUID,
    session_id: uuid.UUID,
    channel: str,
    slice_start: datetime | None,
    key: str | None,
    confirm: bool,
    expected_fee_fen: int | None,
    referred_by: uuid.UUID | None,
    rebooked_from: uuid.UUID | None,
) -> Row[Any]:
    """Book in the database: the new booking (its audit entry written), or the one a retried
    idempotency key names, as a row with the columns of ``booking_view``; a refusal raises its
    :mod:`refusals` message.

    ``self_id`` is the booking resident when he books for himself or a ward (the function
    checks that the patient is one of them); ``None`` when the caller checked the patient.
    """
    row = session.execute(
        _BOOK,
        {
            "booking": uuid7(),
            "user": actor.user_id,
            "self": self_id,
            "resident": resident_id,
            "session": session_id,
            "channel": channel,
            "public": channel in PUBLIC_CHANNELS,
            "slice_start": slice_start,
            "key": key,
            "confirm": confirm,
            "expected_fee": expected_fee_fen,
            "referred_by": referred_by,
            "rebooked_from": rebooked_from,
            "moment": now(),
            "defaults": _DEFAULTS,
            "actor_name": actor.username,
            "actor_role": actor.role,
            "client": actor.client,
        },
    ).one()
    if row.o_outcome == "booked":
        audit.pending_written(session)  # the function wrote the booking's audit entry
    if row.o_outcome in ("booked", "replay"):
        return row
    raise _REFUSALS[row.o_outcome](row.o_at, row.o_number)


# --- the booking rush: one statement, on the event loop ---------------------------------

_BOOK_AS = """
SELECT o.*
  FROM booking_book_as(
    %(booking)s::uuid, %(user)s::uuid, %(client)s::text, %(allowed)s::text[],
    %(self_roles)s::text[], %(resident)s::uuid, %(session)s::uuid, %(channel)s::text,
    %(public)s::boolean, %(slice_start)s::timestamptz, %(key)s::text, %(confirm)s::boolean,
    %(expected_fee)s::integer, %(moment)s::timestamptz, %(defaults)s::integer[]) AS o
"""


# Lists go as PostgreSQL array literals (role codes are plain words): dumping a Python list
# anew for every booking cost more than the rest of the parameters together.


def _array(items: list[str] | list[int]) -> str:
    return "{" + ",".join(str(i) for i in items) + "}"


_DEFAULTS_ARRAY = _array(_DEFAULTS)
_LIVE_ARRAY = _array(list(LIVE_STATUSES))


@cache
def _allowed(channel: str) -> str:
    """The roles that may book through ``channel`` (as :func:`checks.check_channel` decides)."""
    needed = {roles.BOOKING_BOOK, roles.channel(channel)}
    if channel == "referral":
        needed.add(roles.BOOKING_REFER)
    return _array(sorted(code for code, r in roles.ROLES.items() if needed <= r.permissions))


@cache
def _self_roles() -> str:
    """The roles that book for themselves and their wards (scope ``self``)."""
    return _array(
        sorted(
            code
            for code, role in roles.ROLES.items()
            if role.scope == roles.SELF and roles.RESIDENT_READ in role.permissions
        )
    )


# A resident's account with no booking waiting and a place it could take now: what a
# ``Rehearsal`` books and rolls back.
_REHEARSAL = """
SELECT u.id AS user_id, u.resident_id, sl.session_id, sl.fee_fen
  FROM users u
  JOIN LATERAL (
    SELECT sl.session_id, sc.fee_fen FROM slots sl
      JOIN clinic_sessions cs ON cs.id = sl.session_id JOIN schedules sc ON sc.id = cs.schedule_id
     WHERE sl.booking_id IS NULL AND sl.channel = 'online' AND sl.ends_at > now()
       AND cs.status = 'open' AND cs.release_at <= now()
     LIMIT 1) sl ON true
 WHERE u.active AND u.resident_id IS NOT NULL AND u.role = ANY (%(self_roles)s::text[])
   AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.resident_id = u.resident_id
                    AND b.status = ANY (%(live)s::text[]))
 LIMIT 1
"""


# PostgreSQL plans a statement of a function afresh at each of its first five runs on a
# connection, then keeps a generic plan where one does as well: rehearsing six times leaves a
# connection as it will serve.
REHEARSALS = 6


class Rehearsal:
    """Book on each new pooled connection ``REHEARSALS`` times, each in a savepoint rolled back.

    A new PostgreSQL connection compiles ``booking_book_as`` and ``booking_book``, plans their
    statements and loads the tables' catalog entries on its first booking: 9 to 12 ms instead
    of 3 (measured serially), paid by the residents of the first second of a release when the
    pool is new (server start, reconnection, the pool's hourly renewal). Rehearsing real
    bookings pays it before the connection serves anyone; nothing stays written. The account
    and the place are looked up once and again only when they no longer book; a database
    with nothing to rehearse with is served all the same, unwarmed.

    An instance is the ``configure`` callback of the booking pool (``web.app.booking_pool``).
    """

    def __init__(self) -> None:
        self.target: tuple[uuid.UUID, uuid.UUID, uuid.UUID, int] | None = None
        self.looking = asyncio.Lock()

    async def __call__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        """Rehearse on ``connection`` (in autocommit): book ``REHEARSALS`` times, each rolled back.

        A rehearsal that fails is logged and the connection serves unwarmed: were the error
        raised, the pool would drop the connection and try again, and could end up with none.
        """
        try:
            await self._rehearse(connection)
        except psycopg.Error:
            log.warning("a booking rehearsal failed; the connection serves unwarmed", exc_info=True)

    async def _rehearse(self, connection: psycopg.AsyncConnection[Any]) -> None:
        async with connection.transaction(force_rollback=True):
            async with self.looking:
                if self.target is None:
                    wanted = {"self_roles": _self_roles(), "live": _LIVE_ARRAY}
                    cursor = await connection.execute(_REHEARSAL, wanted)
                    self.target = await cursor.fetchone()
            for _ in range(REHEARSALS):
                if self.target is None:
                    return
                async with connection.transaction(force_rollback=True):  # a savepoint
                    if await self._book(connection, *self.target) != "booked":
                        self.target = None  # booked or gone meanwhile: look again next time

    @staticmethod
    async def _book(
        connection: psycopg.AsyncConnection[Any],
        user_id: uuid.UUID,
        resident_id: uuid.UUID,
        session_id: uuid.UUID,
        fee_fen: int,
    ) -> str | None:
        """One booking as a resident's app asks for it (same statement, same parameter types)."""
        values = {
            "booking": uuid7(),
            "user": user_id,
            "client": "rehearsal",
            "allowed": _allowed("online"),
            "self_roles": _self_roles(),
            "resident": resident_id,
            "session": session_id,
            "channel": "online",
            "public": True,
            "slice_start": None,
            "key": f"rehearsal-{uuid.uuid4().hex}",
            "confirm": True,
            "expected_fee": fee_fen,
            "moment": now(),
            "defaults": _DEFAULTS_ARRAY,
        }
        cursor = await connection.execute(_BOOK_AS, values, prepare=True)
        row = await cursor.fetchone()
        return None if row is None else row[0]


async def book_at_once(
    pool: AsyncConnectionPool,
    engine: Engine,
    user_id: uuid.UUID,
    client: str | None,
    request: BookingRequest,
) -> BookingView | None:
    """Book for the account of a bearer token in one statement, its own transaction.

    The account (active, its role allowed on the channel), the patient (himself or a ward),
    the rules, the place, the booking and its audit entry: all in ``booking_book_as``, on a
    connection of ``pool`` in autocommit, from the event loop. ``None`` when the request needs
    the general path (:func:`bookings.book`): a staff account, whose scope is checked in
    Python, a patient named by ID number, a retry of a booking now waiting in a queue, or a
    pooled connection the database has ended.
    """
    check_channel_code(request.channel)
    check_key(request.idempotency_key)
    if request.resident_id is None:
        return None
    values = {
        "booking": uuid7(),
        "user": user_id,
        "client": client,
        "allowed": _allowed(request.channel),
        "self_roles": _self_roles(),
        "resident": request.resident_id,
        "session": request.session_id,
        "channel": request.channel,
        "public": request.channel in PUBLIC_CHANNELS,
        "slice_start": request.slice_start,
        "key": request.idempotency_key,
        "confirm": request.confirm,
        "expected_fee": request.expected_fee_fen,
        "moment": now(),
        "defaults": _DEFAULTS_ARRAY,
    }
    try:
        async with pool.connection() as connection:
            cursor = connection.cursor(row_factory=namedtuple_row)
            await cursor.execute(_BOOK_AS, values, prepare=True)
            row = await cursor.fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise refusals.unique_violation(str(exc)) from exc
    except psycopg.OperationalError:
        # A connection the database ended (a restart): the pool drops it and reconnects; this
        # request takes the general path, whose pool checks connections that idled.
        return None
    assert row is not None
    outcome = row.o_outcome
    if outcome == "unauthenticated":
        raise no_active_account()
    if outcome == "forbidden":
        check_channel(Actor(user_id=user_id, username="", role=row.o_role), request.channel)
    if outcome == "staff" or (outcome == "replay" and row.status == "checked_in"):
        return None
    if outcome == "booked" and not audit.wake_chainer(engine):
        await asyncio.to_thread(audit.chain_pending, engine)
    if outcome in ("booked", "replay"):
        return view_of_row(row, None)
    raise _REFUSALS[outcome](row.o_at, row.o_number)
