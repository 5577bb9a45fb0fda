"""Check-in (签到) and the queue of each room: call, recall, skip, requeue, transfer, finish.

A room's queue orders waiting patients by priority (aged 80+, disabled and military first,
then up-referred patients), then by their place: an on-time arrival queues at his slot's
start, a late one at his arrival, a skipped one who comes back at his return.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.booking.codes import CHECKIN_METHODS, PRIORITIES, PRIORITY_AGE
from yigongti.booking.models import Booking, ClinicSession, Slot
from yigongti.booking.service.reads import visible_booking
from yigongti.booking.service.views import QUEUE_ORDER, BookingView, in_room, view
from yigongti.kernel import Conflict, Forbidden, age_on, invalid_field, local, now
from yigongti.security import Actor, audit, roles

MAX_ROOM = 30


def _staff_booking(session: Session, actor: Actor, booking_id: uuid.UUID) -> Booking:
    """A booking at the actor's own institution, for those who run its queues."""
    actor.require(roles.QUEUE_RUN)
    booking = visible_booking(session, actor, booking_id)
    if booking.institution_id != actor.institution_id:
        raise Forbidden(
            en="Only the clinic's own staff run its queue", zh="仅本机构人员可操作其候诊队列"
        )
    return booking


def _priority(session: Session, booking: Booking, declared: str | None) -> tuple[int, str | None]:
    if declared is not None and declared not in PRIORITIES:
        raise invalid_field(
            "priority_reason", f"Unknown priority {declared!r}", f"未知的优先类别：{declared}"
        )
    resident = registry.resident_record(session, booking.resident_id)
    candidates = [declared] if declared else []
    if age_on(resident.birth_date, local(now()).date()) >= PRIORITY_AGE:
        candidates.append("aged_80")
    if booking.channel == "referral":
        candidates.append("referral")
    if not candidates:
        return 0, None
    best = max(candidates, key=lambda c: PRIORITIES[c][0])
    return PRIORITIES[best][0], best


def check_in(
    session: Session,
    actor: Actor,
    booking_id: uuid.UUID,
    method: str,
    *,
    priority_reason: str | None = None,
) -> BookingView:
    """Check a patient in on the day (QR, kiosk or window) and put him in his room's queue.

    On time means by the end of his slot; a late arrival queues behind those who came on time.
    """
    booking = _staff_booking(session, actor, booking_id)
    if method not in CHECKIN_METHODS:
        raise invalid_field(
            "method", "Check in by qr, kiosk or window", "签到方式应为扫码、自助机或窗口"
        )
    if booking.status == "checked_in":
        return view(session, booking)
    if booking.status != "confirmed":
        raise Conflict(
            en=f"A booking that is {booking.status} cannot check in", zh="该预约当前状态不能签到"
        )
    clinic = session.get(ClinicSession, booking.session_id)
    slot = session.get(Slot, booking.slot_id)
    assert clinic is not None and slot is not None
    moment = now()
    if local(moment).date() != booking.day:
        raise Conflict(en="Check in on the day of the appointment", zh="请在就诊当天签到")
    if moment > clinic.ends_at:
        raise Conflict(en="The clinic session is over", zh="该场次已结束")
    booking.priority, booking.priority_reason = _priority(session, booking, priority_reason)
    booking.status, booking.checked_in_at, booking.checkin_method = "checked_in", moment, method
    booking.on_time = moment <= slot.ends_at
    booking.queued_at = slot.starts_at if booking.on_time else moment
    session.flush()
    audit.record(session, actor, "check_in", "booking", booking.id, person_id=booking.resident_id)
    return view(session, booking)


@dataclass(frozen=True)
class QueueEntry:
    """One patient in a room's queue, as the console and the waiting-room screen list him."""

    booking_id: uuid.UUID
    number: int
    name: str  # full for the console; masked (张*明) on the public screen
    status: str
    priority: int
    priority_reason: str | None
    on_time: bool | None
    slot_start: datetime
    checked_in_at: datetime | None
    calls: int


def mask_name(name: str) -> str:
    """``张三`` -> ``张*``, ``张三丰`` -> ``张*丰``: as waiting-room screens show names."""
    if len(name) <= 2:
        return name[:1] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _entries(session: Session, rows: list[Booking], masked: bool) -> list[QueueEntry]:
    out = []
    for b in rows:
        name = registry.resident_record(session, b.resident_id).name
        slot = session.get(Slot, b.slot_id)
        assert slot is not None
        out.append(
            QueueEntry(
                b.id,
                b.number,
                mask_name(name) if masked else name,
                b.status,
                b.priority,
                b.priority_reason,
                b.on_time,
                slot.starts_at,
                b.checked_in_at,
                b.calls,
            )
        )
    return out


@dataclass(frozen=True)
class RoomQueue:
    """A room's queue today: who is called now, who waits in order, who was skipped."""

    room: str
    day: date
    called: list[QueueEntry]
    waiting: list[QueueEntry]
    skipped: list[QueueEntry]


def _room_rows(
    session: Session, institution_id: uuid.UUID, room: str, day: date, status: str
) -> list[Booking]:
    order = QUEUE_ORDER if status == "checked_in" else (Booking.called_at.desc(),)
    return list(
        session.scalars(
            select(Booking)
            .where(in_room(institution_id, room, day), Booking.status == status)
            .order_by(*order)
        )
    )


def room_queue(session: Session, actor: Actor, room: str, day: date | None = None) -> RoomQueue:
    """The queue of a room of the actor's institution, with patients' names (audited)."""
    actor.require(roles.QUEUE_RUN)
    if actor.institution_id is None:
        raise Forbidden(
            en="Queues belong to an institution", zh="候诊队列属于机构，您的账号未关联机构"
        )
    day = day or local(now()).date()
    queue = _queue(session, actor.institution_id, room, day, masked=False)
    audit.record(session, actor, "read", "queue", room, detail=f"day={day}")
    return queue


def _queue(
    session: Session, institution_id: uuid.UUID, room: str, day: date, *, masked: bool
) -> RoomQueue:
    return RoomQueue(
        room=room,
        day=day,
        called=_entries(session, _room_rows(session, institution_id, room, day, "called"), masked),
        waiting=_entries(
            session, _room_rows(session, institution_id, room, day, "checked_in"), masked
        ),
        skipped=_entries(
            session, _room_rows(session, institution_id, room, day, "skipped"), masked
        ),
    )


def waiting_room_display(session: Session, institution_id: uuid.UUID, room: str) -> RoomQueue:
    """What a waiting-room screen shows: numbers and masked names only, no login needed."""
    registry.get_institution(session, institution_id)
    return _queue(session, institution_id, room, local(now()).date(), masked=True)


def rooms_of(session: Session, actor: Actor, day: date | None = None) -> list[str]:
    """Rooms of the actor's institution that have bookings on ``day`` (today by default)."""
    actor.require(roles.QUEUE_RUN)
    day = day or local(now()).date()
    return list(
        session.scalars(
            select(Booking.room)
            .where(
                Booking.institution_id == actor.institution_id,
                Booking.day == day,
                Booking.room.is_not(None),
            )
            .distinct()
            .order_by(Booking.room)
        )
    )


def call_next(session: Session, actor: Actor, room: str) -> BookingView | None:
    """Call the first waiting patient of the room (叫号); ``None`` when nobody waits.

    The patient called before in this room, if still "called", is taken as seen.
    """
    actor.require(roles.QUEUE_RUN)
    day = local(now()).date()
    for previous in _room_rows(session, actor.institution_id, room, day, "called"):
        previous.status, previous.completed_at = "completed", now()
    query = (
        select(Booking)
        .where(in_room(actor.institution_id, room, day), Booking.status == "checked_in")
        .order_by(*QUEUE_ORDER)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    booking = session.scalar(query)
    if booking is None:
        session.flush()
        return None
    booking.status, booking.called_at, booking.calls = "called", now(), booking.calls + 1
    session.flush()
    audit.record(session, actor, "call", "booking", booking.id, person_id=booking.resident_id)
    return view(session, booking)


def _transition(
    session: Session, actor: Actor, booking_id: uuid.UUID, allowed: tuple[str, ...], action: str
) -> Booking:
    booking = _staff_booking(session, actor, booking_id)
    if booking.status not in allowed:
        raise Conflict(
            en=f"Cannot {action} a booking that is {booking.status}",
            zh="该预约当前状态不能执行此操作",
        )
    audit.record(session, actor, action, "booking", booking.id, person_id=booking.resident_id)
    return booking


def recall(session: Session, actor: Actor, booking_id: uuid.UUID) -> BookingView:
    """Call the called patient once more (重呼)."""
    booking = _transition(session, actor, booking_id, ("called",), "recall")
    booking.calls, booking.called_at = booking.calls + 1, now()
    session.flush()
    return view(session, booking)


def skip(session: Session, actor: Actor, booking_id: uuid.UUID) -> BookingView:
    """The called patient did not come (过号): he leaves the queue until he is requeued."""
    booking = _transition(session, actor, booking_id, ("called",), "skip")
    booking.status = "skipped"
    session.flush()
    return view(session, booking)


def requeue(session: Session, actor: Actor, booking_id: uuid.UUID) -> BookingView:
    """A skipped patient is back: he queues again from now, behind those waiting."""
    booking = _transition(session, actor, booking_id, ("skipped",), "requeue")
    booking.status, booking.queued_at = "checked_in", now()
    session.flush()
    return view(session, booking)


def transfer(session: Session, actor: Actor, booking_id: uuid.UUID, room: str) -> BookingView:
    """Send a waiting or called patient to another room, keeping his place in the order."""
    booking = _transition(session, actor, booking_id, ("checked_in", "called"), "transfer")
    room = (room or "").strip()
    if not room or len(room) > MAX_ROOM:
        raise invalid_field(
            "room",
            f"Name the room (up to {MAX_ROOM} characters)",
            f"请填写诊室（不超过 {MAX_ROOM} 字）",
        )
    if room == booking.room:
        raise invalid_field("room", "The patient is in this room already", "患者已在该诊室")
    booking.room, booking.status = room, "checked_in"
    session.flush()
    return view(session, booking)


def finish(session: Session, actor: Actor, booking_id: uuid.UUID) -> BookingView:
    """The called patient has been seen (就诊完成)."""
    booking = _transition(session, actor, booking_id, ("called",), "finish")
    booking.status, booking.completed_at = "completed", now()
    session.flush()
    return view(session, booking)
