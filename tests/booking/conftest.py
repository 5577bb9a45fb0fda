"""A published schedule at the township center, and helpers that move its sessions in time.

The ``clinic`` fixture is the general practice clinic (全科) of the demo center: open every
day, morning and afternoon, 14 slices of 4 places, the default channel quotas, sessions made
today to seven days ahead. Tests book on day 2 unless they say otherwise: released, bookable,
well before the cancellation deadline, whatever the time of day the suite runs.

Time is arranged, never waited for: a session is made past, current or unreleased by writing
its times (and its slots' times) through the ORM.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from tests.support import actor, places
from yigongti import booking
from yigongti.booking.models import Booking, ClinicSession, Slot
from yigongti.db import unit_of_work
from yigongti.kernel import SHANGHAI, local, now
from yigongti.registry.models import Department, Institution, Resident
from yigongti.security import Actor
from yigongti.synth.builders import make_resident

ROOM = "全科一诊室"
FEE = 1_000
DAY = 2  # days ahead of the sessions tests book by default


@dataclass(frozen=True)
class Clinic:
    """The published schedule and its sessions by (days ahead, period)."""

    schedule_id: uuid.UUID
    institution_id: uuid.UUID
    department_id: uuid.UUID
    room: str
    today: date
    sessions: dict[tuple[int, str], uuid.UUID]

    def session(self, days: int = DAY, period: str = "morning") -> uuid.UUID:
        """The session ``days`` ahead of today in ``period``."""
        return self.sessions[(days, period)]


def department(institution: Institution, code: str) -> Department:
    """The institution's department of ``code``."""
    return next(d for d in institution.departments if d.code == code)


def today() -> date:
    """Today in the county."""
    return local(now()).date()


@pytest.fixture
def clinic(engine: Engine) -> Clinic:
    """The center's general practice clinic, published by its window clerk, a week of sessions."""
    return publish_clinic(engine)


def publish_clinic(engine: Engine) -> Clinic:
    """Publish the center's general practice clinic with sessions today to a week ahead."""
    with unit_of_work(engine) as session:
        at = places(session)
        gp = department(at.center, "02")
        schedule = booking.create_schedule(
            session,
            actor(session, "window_clerk"),
            booking.NewSchedule(
                institution_id=at.center.id,
                department_id=gp.id,
                resource="clinic",
                room=ROOM,
                fee_fen=FEE,
                weekdays="1234567",
            ),
        )
        first = today()
        booking.open_sessions(session, schedule, first, first + timedelta(days=7))
        rows = session.execute(
            select(ClinicSession.day, ClinicSession.period, ClinicSession.id).where(
                ClinicSession.schedule_id == schedule.id
            )
        ).all()
        return Clinic(
            schedule.id,
            at.center.id,
            gp.id,
            ROOM,
            first,
            {((day - first).days, period): sid for day, period, sid in rows},
        )


# --- arranging ----------------------------------------------------------------------------


def small_schedule(
    session: Session,
    manager: Actor,
    institution: Institution,
    *,
    quotas: dict[str, int],
    department_code: str = "03",
    slice_capacity: int = 1,
    slice_minutes: int = 60,
    days: int = DAY,
    room: str = "内科二诊室",
) -> uuid.UUID:
    """A schedule of few places (3 slices of a morning) with one session ``days`` ahead."""
    schedule = booking.create_schedule(
        session,
        manager,
        booking.NewSchedule(
            institution_id=institution.id,
            department_id=department(institution, department_code).id,
            resource="clinic",
            room=room,
            fee_fen=FEE,
            weekdays="1234567",
            periods=("morning",),
            slice_minutes=slice_minutes,
            slice_capacity=slice_capacity,
            quotas=quotas,
        ),
    )
    day = today() + timedelta(days=days)
    assert booking.open_sessions(session, schedule, day, day) == 1
    found = session.scalar(select(ClinicSession.id).where(ClinicSession.schedule_id == schedule.id))
    assert found is not None
    return found


def shift_session(session: Session, session_id: uuid.UUID, starts_at: datetime) -> None:
    """Move a session (and every slot of it) to begin at ``starts_at``; its day stays."""
    clinic = session.get(ClinicSession, session_id)
    assert clinic is not None
    delta = starts_at - clinic.starts_at
    clinic.starts_at, clinic.ends_at = clinic.starts_at + delta, clinic.ends_at + delta
    for slot in session.scalars(select(Slot).where(Slot.session_id == session_id)):
        slot.starts_at, slot.ends_at = slot.starts_at + delta, slot.ends_at + delta
    session.flush()


def make_past(session: Session, session_id: uuid.UUID) -> None:
    """The session ended an hour ago."""
    clinic = session.get(ClinicSession, session_id)
    assert clinic is not None
    length = clinic.ends_at - clinic.starts_at
    shift_session(session, session_id, now() - timedelta(hours=1) - length)


def make_current(session: Session, session_id: uuid.UUID) -> None:
    """The session began half an hour ago (never before local midnight) and runs on."""
    midnight = datetime.combine(today(), datetime.min.time(), tzinfo=SHANGHAI)
    shift_session(session, session_id, max(now() - timedelta(minutes=30), midnight))


def set_release(session: Session, session_id: uuid.UUID, *, released: bool) -> None:
    """Release the session now (a minute ago) or make it open for booking tomorrow."""
    clinic = session.get(ClinicSession, session_id)
    assert clinic is not None
    clinic.release_at = now() + (timedelta(minutes=-1) if released else timedelta(days=1))
    session.flush()


def set_referral_release(session: Session, session_id: uuid.UUID, *, released: bool) -> None:
    """Give the session's referral-reserved places to the public now, or keep them till later."""
    clinic = session.get(ClinicSession, session_id)
    assert clinic is not None
    clinic.referral_release_at = now() + (timedelta(minutes=-1) if released else timedelta(days=1))
    session.flush()


def set_slot_times(session: Session, booking_id: uuid.UUID, starts_at: datetime) -> None:
    """Move the booking's slot (alone) to a 15-minute slice from ``starts_at``."""
    slot_id = session.scalar(select(Booking.slot_id).where(Booking.id == booking_id))
    session.execute(
        update(Slot)
        .where(Slot.id == slot_id)
        .values(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=15))
    )
    session.flush()


def lapse(session: Session, booking_id: uuid.UUID) -> None:
    """The hold of ``booking_id`` ran out a minute ago (no job has run since)."""
    session.execute(
        update(Slot)
        .where(Slot.booking_id == booking_id)
        .values(held_until=now() - timedelta(minutes=1))
    )
    session.flush()


def neighbours(session: Session, count: int, *, birth_date: date | None = None) -> list[Resident]:
    """``count`` new residents of the demo resident's village (in the center's area)."""
    village = places(session).village
    return [
        make_resident(session, village, birth_date=birth_date or date(1980 + n % 20, 3, 1))
        for n in range(count)
    ]


def book_for(
    session: Session,
    who: Actor,
    session_id: uuid.UUID,
    resident_id: uuid.UUID,
    *,
    channel: str = "window",
    confirm: bool = True,
    key: str | None = None,
) -> booking.BookingView:
    """Book ``resident_id`` into a session through ``channel`` (confirmed unless told)."""
    return booking.book(
        session,
        who,
        booking.BookingRequest(
            session_id=session_id,
            channel=channel,
            resident_id=resident_id,
            confirm=confirm,
            idempotency_key=key,
        ),
    )


def status_of(session: Session, booking_id: uuid.UUID) -> str:
    """The stored status of a booking."""
    found = session.scalar(select(Booking.status).where(Booking.id == booking_id))
    assert found is not None
    return found


def holder_of(session: Session, booking_id: uuid.UUID) -> uuid.UUID | None:
    """The booking the slot of ``booking_id`` now names."""
    return session.scalar(
        select(Slot.booking_id)
        .join(Booking, Booking.slot_id == Slot.id)
        .where(Booking.id == booking_id)
    )


def taken_slots(session: Session, session_id: uuid.UUID) -> int:
    """Slots of the session that name a booking."""
    return (
        session.scalar(
            select(func.count()).where(Slot.session_id == session_id, Slot.booking_id.is_not(None))
        )
        or 0
    )
