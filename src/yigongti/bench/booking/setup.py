"""The rush's setup: a migrated database with a county, one schedule's released sessions, and
an account with a bearer token for every resident who may book.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, delete, func, insert, select, update

from yigongti.kernel import local, now, uuid7

BENCH_PASSWORD = "Rush-hour-0800"  # every bench account shares one hash of it
TOKEN_MINUTES = 120
FEE_FEN = 1_200
Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    """No progress report."""


@dataclass(frozen=True)
class Booker:
    """A resident with an account of his own and its bearer token."""

    resident_id: uuid.UUID
    user_id: uuid.UUID
    token: str


@dataclass(frozen=True)
class Fixture:
    """What the rush books: released sessions holding ``slots`` places, and who books them."""

    session_ids: list[uuid.UUID]
    slots: int
    fee_fen: int
    bookers: list[Booker]


def open_rush_sessions(engine: Engine, slots: int) -> list[uuid.UUID]:
    """One department clinic of a county hospital with sessions of ``slots`` online places in all.

    The schedule is published as a schedule manager would (``create_schedule``,
    ``open_sessions``, 200 places a session, from tomorrow on); surplus places of the last
    session are taken away, and every session is released now, as at 08:00 on release day.
    """
    from yigongti import booking
    from yigongti.booking.models import ClinicSession, Slot
    from yigongti.db import unit_of_work
    from yigongti.registry.models import Department, Institution
    from yigongti.security import system_actor

    with unit_of_work(engine) as session:
        hospital, department = session.execute(
            select(Institution.id, Department.id)
            .join(Department, Department.institution_id == Institution.id)
            .where(Institution.kind == "county_hospital", Institution.active.is_(True))
            .order_by(Institution.code, Department.code)
            .limit(1)
        ).one()
        schedule = booking.create_schedule(
            session,
            system_actor("bench"),
            booking.NewSchedule(
                institution_id=hospital,
                department_id=department,
                resource="clinic",
                room="Rush-1",
                fee_fen=FEE_FEN,
                name="08:00 rush",
                slice_minutes=5,
                slice_capacity=5,
                weekdays="1234567",
                periods=("morning", "afternoon"),
                quotas={"online": 100},
            ),
        )
        first = local(now()).date() + timedelta(days=1)
        days = 1
        while True:
            booking.open_sessions(session, schedule, first, first + timedelta(days=days - 1))
            have = session.scalar(
                select(func.count())
                .select_from(Slot)
                .join(ClinicSession, ClinicSession.id == Slot.session_id)
                .where(ClinicSession.schedule_id == schedule.id)
            )
            if (have or 0) >= slots:
                break
            if days > 366:
                raise ValueError(f"{slots} places do not fit in a year of sessions")
            days += 1
        sessions = session.execute(
            select(ClinicSession.id, func.count(Slot.id))
            .join(Slot, Slot.session_id == ClinicSession.id)
            .where(ClinicSession.schedule_id == schedule.id)
            .group_by(ClinicSession.id, ClinicSession.starts_at)
            .order_by(ClinicSession.starts_at)
        ).all()
        kept, left = [], slots
        for session_id, places in sessions:
            if left <= 0:
                session.execute(delete(Slot).where(Slot.session_id == session_id))
                session.execute(delete(ClinicSession).where(ClinicSession.id == session_id))
                continue
            if places > left:
                session.execute(
                    delete(Slot).where(Slot.session_id == session_id, Slot.number > left)
                )
            kept.append(session_id)
            left -= min(places, left)
        session.execute(
            update(ClinicSession)
            .where(ClinicSession.id.in_(kept))
            .values(release_at=now() - timedelta(seconds=1))
        )
    return kept


def create_bookers(engine: Engine, count: int, secret: str) -> list[Booker]:
    """A resident account for each of ``count`` living residents, with its token.

    The accounts are written in one statement and share one Argon2 hash (computed once): the
    rush never logs in, its tokens are issued here with the server's secret.
    """
    from yigongti.db import unit_of_work
    from yigongti.registry.models import Resident
    from yigongti.security.models import User
    from yigongti.security.passwords import hash_password
    from yigongti.security.tokens import issue_token

    password_hash = hash_password(BENCH_PASSWORD)
    with unit_of_work(engine) as session:
        residents = list(
            session.scalars(
                select(Resident.id)
                .where(Resident.deceased_on.is_(None))
                .order_by(Resident.id)
                .limit(count)
            )
        )
        moment = now()
        rows = [
            {
                "id": uuid7(),
                "username": f"rush-{n:06d}",
                "display_name": f"Rush {n}",
                "password_hash": password_hash,
                "role": "resident",
                "resident_id": resident_id,
                "active": True,
                "failed_logins": 0,
                "created_at": moment,
            }
            for n, resident_id in enumerate(residents)
        ]
        if rows:
            session.execute(insert(User), rows)
    return [
        Booker(row["resident_id"], row["id"], issue_token(row["id"], secret, TOKEN_MINUTES))
        for row in rows
    ]


def prepare(
    engine: Engine,
    slots: int,
    secret: str,
    *,
    residents: int | None = None,
    progress: Progress = _quiet,
) -> Fixture:
    """Migrate an empty database, build a county into it, open the sessions, make the bookers."""
    from yigongti.db.migrate import upgrade
    from yigongti.synth import build_county

    residents = residents or max(3 * slots, 2_000)
    progress("migrate", 0, 1)
    upgrade(engine)
    progress("migrate", 1, 1)
    build_county(engine, residents=residents, encounters=False, progress=progress)
    progress("sessions", 0, 1)
    session_ids = open_rush_sessions(engine, slots)
    progress("sessions", 1, 1)
    progress("accounts", 0, residents)
    bookers = create_bookers(engine, residents, secret)
    progress("accounts", len(bookers), residents)
    return Fixture(session_ids, slots, FEE_FEN, bookers)
