"""Booking on PostgreSQL: the rules and the taking of a place in one call of ``booking_book``.

The function (migration 0009) does in the database what ``bookings.book`` does in Python on
SQLite: one round trip instead of a dozen, while the patient's and the slot's row locks are
held for the shortest time. It answers an outcome code; refusals become the same messages
(:mod:`refusals`) on both engines.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from yigongti.booking.codes import PUBLIC_CHANNELS
from yigongti.booking.service import refusals
from yigongti.booking.service.policy import Rules
from yigongti.kernel import DomainError, now, uuid7
from yigongti.security import Actor, audit

# The outcome, and the booking as people see it when there is one, in one round trip.
_BOOK = text(
    "SELECT o.o_outcome, o.o_at, o.o_number, v.* FROM booking_book("
    "CAST(:booking AS uuid), CAST(:user AS uuid), CAST(:self AS uuid), CAST(:resident AS uuid),"
    " CAST(:session AS uuid), CAST(:channel AS text), CAST(:public AS boolean),"
    " CAST(:slice_start AS timestamptz), CAST(:key AS text), CAST(:confirm AS boolean),"
    " CAST(:expected_fee AS integer), CAST(:referred_by AS uuid), CAST(:rebooked_from AS uuid),"
    " CAST(:moment AS timestamptz), CAST(:defaults AS integer[]), CAST(:actor_name AS text),"
    " CAST(:actor_role AS text), CAST(:client AS text)) AS o"
    " LEFT JOIN LATERAL booking_view(o.o_booking) AS v ON true"
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
