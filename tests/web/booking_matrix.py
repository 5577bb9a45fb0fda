"""The booking rows of the permission matrix, and the bookings they act on.

Every booking is of the demo resident (``home``: in every area role's scope) at the demo
township center, where the window clerk and the township doctor work. A row that changes a
booking's state gives each role that may do it a booking of its own in the right state, so the
rows do not depend on the order in which roles are tried.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.support import actor
from yigongti import booking
from yigongti.booking.models import ClinicSession, Slot
from yigongti.kernel import local, now
from yigongti.security import ROLES

if TYPE_CHECKING:
    from tests.web.test_permission_matrix import Build, Facts

QUEUE_STAFF = ("township_doctor", "window_clerk")  # run the center's queues
QUEUE_RUNNERS = (
    "village_doctor",
    "township_doctor",
    "county_doctor",
    "center_reader",
    "window_clerk",
)
BOOKERS = (
    "resident",
    "village_doctor",
    "township_doctor",
    "county_doctor",
    "window_clerk",
    "integration",
)
MANAGERS = ("window_clerk", "system_admin")
SEES_HOME = (*BOOKERS, "center_reader", "cdc_officer", "system_admin")
CHANNEL = {"resident": "online", "booking_platform": "external"}
FUTURE_DAYS = 40


def statuses(default: int, **groups: tuple[tuple[str, ...], int]) -> dict[str, int]:
    """A status per role: ``default``, and each group's own."""
    table = dict.fromkeys(ROLES, default)
    for roles, status in groups.values():
        table.update(dict.fromkeys(roles, status))
    return table


@dataclass
class BookingFacts:
    """Sessions and bookings the booking rows use."""

    sessions: list[uuid.UUID]  # future sessions of department A, one per day, for new bookings
    today: dict[str, uuid.UUID]  # department code -> today's session (running now)
    viewable: uuid.UUID
    held: uuid.UUID
    for_cancel: uuid.UUID
    checked_in: uuid.UUID
    called: uuid.UUID
    stop: uuid.UUID
    schedule: uuid.UUID
    per_role: dict[str, dict[str, uuid.UUID]] = field(default_factory=dict)

    def of(self, row: str, role: str) -> uuid.UUID:
        """The booking of ``role`` for ``row``, or the viewable one for roles refused anyway."""
        return self.per_role.get(row, {}).get(role, self.viewable)


def _running_now(session: Session, session_id: uuid.UUID) -> None:
    """Make a session of today run from an hour ago for three hours, slots included."""
    clinic = session.get(ClinicSession, session_id)
    assert clinic is not None
    start = now() - timedelta(hours=1)
    clinic.starts_at, clinic.ends_at = start, start + timedelta(hours=3)
    clinic.release_at = clinic.referral_release_at = start - timedelta(days=1)
    for slot in session.scalars(select(Slot).where(Slot.session_id == clinic.id)):
        slot.starts_at, slot.ends_at = start, start + timedelta(hours=3)
    session.flush()


def arrange(session: Session, home: uuid.UUID, center_id: uuid.UUID) -> BookingFacts:
    """Schedules at the center (one per department), their sessions, and the bookings."""
    clerk, doctor = actor(session, "window_clerk"), actor(session, "township_doctor")
    booking.set_rules(session, clerk, center_id, booking.Rules(hold_minutes=60, max_active=50))
    from yigongti import registry

    departments = registry.get_institution(session, center_id).departments
    today = local(now()).date()
    schedules = []
    for n, department in enumerate(departments):
        schedule = booking.create_schedule(
            session,
            clerk,
            booking.NewSchedule(
                institution_id=center_id,
                department_id=department.id,
                resource="clinic",
                room=f"矩阵{n + 1}室",
                fee_fen=500,
                weekdays="1234567",
                periods=("morning",),
            ),
        )
        booking.open_sessions(session, schedule, today, today + timedelta(days=FUTURE_DAYS))
        # Every session is on sale already, however far ahead.
        session.execute(
            update(ClinicSession)
            .where(ClinicSession.schedule_id == schedule.id)
            .values(release_at=now() - timedelta(days=1))
        )
        schedules.append(schedule)
    by_day = _sessions_by_day(session, schedules[0].id)
    future = [by_day[d] for d in sorted(by_day) if d > today + timedelta(days=1)]
    running = {}
    for schedule, department in zip(schedules, departments, strict=True):
        first = _sessions_by_day(session, schedule.id)[today]
        _running_now(session, first)
        running[department.code] = first
    pool = iter(future)
    today_pool = iter(running.values())

    def confirmed(sessions: Iterator[uuid.UUID], *, confirm: bool = True) -> uuid.UUID:
        request = booking.BookingRequest(
            session_id=next(sessions), channel="window", resident_id=home, confirm=confirm
        )
        return booking.book(session, clerk, request).id

    def called() -> uuid.UUID:
        made = confirmed(today_pool)
        booking.check_in(session, doctor, made, "window")
        room = booking.get_booking(session, doctor, made).room
        called_now = booking.call_next(session, doctor, room)
        assert called_now is not None and called_now.id == made
        return made

    facts = BookingFacts(
        sessions=[next(pool) for _ in range(len(ROLES) + 1)],  # and one for anonymous
        today=running,
        viewable=confirmed(pool),
        held=confirmed(pool, confirm=False),
        for_cancel=confirmed(pool),
        checked_in=confirmed(today_pool),
        called=called(),
        stop=next(pool),
        schedule=schedules[0].id,
    )
    booking.check_in(session, doctor, facts.checked_in, "window")
    facts.per_role["reschedule"] = {role: confirmed(pool) for role in BOOKERS}
    facts.per_role["reschedule_to"] = {role: next(pool) for role in (*ROLES, "anonymous")}
    for row in ("skip", "finish", "requeue"):
        facts.per_role[row] = {role: called() for role in QUEUE_STAFF}
    for made in facts.per_role["requeue"].values():
        booking.skip(session, doctor, made)
    return facts


def _sessions_by_day(session: Session, schedule_id: uuid.UUID) -> dict[date, uuid.UUID]:
    return dict(
        session.execute(
            select(ClinicSession.day, ClinicSession.id).where(
                ClinicSession.schedule_id == schedule_id
            )
        ).all()
    )


def _booking_body(f: Facts, role: str, n: int):  # type: ignore[no-untyped-def]
    from tests.web.test_permission_matrix import Call

    b = f.booking
    body: dict[str, object] = {
        "session_id": str(b.sessions[n]),
        "channel": CHANNEL.get(role, "window"),
        "confirm": True,
    }
    if role == "booking_platform":
        body.update(id_number=f.home_id_number, name=f.home_name)
    else:
        body["resident_id"] = str(f.home)
    return Call("/api/v1/bookings", json=body)


def _post(path: Callable[[Facts, str], str], json: object = None) -> Build:
    from tests.web.test_permission_matrix import Call

    return lambda f, role, n: Call(path(f, role), json=json)


def rows() -> list[tuple[str, str, Build, dict[str, int], int]]:
    """(method, route, build, expected status per role, anonymous status) of every row."""
    from tests.web.test_permission_matrix import Call, _get

    everyone = statuses(200)
    home_read = statuses(403, ok=(SEES_HOME, 200))
    seen = statuses(404, ok=(SEES_HOME, 200))
    booker = statuses(403, ok=(BOOKERS, 200), unseen=(("booking_platform",), 404))
    queue = statuses(403, ok=(QUEUE_STAFF, 200))
    runners = statuses(403, ok=(QUEUE_RUNNERS, 200))
    managers = statuses(403, ok=(MANAGERS, 200))
    b = "/api/v1/bookings"
    first = date.today().isoformat()
    return [
        ("GET", "/api/v1/slot-pool", _get("/api/v1/slot-pool", tier="township"), everyone, 401),
        (
            "GET",
            "/api/v1/clinic-sessions/{session_id}/slices",
            lambda f, role, n: Call(f"/api/v1/clinic-sessions/{f.booking.sessions[0]}/slices"),
            everyone,
            401,
        ),
        (
            "POST",
            b,
            _booking_body,
            statuses(403, ok=((*BOOKERS, "booking_platform"), 201)),
            401,
        ),
        (
            "GET",
            b + "/{booking_id}",
            lambda f, role, n: Call(f"{b}/{f.booking.viewable}"),
            seen | {"booking_platform": 404},
            401,
        ),
        (
            "POST",
            b + "/{booking_id}/confirm",
            _post(lambda f, r: f"{b}/{f.booking.held}/confirm"),
            booker,
            401,
        ),
        (
            "POST",
            b + "/{booking_id}/cancel",
            _post(lambda f, r: f"{b}/{f.booking.for_cancel}/cancel"),
            booker,
            401,
        ),
        (
            "POST",
            b + "/{booking_id}/reschedule",
            lambda f, role, n: Call(
                f"{b}/{f.booking.of('reschedule', role)}/reschedule",
                json={"session_id": str(f.booking.per_role["reschedule_to"][role])},
            ),
            statuses(403, ok=(BOOKERS, 201), unseen=(("booking_platform",), 404)),
            401,
        ),
        (
            "POST",
            b + "/{booking_id}/check-in",
            _post(lambda f, r: f"{b}/{f.booking.checked_in}/check-in", {"method": "qr"}),
            queue,
            401,
        ),
        (
            "POST",
            b + "/{booking_id}/recall",
            _post(lambda f, r: f"{b}/{f.booking.called}/recall"),
            queue,
            401,
        ),
        (
            "POST",
            b + "/{booking_id}/skip",
            _post(lambda f, r: f"{b}/{f.booking.of('skip', r)}/skip"),
            queue,
            401,
        ),
        (
            "POST",
            b + "/{booking_id}/requeue",
            _post(lambda f, r: f"{b}/{f.booking.of('requeue', r)}/requeue"),
            queue,
            401,
        ),
        (
            "POST",
            b + "/{booking_id}/finish",
            _post(lambda f, r: f"{b}/{f.booking.of('finish', r)}/finish"),
            queue,
            401,
        ),
        (
            "POST",
            b + "/{booking_id}/transfer",
            lambda f, role, n: Call(
                f"{b}/{f.booking.checked_in}/transfer", json={"room": f"转诊室{n}"}
            ),
            queue,
            401,
        ),
        (
            "GET",
            "/api/v1/residents/{resident_id}/bookings",
            _get("/api/v1/residents/{home}/bookings"),
            home_read,
            401,
        ),
        (
            "GET",
            "/api/v1/residents/{resident_id}/notices",
            _get("/api/v1/residents/{home}/notices"),
            home_read,
            401,
        ),
        ("GET", "/api/v1/queues/{room}", _get("/api/v1/queues/矩阵1室"), runners, 401),
        (
            "POST",
            "/api/v1/queues/{room}/call-next",
            _post(lambda f, r: "/api/v1/queues/无人诊室/call-next"),
            runners,
            401,
        ),
        (
            "GET",
            "/api/v1/display/{institution_id}/{room}",
            _get("/api/v1/display/{center}/矩阵1室"),
            everyone,
            200,
        ),
        (
            "POST",
            "/api/v1/schedules",
            lambda f, role, n: Call(
                "/api/v1/schedules",
                json={
                    "institution_id": str(f.center),
                    "department_id": str(f.center_department),
                    "resource": "clinic",
                    "room": f"新诊室{n}",
                    "fee_fen": 500,
                },
            ),
            statuses(403, ok=(MANAGERS, 201)),
            401,
        ),
        (
            "GET",
            "/api/v1/institutions/{institution_id}/schedules",
            _get("/api/v1/institutions/{center}/schedules"),
            everyone,
            401,
        ),
        (
            "POST",
            "/api/v1/schedules/{schedule_id}/sessions",
            lambda f, role, n: Call(f"/api/v1/schedules/{f.booking.schedule}/sessions", json={}),
            managers,
            401,
        ),
        (
            "POST",
            "/api/v1/clinic-sessions/{session_id}/stop",
            lambda f, role, n: Call(
                f"/api/v1/clinic-sessions/{f.booking.stop}/stop", json={"reason": "医生外出会诊"}
            ),
            managers,
            401,
        ),
        ("GET", "/api/v1/booking-rules", _get("/api/v1/booking-rules"), everyone, 401),
        (
            "PUT",
            "/api/v1/booking-rules",
            lambda f, role, n: Call(
                "/api/v1/booking-rules",
                json={
                    "institution_id": str(f.center),
                    "hold_minutes": 60,
                    "max_active": 50,
                    "cancel_minutes_before": 120,
                    "no_show_limit": 3,
                    "no_show_window_days": 90,
                    "suspension_days": 90,
                },
            ),
            managers,
            401,
        ),
        (
            "GET",
            "/api/v1/booking-measures",
            _get("/api/v1/booking-measures", first=first, last=first),
            statuses(403, ok=((*QUEUE_RUNNERS, "bureau_analyst", "bureau_admin"), 200)),
            401,
        ),
    ]
