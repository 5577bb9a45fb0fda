"""Bookings as people see them, and the order of a room's queue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.booking.models import Booking, ClinicSession, Schedule, Slot


@dataclass(frozen=True)
class BookingView:
    """A booking as its resident, his guardian or the clinic sees it."""

    id: uuid.UUID
    status: str
    resident_id: uuid.UUID
    resident_name: str
    institution_id: uuid.UUID
    institution_name: str
    department_name: str
    schedule_name: str
    resource: str
    day: date
    period: str
    number: int
    starts_at: datetime
    ends_at: datetime
    channel: str
    fee_fen: int
    hold_expires_at: datetime | None
    room: str
    preparation: str | None
    checked_in_at: datetime | None
    on_time: bool | None
    priority: int
    waiting_ahead: int | None
    created_at: datetime
    slot_id: uuid.UUID
    session_id: uuid.UUID
    schedule_id: uuid.UUID
    department_id: uuid.UUID
    department_code: str
    practitioner_id: uuid.UUID | None
    idempotency_key: str | None  # the booker's own key (his appointment number), if he gave one


def view(session: Session, booking: Booking) -> BookingView:
    """A booking with the names of where and with whom, and its place in the queue."""
    slot = session.get(Slot, booking.slot_id)
    clinic = session.get(ClinicSession, booking.session_id)
    assert slot is not None and clinic is not None
    schedule = session.get(Schedule, clinic.schedule_id)
    assert schedule is not None
    institution_name, department_name, department_code = registry.unit_names(
        session, booking.institution_id, booking.department_id
    )
    # The columns of the database's booking_view, so one constructor serves both.
    row = SimpleNamespace(
        id=booking.id,
        status=booking.status,
        resident_id=booking.resident_id,
        resident_name=registry.resident_record(session, booking.resident_id).name,
        institution_id=booking.institution_id,
        institution_name=institution_name,
        department_id=booking.department_id,
        department_name=department_name,
        department_code=department_code,
        schedule_id=schedule.id,
        schedule_name=schedule.name,
        resource=schedule.resource,
        day=booking.day,
        period=clinic.period,
        number=booking.number,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        channel=booking.channel,
        fee_fen=booking.fee_fen,
        held_until=slot.held_until,
        room=booking.room or schedule.room,
        preparation=schedule.preparation,
        checked_in_at=booking.checked_in_at,
        on_time=booking.on_time,
        priority=booking.priority,
        created_at=booking.created_at,
        slot_id=booking.slot_id,
        session_id=booking.session_id,
        practitioner_id=clinic.practitioner_id,
        idempotency_key=booking.idempotency_key,
    )
    return view_of_row(row, waiting_ahead(session, booking))


def view_of_row(row: Any, waiting: int | None) -> BookingView:
    """A booking from a row with the columns of ``booking_view`` (on PostgreSQL the answer of
    ``booking_book``), or :func:`view`'s copy of them, and the number waiting before it
    (:func:`waiting_ahead`)."""
    return BookingView(
        id=row.id,
        status=row.status,
        resident_id=row.resident_id,
        resident_name=row.resident_name,
        institution_id=row.institution_id,
        institution_name=row.institution_name,
        department_name=row.department_name,
        schedule_name=row.schedule_name,
        resource=row.resource,
        day=row.day,
        period=row.period,
        number=row.number,
        starts_at=_utc(row.starts_at),
        ends_at=_utc(row.ends_at),
        channel=row.channel,
        fee_fen=row.fee_fen,
        hold_expires_at=_utc(row.held_until) if row.status == "held" else None,
        room=row.room,
        preparation=row.preparation,
        checked_in_at=_utc(row.checked_in_at),
        on_time=row.on_time,
        priority=row.priority,
        waiting_ahead=waiting,
        created_at=_utc(row.created_at),
        slot_id=row.slot_id,
        session_id=row.session_id,
        schedule_id=row.schedule_id,
        department_id=row.department_id,
        department_code=row.department_code,
        practitioner_id=row.practitioner_id,
        idempotency_key=row.idempotency_key,
    )


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def in_room(institution_id: uuid.UUID, room: str, day: date) -> ColumnElement[bool]:
    """Bookings of one room's queue on one day."""
    return and_(Booking.institution_id == institution_id, Booking.room == room, Booking.day == day)


QUEUE_ORDER = (Booking.priority.desc(), Booking.queued_at, Booking.number)


def ahead_of(booking: Booking | Any) -> ColumnElement[bool]:
    """Waiting bookings that come before ``booking`` in its room's queue."""
    return and_(
        Booking.status == "checked_in",
        or_(
            Booking.priority > booking.priority,
            and_(
                Booking.priority == booking.priority,
                or_(
                    Booking.queued_at < booking.queued_at,
                    and_(Booking.queued_at == booking.queued_at, Booking.number < booking.number),
                ),
            ),
        ),
    )


def waiting_ahead(session: Session, booking: Booking | Any) -> int | None:
    """How many wait before ``booking`` (a booking or a row with its columns) in its room;
    ``None`` unless it is waiting."""
    if booking.status != "checked_in" or booking.room is None:
        return None
    return session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(in_room(booking.institution_id, booking.room, booking.day), ahead_of(booking))
    )
