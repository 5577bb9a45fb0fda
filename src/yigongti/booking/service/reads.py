"""Who may see a booking, and the reads of bookings (each audited)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.booking.models import LIVE_STATUSES, Booking, ClinicSession, Slot
from yigongti.booking.service.views import BookingView, view
from yigongti.db import page
from yigongti.kernel import NotFound
from yigongti.security import Actor, audit, roles

MAX_PAGE = 200


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


@dataclass(frozen=True)
class BookingQuery:
    """Filters of a structured booking search (FHIR Appointment), combined with AND."""

    ids: tuple[uuid.UUID, ...] | None = None
    resident_id: uuid.UUID | None = None
    practitioner_id: uuid.UUID | None = None
    slot_id: uuid.UUID | None = None
    statuses: tuple[str, ...] | None = None
    starts_from: datetime | None = None  # slot start, inclusive
    starts_before: datetime | None = None  # slot start, exclusive
    idempotency_key: str | None = None  # the actor's own key
    newest_first: bool = False


def _visible(session: Session, actor: Actor) -> ColumnElement[bool]:
    """Bookings the actor may see (as ``visible_booking`` decides one by one)."""
    clauses: list[ColumnElement[bool]] = []
    if actor.user_id is not None:
        clauses.append(Booking.booked_by == actor.user_id)
    if actor.can(roles.QUEUE_RUN) and actor.institution_id is not None:
        clauses.append(Booking.institution_id == actor.institution_id)
    if actor.can(roles.RESIDENT_READ) and actor.role_def.scope != roles.WITH_REASON:
        clauses.append(Booking.resident_id.in_(registry.visible_resident_ids(session, actor)))
    return or_(*clauses) if clauses else false()


def find_bookings(
    session: Session, actor: Actor, query: BookingQuery, *, limit: int = 20, offset: int = 0
) -> tuple[int, list[BookingView]]:
    """Bookings in the actor's sight matching ``query``, by appointment time, with the total.

    The search and each booking returned are audited.
    """
    where = [_visible(session, actor)]
    if query.ids is not None:
        where.append(Booking.id.in_(query.ids))
    if query.resident_id is not None:
        where.append(Booking.resident_id == query.resident_id)
    if query.slot_id is not None:
        where.append(Booking.slot_id == query.slot_id)
    if query.statuses is not None:
        where.append(Booking.status.in_(query.statuses))
    if query.idempotency_key is not None:
        where += [
            Booking.booked_by == actor.user_id,
            Booking.idempotency_key == query.idempotency_key,
        ]
    if query.practitioner_id is not None:
        where.append(ClinicSession.practitioner_id == query.practitioner_id)
    if query.starts_from is not None:
        where.append(Slot.starts_at >= query.starts_from)
    if query.starts_before is not None:
        where.append(Slot.starts_at < query.starts_before)
    order = Slot.starts_at.desc() if query.newest_first else Slot.starts_at
    statement = (
        select(Booking)
        .join(Slot, Slot.id == Booking.slot_id)
        .join(ClinicSession, ClinicSession.id == Booking.session_id)
        .where(*where)
        .order_by(order, Booking.id)
    )
    total, rows = page(session, statement, min(limit, MAX_PAGE), offset)
    audit.record(session, actor, "search", "booking", detail=f"hits={total}")
    for row in rows:
        audit.record(session, actor, "read", "booking", row.id, person_id=row.resident_id)
    return total, [view(session, b) for b in rows]


def booking_by_key(session: Session, actor: Actor, key: str) -> BookingView | None:
    """The booking the actor made with idempotency key ``key``, if any (a retried request)."""
    if actor.user_id is None:
        return None
    found = session.scalar(
        select(Booking).where(Booking.booked_by == actor.user_id, Booking.idempotency_key == key)
    )
    if found is None:
        return None
    audit.record(session, actor, "read", "booking", found.id, person_id=found.resident_id)
    return view(session, found)
