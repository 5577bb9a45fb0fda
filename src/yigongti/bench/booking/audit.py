"""The audit after a rush: oversold sessions, double-booked slots, answered bookings lost."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, or_, select


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
