"""Helpers of the synthetic-county tests: a built county and fingerprints of what it holds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select

from yigongti.booking.models import Booking, ClinicSession, Schedule, Slot
from yigongti.kernel import age_on
from yigongti.registry.models import Resident
from yigongti.synth import CountySummary

YEAR = 2025
JAN_1 = date(YEAR, 1, 1)  # ages in the tests are full years on this day


@dataclass(frozen=True)
class Built:
    """A county built into its own database."""

    engine: Engine
    summary: CountySummary


Builder = Callable[..., Built]


def resident_fingerprint(engine: Engine) -> str:
    """A hash of every resident's id, ID number, name and birth date, in id order."""
    digest = hashlib.sha256()
    query = select(Resident.id, Resident.id_number, Resident.name, Resident.birth_date)
    with engine.connect() as connection:
        for row in connection.execute(query.order_by(Resident.id)):
            digest.update("|".join(str(value) for value in row).encode())
    return digest.hexdigest()


def age(birth: date) -> int:
    """Full years of age on the first day of the built year."""
    return age_on(birth, JAN_1)


def booking_fingerprint(engine: Engine) -> str:
    """A hash of every schedule, session, slot and booking, each table in id order.

    Read through the ORM, so the same county gives the same hash on SQLite and PostgreSQL.
    """
    digest = hashlib.sha256()
    queries = (
        select(Schedule.id, Schedule.room, Schedule.slice_capacity, Schedule.quotas),
        select(ClinicSession.id, ClinicSession.schedule_id, ClinicSession.starts_at),
        select(Slot.id, Slot.session_id, Slot.number, Slot.channel, Slot.booking_id),
        select(
            Booking.id,
            Booking.slot_id,
            Booking.resident_id,
            Booking.status,
            Booking.channel,
            Booking.created_at,
            Booking.checked_in_at,
            Booking.on_time,
            Booking.called_at,
            Booking.referred_by,
        ),
    )
    with engine.connect() as connection:
        for query in queries:
            table = query.selected_columns[0].table
            for row in connection.execute(query.order_by(table.c.id)):
                digest.update("|".join(str(value) for value in row).encode())
    return digest.hexdigest()
