"""Who may see a booking, and the reads of bookings (each audited)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.booking.models import LIVE_STATUSES, Booking
from yigongti.booking.service.views import BookingView, view
from yigongti.kernel import NotFound
from yigongti.security import Actor, audit, roles


def visible_booking(session: Session, actor: Actor, booking_id: uuid.UUID) -> Booking:
    """A booking the actor may see: his own or his ward's, one he made, or his clinic's.

    Anyone else's booking is ``NotFound``, as if it did not exist.
    """
    booking = session.get(Booking, booking_id)
    if booking is not None and _may_see(session, actor, booking):
        return booking
    raise NotFound(en="No such booking in your scope", zh="您的权限范围内无此预约")


def _may_see(session: Session, actor: Actor, booking: Booking) -> bool:
    if actor.user_id is not None and booking.booked_by == actor.user_id:
        return True
    if actor.can(roles.QUEUE_RUN) and actor.institution_id == booking.institution_id:
        return True
    if not actor.can(roles.RESIDENT_READ) or actor.role_def.scope == roles.WITH_REASON:
        return False
    try:
        registry.visible_resident(session, actor, booking.resident_id)
    except NotFound:
        return False
    return True


def get_booking(session: Session, actor: Actor, booking_id: uuid.UUID) -> BookingView:
    """One booking, with its live queue position; the read is audited."""
    booking = visible_booking(session, actor, booking_id)
    audit.record(session, actor, "read", "booking", booking.id, person_id=booking.resident_id)
    return view(session, booking)


def bookings_of(
    session: Session, actor: Actor, resident_id: uuid.UUID, *, limit: int = 20
) -> list[BookingView]:
    """A resident's bookings, upcoming and live first, then the most recent others."""
    resident = registry.visible_resident(session, actor, resident_id)
    rows = session.scalars(
        select(Booking)
        .where(Booking.resident_id == resident.id)
        .order_by(Booking.status.in_(LIVE_STATUSES).desc(), Booking.day.desc(), Booking.number)
        .limit(min(limit, 100))
    ).all()
    audit.record(session, actor, "read", "booking", person_id=resident.id)
    return [view(session, b) for b in rows]
