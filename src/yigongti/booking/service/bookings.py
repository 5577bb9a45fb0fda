"""Booking a slot: hold, confirm, cancel, reschedule, and the rules every booking obeys.

Correctness under load rests on three things, all inside the database:
- taking a slot is one conditional ``UPDATE`` of the slot row (on PostgreSQL after
  ``FOR UPDATE SKIP LOCKED``, so concurrent bookers each get a different slot; SQLite
  serialises writers with ``BEGIN IMMEDIATE``);
- the resident's row is locked first, so his own limits (one per department a day, the cap,
  an idempotency key retried at once) are checked without a race;
- partial unique indexes refuse a second live booking of a slot, or of a department on one day,
  whatever the code above them does.

On PostgreSQL the steps of :func:`book` after the channel and the patient's scope run in the
database, in one call of ``booking_book`` (:mod:`in_database`); on SQLite they run here. The
booking tests run on both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from yigongti import registry
from yigongti.booking.codes import PUBLIC_CHANNELS
from yigongti.booking.models import LIVE_STATUSES, Booking, ClinicSession, Schedule, Slot
from yigongti.booking.service import in_database, refusals
from yigongti.booking.service.checks import check_channel, check_key
from yigongti.booking.service.policy import Rules, rules_for
from yigongti.booking.service.views import BookingView, view, view_of_row, waiting_ahead
from yigongti.kernel import invalid_field, now
from yigongti.security import Actor, audit, roles

if TYPE_CHECKING:
    from yigongti.registry.models import Resident

IDENTIFIED_CHANNELS = frozenset({"window", "kiosk", "phone", "external"})
SLOT_ATTEMPTS = 5


@dataclass(frozen=True)
class BookingRequest:
    """A request to book a place in a clinic session.

    The patient is named by ``resident_id`` (oneself, a ward, or a resident in the actor's
    scope) or, where an ID card is shown, by ``id_number`` and ``name``. ``slice_start`` picks a
    time slice; without it the earliest free place is taken. ``confirm`` books at once, for
    faces that showed the fee already; ``expected_fee_fen`` then guards against a changed fee.
    """

    session_id: uuid.UUID
    channel: str
    resident_id: uuid.UUID | None = None
    id_number: str | None = None
    name: str | None = None
    slice_start: datetime | None = None
    idempotency_key: str | None = None
    confirm: bool = False
    expected_fee_fen: int | None = None


# --- for whom ------------------------------------------------------------------------------


def _patient(session: Session, actor: Actor, request: BookingRequest) -> Resident:
    """The resident to book for, named and checked as the request's channel requires."""
    if request.resident_id is not None:
        # Oneself, a ward (residents), or someone in the actor's scope (staff); locked at once.
        return registry.visible_resident(session, actor, request.resident_id, lock=True)
    if not request.id_number or not request.name:
        raise invalid_field(
            "resident_id",
            "Name the patient: resident_id, or id_number and name (real-name booking)",
            "请指定就诊人：居民编号，或身份证号与姓名（实名预约）",
        )
    if request.channel not in IDENTIFIED_CHANNELS:
        raise invalid_field(
            "id_number",
            "Booking by ID number is for window, kiosk, phone and external channels; "
            "online bookings name oneself or a family member",
            "按身份证号预约仅限窗口、自助机、电话和外部平台；线上预约请选择本人或家庭成员",
        )
    resident = registry.identify_resident(session, request.id_number, request.name)
    registry.lock_resident(session, resident.id)
    return resident


# --- rules --------------------------------------------------------------------------------


def suspended_until(session: Session, resident_id: uuid.UUID, rules: Rules) -> datetime | None:
    """Until when online booking is suspended for no-shows (爽约), if it is now."""
    since = now() - timedelta(days=rules.no_show_window_days + rules.suspension_days)
    times = sorted(
        session.scalars(
            select(Booking.ended_at).where(
                Booking.resident_id == resident_id,
                Booking.status == "no_show",
                Booking.ended_at >= since,
            )
        )
    )
    window = timedelta(days=rules.no_show_window_days)
    until = None
    for first, last in zip(times, times[rules.no_show_limit - 1 :], strict=False):
        if last - first <= window:
            end = last + timedelta(days=rules.suspension_days)
            until = end if until is None or end > until else until
    return until if until is not None and until > now() else None


@dataclass(frozen=True)
class _Standing:
    """What the resident's own bookings (and the actor's key) say, counted in one query."""

    live: int
    same_day: int
    recent_no_shows: int
    lapsed_holds: int
    keyed: int


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _standing_query() -> Select[tuple[int, int, int, int, int]]:
    """The aggregate behind :func:`_standing`, built once: every booking runs it, and building
    and keying a statement this size costs more than running it."""
    mine = Booking.resident_id == bindparam("resident_id")
    # The live statuses as constants in the SQL, not a list bound anew at each execution.
    live = and_(mine, Booking.status.in_([literal_column(f"'{s}'") for s in LIVE_STATUSES]))
    same_day = and_(
        live,
        Booking.department_id == bindparam("department_id"),
        Booking.day == bindparam("day"),
    )
    # A key of None matches no row: NULL equals nothing.
    keyed = and_(
        Booking.booked_by == bindparam("user_id"), Booking.idempotency_key == bindparam("key")
    )
    no_shows = and_(mine, Booking.status == "no_show", Booking.ended_at >= bindparam("since"))
    lapsed = and_(mine, Booking.status == "held", Slot.held_until < bindparam("moment"))
    holder = and_(Slot.id == Booking.slot_id, Slot.booking_id == Booking.id)
    return (
        select(
            _count_if(live),
            _count_if(same_day),
            _count_if(no_shows),
            _count_if(lapsed),
            _count_if(keyed),
        )
        .select_from(Booking)
        .outerjoin(Slot, holder)
        .where(or_(mine, keyed))
    )


_STANDING = _standing_query()


def _standing(
    session: Session,
    actor: Actor,
    resident_id: uuid.UUID,
    clinic: ClinicSession,
    key: str | None,
    rules: Rules,
) -> _Standing:
    """The resident's live bookings, the same department that day, recent no-shows, lapsed
    holds, and whether the actor used ``key`` already: one aggregate over both their rows."""
    moment = now()
    values = {
        "resident_id": resident_id,
        "department_id": clinic.department_id,
        "day": clinic.day,
        "user_id": actor.user_id,
        "key": key,
        "since": moment - timedelta(days=rules.no_show_window_days + rules.suspension_days),
        "moment": moment,
    }
    row = session.execute(_STANDING, values).one()
    return _Standing(*(int(n) for n in row))


def _check_rules(
    session: Session,
    resident: Resident,
    clinic: ClinicSession,
    channel: str,
    rules: Rules,
    standing: _Standing,
) -> None:
    if resident.deceased_on is not None:
        raise refusals.deceased()
    if channel == "online" and standing.recent_no_shows >= rules.no_show_limit:
        until = suspended_until(session, resident.id, rules)
        if until is not None:
            raise refusals.suspended(until, rules.no_show_limit)
    if standing.live >= rules.max_active:
        raise refusals.too_many(rules.max_active)
    if standing.same_day:
        raise refusals.same_day()


def _session_and_schedule(
    session: Session, session_id: uuid.UUID
) -> tuple[ClinicSession, Schedule] | None:
    row = session.execute(
        select(ClinicSession, Schedule)
        .join(Schedule, Schedule.id == ClinicSession.schedule_id)
        .where(ClinicSession.id == session_id)
    ).first()
    return None if row is None else (row[0], row[1])


def _check_bookable(clinic: ClinicSession, schedule: Schedule, request: BookingRequest) -> None:
    moment = now()
    if clinic.status == "stopped":
        raise refusals.stopped()
    if clinic.ends_at <= moment:
        raise refusals.over()
    if clinic.release_at > moment:
        raise refusals.unreleased(clinic.release_at)
    if request.expected_fee_fen is not None and request.expected_fee_fen != schedule.fee_fen:
        raise refusals.fee_changed(schedule.fee_fen)


def _channels_to_take(clinic: ClinicSession, channel: str) -> list[str]:
    """Slot channels a booking may take: its own; public ones also take released referral slots."""
    if channel in PUBLIC_CHANNELS and clinic.referral_release_at <= now():
        return [channel, "referral"]
    return [channel]


# --- taking a slot ------------------------------------------------------------------------


def _free_slot_query(*, locked: bool, in_slice: bool) -> Select[tuple[Slot]]:
    """The earliest free place for one or two slot channels (:func:`_channels_to_take`)."""
    query = (
        select(Slot)
        .where(
            Slot.session_id == bindparam("session_id"),
            Slot.channel.in_([bindparam("channel"), bindparam("also")]),
            Slot.ends_at > bindparam("moment"),
            or_(Slot.booking_id.is_(None), Slot.held_until < bindparam("moment")),
        )
        .order_by(Slot.number)
        .limit(1)
    )
    if in_slice:
        query = query.where(Slot.starts_at == bindparam("start"))
    return query.with_for_update(skip_locked=True) if locked else query


# Built once, as _STANDING: (locked, in_slice) -> statement. PostgreSQL skips slots that
# concurrent bookers hold; SQLite's writers are serial.
_FREE_SLOT = {
    (locked, in_slice): _free_slot_query(locked=locked, in_slice=in_slice)
    for locked in (False, True)
    for in_slice in (False, True)
}


def _free_slot(
    session: Session, clinic: ClinicSession, channels: list[str], start: datetime | None
) -> Slot | None:
    locked = session.get_bind().dialect.name == "postgresql"
    values = {
        "session_id": clinic.id,
        "channel": channels[0],
        "also": channels[-1],
        "moment": now(),
        "start": start,
    }
    return session.scalar(_FREE_SLOT[locked, start is not None], values)


def _take(session: Session, booking: Booking, slot: Slot, hold_until: datetime | None) -> bool:
    """Give ``slot`` to ``booking`` if it is still free; a lapsed hold on it expires.

    The slot row is held already (``FOR UPDATE`` on PostgreSQL, the writer lock on SQLite), so
    the conditional update finds it as it was found; should it not, the booking row goes again
    and the caller may try another slot. No savepoint: a unique index can refuse the booking
    only in a race the checks before cannot see, and that ends the request
    (:func:`refusals.unique_violation`).
    """
    moment = now()
    previous = slot.booking_id
    if previous is not None:
        session.execute(
            update(Booking)
            .where(Booking.id == previous, Booking.status == "held")
            .values(status="expired", ended_at=moment)
            .execution_options(synchronize_session=False)
        )
    session.add(booking)
    try:
        session.flush()
    except IntegrityError as exc:
        raise refusals.unique_violation(str(exc.orig)) from exc
    free = or_(Slot.booking_id.is_(None), Slot.held_until < moment)
    taken = session.execute(
        update(Slot)
        .where(Slot.id == slot.id, free)
        .values(booking_id=booking.id, held_until=hold_until)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        session.delete(booking)
        session.flush()
        return False
    set_committed_value(slot, "booking_id", booking.id)
    set_committed_value(slot, "held_until", hold_until)
    return True


def by_key(session: Session, actor: Actor, key: str | None) -> Booking | None:
    """The booking the actor made with idempotency ``key``, if any."""
    if key is None or actor.user_id is None:
        return None
    return session.scalar(
        select(Booking).where(Booking.booked_by == actor.user_id, Booking.idempotency_key == key)
    )


def _replay(booking: Booking, request: BookingRequest, resident_id: uuid.UUID) -> Booking:
    if booking.session_id != request.session_id or booking.resident_id != resident_id:
        raise refusals.key_reused()
    return booking


def book(
    session: Session, actor: Actor, request: BookingRequest, *, rebooked_from: Booking | None = None
) -> BookingView:
    """Hold a place (or book it at once with ``confirm``); a retried key returns the same booking.

    Refused with a clear reason: an unknown, past, cancelled, unreleased or full session, a
    channel the actor may not use, a patient out of scope or unidentified, a second booking of
    the department that day, too many live bookings, online booking suspended for no-shows.
    """
    check_channel(actor, request.channel)
    check_key(request.idempotency_key)
    if session.get_bind().dialect.name == "postgresql":
        return _book_in_database(session, actor, request, rebooked_from)
    resident = _patient(session, actor, request)
    found = _session_and_schedule(session, request.session_id)
    if found is None:
        earlier = by_key(session, actor, request.idempotency_key)
        if earlier is not None:
            return view(session, _replay(earlier, request, resident.id))
        raise refusals.no_session()
    clinic, schedule = found
    rules = rules_for(session, clinic.institution_id)
    standing = _standing(session, actor, resident.id, clinic, request.idempotency_key, rules)
    if standing.keyed:
        earlier = by_key(session, actor, request.idempotency_key)
        assert earlier is not None
        return view(session, _replay(earlier, request, resident.id))
    _check_bookable(clinic, schedule, request)
    if standing.lapsed_holds:
        # His own lapsed holds no longer count against him, whether or not the job has run yet.
        expire_holds(session, resident.id)
        standing = _standing(session, actor, resident.id, clinic, None, rules)
    _check_rules(session, resident, clinic, request.channel, rules, standing)
    hold_until = None if request.confirm else now() + timedelta(minutes=rules.hold_minutes)
    channels = _channels_to_take(clinic, request.channel)
    for _ in range(SLOT_ATTEMPTS):
        slot = _free_slot(session, clinic, channels, request.slice_start)
        if slot is None:
            break
        booking = Booking(
            slot_id=slot.id,
            session_id=clinic.id,
            resident_id=resident.id,
            institution_id=clinic.institution_id,
            department_id=clinic.department_id,
            day=clinic.day,
            number=slot.number,
            channel=request.channel,
            status="confirmed" if request.confirm else "held",
            fee_fen=schedule.fee_fen,
            booked_by=actor.user_id,
            idempotency_key=request.idempotency_key,
            referred_by=actor.practitioner_id if request.channel == "referral" else None,
            rebooked_from=rebooked_from.id if rebooked_from else None,
            confirmed_at=now() if request.confirm else None,
            room=schedule.room,
        )
        if _take(session, booking, slot, hold_until):
            audit.record(
                session,
                actor,
                "create",
                "booking",
                booking.id,
                person_id=resident.id,
                detail=f"channel={request.channel} status={booking.status}",
            )
            return view(session, booking)
    raise refusals.full()


def _book_in_database(
    session: Session, actor: Actor, request: BookingRequest, rebooked_from: Booking | None
) -> BookingView:
    """:func:`book` on PostgreSQL: the same rules, checked by ``booking_book`` in one call."""
    self_id = None
    if request.resident_id is not None and actor.role_def.scope == roles.SELF:
        # Himself or a ward: the function checks it while it locks the patient's row.
        actor.require(roles.RESIDENT_READ)
        if actor.resident_id is None:
            raise refusals.no_resident()
        resident_id, self_id = request.resident_id, actor.resident_id
    else:
        resident_id = _patient(session, actor, request).id
    session.flush()
    try:
        row = in_database.book(
            session,
            actor,
            self_id=self_id,
            resident_id=resident_id,
            session_id=request.session_id,
            channel=request.channel,
            slice_start=request.slice_start,
            key=request.idempotency_key,
            confirm=request.confirm,
            expected_fee_fen=request.expected_fee_fen,
            referred_by=actor.practitioner_id if request.channel == "referral" else None,
            rebooked_from=rebooked_from.id if rebooked_from else None,
        )
    except IntegrityError as exc:
        raise refusals.unique_violation(str(exc.orig)) from exc
    return view_of_row(row, waiting_ahead(session, row))


def release_slot(session: Session, booking: Booking) -> None:
    """Free the slot ``booking`` holds (if it still holds it)."""
    session.execute(
        update(Slot)
        .where(Slot.id == booking.slot_id, Slot.booking_id == booking.id)
        .values(booking_id=None, held_until=None)
        .execution_options(synchronize_session=False)
    )


# --- jobs ---------------------------------------------------------------------------------


def expire_holds(session: Session, resident_id: uuid.UUID | None = None) -> int:
    """End every hold that lapsed unconfirmed (only the resident's, if named) and free its slot;
    returns how many."""
    moment = now()
    where = [Booking.status == "held", Slot.booking_id == Booking.id, Slot.held_until < moment]
    if resident_id is not None:
        where.append(Booking.resident_id == resident_id)
    lapsed = list(
        session.scalars(select(Booking).join(Slot, Slot.id == Booking.slot_id).where(*where))
    )
    for booking in lapsed:
        booking.status, booking.ended_at = "expired", moment
        release_slot(session, booking)
    session.flush()
    return len(lapsed)
