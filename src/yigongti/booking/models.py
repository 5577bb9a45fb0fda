"""Tables of unified appointments: schedules, clinic sessions, slots, bookings, notices.

A *slot* (号源) is one numbered place of a time slice: a slice of capacity 4 is four slot rows.
The slot row names the booking that holds it (``booking_id``); taking a slot is one conditional
``UPDATE`` of that row, so two residents can never hold the same slot and a slice can never be
sold beyond its rows. A partial unique index on the live bookings of a slot guards the same
rule once more inside the database.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yigongti.db import Base, UTCDateTime, uuid_pk
from yigongti.kernel import now

# Statuses of a booking that still hold its slot and count against the resident's limits.
LIVE_STATUSES = ("held", "confirmed", "checked_in", "called", "skipped")
_LIVE = "status IN ('held', 'confirmed', 'checked_in', 'called', 'skipped')"
# Slots a booking may take: free, or held (a hold may lapse; a confirmation clears held_until).
_OPEN = "booking_id IS NULL OR held_until IS NOT NULL"


class BookingPolicy(Base):
    """Booking rules of an institution; the row without an institution is the county default."""

    __tablename__ = "booking_policies"

    id: Mapped[uuid.UUID] = uuid_pk()
    institution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("institutions.id"), unique=True
    )
    hold_minutes: Mapped[int] = mapped_column(Integer)
    max_active: Mapped[int] = mapped_column(Integer)
    cancel_minutes_before: Mapped[int] = mapped_column(Integer)
    no_show_limit: Mapped[int] = mapped_column(Integer)
    no_show_window_days: Mapped[int] = mapped_column(Integer)
    suspension_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class Schedule(Base):
    """What can be booked and how: a doctor, a department clinic or an exam resource.

    The weekly pattern (``weekdays`` as ISO digits, ``periods``) is turned into clinic sessions
    ``release_days`` ahead; each session opens for booking at ``release_minute`` (minutes after
    local midnight) that many days before it.
    """

    __tablename__ = "schedules"

    id: Mapped[uuid.UUID] = uuid_pk()
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), index=True)
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("practitioners.id"), index=True
    )
    resource: Mapped[str] = mapped_column(String(16))  # doctor | clinic | ct | mri | ...
    name: Mapped[str] = mapped_column(String(60))
    room: Mapped[str] = mapped_column(String(30))
    fee_fen: Mapped[int] = mapped_column(Integer)
    slice_minutes: Mapped[int] = mapped_column(Integer)
    slice_capacity: Mapped[int] = mapped_column(Integer)
    weekdays: Mapped[str] = mapped_column(String(7))  # "12345": Monday to Friday
    periods: Mapped[str] = mapped_column(String(40))  # "morning,afternoon"
    release_days: Mapped[int] = mapped_column(Integer)
    release_minute: Mapped[int] = mapped_column(Integer)  # 480 = 08:00
    quotas: Mapped[dict[str, int]] = mapped_column(JSON)  # channel -> percent of each slice
    referral_release_hours: Mapped[int] = mapped_column(Integer)
    preparation: Mapped[str | None] = mapped_column(Text)  # exam preparation instructions
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ClinicSession(Base):
    """One session (出诊) of a schedule: a morning, afternoon or night on one day."""

    __tablename__ = "clinic_sessions"
    __table_args__ = (
        UniqueConstraint("schedule_id", "day", "period"),
        Index("ix_clinic_sessions_department_day", "department_id", "day"),
        Index("ix_clinic_sessions_institution_day", "institution_id", "day"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedules.id"))
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    day: Mapped[date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(10))  # morning | afternoon | night
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    release_at: Mapped[datetime] = mapped_column(UTCDateTime)
    referral_release_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | stopped
    stopped_reason: Mapped[str | None] = mapped_column(String(200))
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Slot(Base):
    """One numbered place (号) of a time slice, reserved for one channel."""

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("session_id", "number"),
        Index("ix_slots_session_channel", "session_id", "channel"),
        # The places a booking may take (free, or held: a hold may lapse) in number order: the
        # search for the earliest stops at it instead of reading and sorting the taken ones.
        Index(
            "ix_slots_open",
            "session_id",
            "number",
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinic_sessions.id"))
    number: Mapped[int] = mapped_column(Integer)  # 就诊序号 within the session
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(10))
    # The booking that holds the slot; a hold lapses at ``held_until``, a confirmation clears it.
    booking_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("bookings.id", use_alter=True, name="fk_slot_booking")
    )
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Booking(Base):
    """A resident's booking of a slot, from hold to visit, and its place in the room's queue."""

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("booked_by", "idempotency_key"),
        Index(
            "uq_bookings_live_slot",
            "slot_id",
            unique=True,
            sqlite_where=text(_LIVE),
            postgresql_where=text(_LIVE),
        ),
        Index(
            "uq_bookings_live_department_day",
            "resident_id",
            "department_id",
            "day",
            unique=True,
            sqlite_where=text(_LIVE),
            postgresql_where=text(_LIVE),
        ),
        Index("ix_bookings_resident_status", "resident_id", "status"),
        Index("ix_bookings_queue", "institution_id", "room", "day", "status"),
        Index("ix_bookings_session", "session_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    slot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("slots.id"))
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinic_sessions.id"))
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    day: Mapped[date] = mapped_column(Date)
    number: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))
    fee_fen: Mapped[int] = mapped_column(Integer)
    booked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    referred_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    rebooked_from: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bookings.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # cancelled, expired, ...
    # Check-in and the queue of the room
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkin_method: Mapped[str | None] = mapped_column(String(8))  # qr | kiosk | window
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    room: Mapped[str | None] = mapped_column(String(30))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    priority_reason: Mapped[str | None] = mapped_column(String(16))
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notice(Base):
    """A message to a resident (clinic cancelled, booking reminder), shown on his pages."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_resident_created", "resident_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    booking_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bookings.id"))
    kind: Mapped[str] = mapped_column(String(16))  # clinic_stopped | ...
    zh: Mapped[str] = mapped_column(String(300))
    en: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
