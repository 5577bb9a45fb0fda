"""After booking: confirm a hold, cancel, and reschedule in one step."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yigongti.booking.codes import CHANNELS
from yigongti.booking.models import Booking, Slot
from yigongti.booking.service.bookings import BookingRequest, book, by_key, release_slot
from yigongti.booking.service.policy import rules_for
from yigongti.booking.service.reads import visible_booking
from yigongti.booking.service.views import BookingView, view
from yigongti.kernel import Conflict, Forbidden, now
from yigongti.security import Actor, audit, roles


def confirm(session: Session, actor: Actor, booking_id: uuid.UUID) -> BookingView:
    """Confirm a held booking before its hold lapses; confirming twice is harmless."""
    actor.require(roles.BOOKING_BOOK)
    booking = visible_booking(session, actor, booking_id)
    if booking.status == "confirmed":
        return view(session, booking)
    if booking.status != "held":
        raise Conflict(
            en=f"A {booking.status} booking cannot be confirmed", zh="该预约状态不能确认"
        )
    kept = session.execute(
        update(Slot)
        .where(Slot.id == booking.slot_id, Slot.booking_id == booking.id, Slot.held_until >= now())
        .values(held_until=None)
        .execution_options(synchronize_session=False)
    )
    if kept.rowcount != 1:
        raise Conflict(en="The hold has lapsed; book again", zh="锁号已超时，请重新预约")
    booking.status, booking.confirmed_at = "confirmed", now()
    session.flush()
    audit.record(session, actor, "confirm", "booking", booking.id, person_id=booking.resident_id)
    return view(session, booking)


def _end(session: Session, actor: Actor, booking: Booking, *, deadline: bool = True) -> None:
    """Cancel a held or confirmed booking and free its slot, within the deadline."""
    if booking.status not in ("held", "confirmed"):
        raise Conflict(
            en=f"A booking that is {booking.status} cannot be cancelled",
            zh="该预约当前状态不能取消",
        )
    slot = session.get(Slot, booking.slot_id)
    assert slot is not None
    rules = rules_for(session, booking.institution_id)
    if deadline and slot.starts_at - timedelta(minutes=rules.cancel_minutes_before) < now():
        raise Conflict(
            en=f"Too late to cancel: cancellation closes {rules.cancel_minutes_before} minutes "
            "before the appointment",
            zh=f"已过取消时限：须在就诊时间前 {rules.cancel_minutes_before} 分钟取消",
        )
    booking.status, booking.ended_at = "cancelled", now()
    release_slot(session, booking)
    session.flush()


def cancel(session: Session, actor: Actor, booking_id: uuid.UUID) -> BookingView:
    """Cancel a booking (until the deadline) and give its place back; twice is harmless."""
    actor.require(roles.BOOKING_BOOK)
    booking = visible_booking(session, actor, booking_id)
    if booking.status != "cancelled":
        _end(session, actor, booking)
        audit.record(session, actor, "cancel", "booking", booking.id, person_id=booking.resident_id)
    return view(session, booking)


def reschedule(
    session: Session,
    actor: Actor,
    booking_id: uuid.UUID,
    session_id: uuid.UUID,
    *,
    slice_start: datetime | None = None,
    idempotency_key: str | None = None,
) -> BookingView:
    """Move a booking to another session in one step: the new place or nothing changes.

    A booking ended by stop-clinic may be moved too, without the cancellation deadline.
    """
    actor.require(roles.BOOKING_BOOK)
    booking = visible_booking(session, actor, booking_id)
    earlier = by_key(session, actor, idempotency_key)
    if earlier is not None and earlier.rebooked_from == booking.id:
        return view(session, earlier)
    if booking.status == "stopped":
        if session.scalar(select(Booking.id).where(Booking.rebooked_from == booking.id)):
            raise Conflict(en="This booking was rebooked already", zh="该预约已改约")
    else:
        _end(session, actor, booking)
    request = BookingRequest(
        session_id=session_id,
        channel=booking.channel
        if actor.can(roles.channel(booking.channel))
        else _own_channel(actor),
        resident_id=booking.resident_id,
        slice_start=slice_start,
        idempotency_key=idempotency_key,
        confirm=True,
    )
    moved = book(session, actor, request, rebooked_from=booking)
    audit.record(session, actor, "reschedule", "booking", booking.id, person_id=booking.resident_id)
    return moved


def _own_channel(actor: Actor) -> str:
    for code in CHANNELS:
        if actor.can(roles.channel(code)):
            return code
    raise Forbidden(en="Your role does not book", zh="您的角色不能预约")
