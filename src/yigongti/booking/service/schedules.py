"""Schedules, the release of their sessions and slots, and stop-clinic (停诊).

Sessions and their slots are made ahead (``open_sessions``) and become bookable at their
``release_at``; a job (``release_due``) keeps every active schedule stocked ``release_days``
ahead, so the 08:00 release is a moment in time, not a batch job racing the first booking.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.booking.codes import CHANNELS, DEFAULT_QUOTAS, EXAMS, PERIODS, RESOURCES
from yigongti.booking.models import LIVE_STATUSES, Booking, ClinicSession, Notice, Schedule, Slot
from yigongti.db import page
from yigongti.kernel import SHANGHAI, Forbidden, NotFound, invalid_field, local, now, uuid7
from yigongti.security import Actor, audit, roles

if TYPE_CHECKING:
    from yigongti.registry.models import Institution

MAX_SLICES_CAPACITY = 200  # places in one session at most
DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class NewSchedule:
    """What it takes to publish a schedule; quotas are percent of each session per channel."""

    institution_id: uuid.UUID
    department_id: uuid.UUID
    resource: str
    room: str
    fee_fen: int
    practitioner_id: uuid.UUID | None = None
    name: str | None = None
    slice_minutes: int = 15
    slice_capacity: int = 4
    weekdays: str = "12345"
    periods: tuple[str, ...] = ("morning", "afternoon")
    release_days: int = 7
    release_minute: int = 8 * 60
    quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    referral_release_hours: int = 24
    preparation: str | None = None


def _require_manager(actor: Actor, institution_id: uuid.UUID) -> None:
    """Schedule managers act for their own institution; a county-wide role for all."""
    actor.require(roles.SCHEDULE_MANAGE)
    if actor.role_def.scope != roles.COUNTY and actor.institution_id != institution_id:
        raise Forbidden(
            en="You manage the schedules of your own institution only",
            zh="只能管理本机构的排班",
        )


def _check_new(session: Session, new: NewSchedule) -> None:
    institution = registry.get_institution(session, new.institution_id)
    if new.department_id not in {d.id for d in institution.departments}:
        raise invalid_field(
            "department_id", "No such department at this institution", "该机构无此科室"
        )
    if new.resource not in RESOURCES:
        raise invalid_field(
            "resource", f"Unknown resource {new.resource!r}", f"未知的号源类型：{new.resource}"
        )
    if new.resource == "doctor" and new.practitioner_id is None:
        raise invalid_field(
            "practitioner_id", "A doctor's schedule names the doctor", "医生号须指定医生"
        )
    if new.practitioner_id is not None:
        doctor = registry.get_practitioner(session, new.practitioner_id)
        if doctor.institution_id != new.institution_id or not doctor.active:
            raise invalid_field(
                "practitioner_id",
                "The doctor does not work at this institution",
                "该医生不在本机构执业",
            )
    if (
        not new.weekdays
        or set(new.weekdays) - set("1234567")
        or len(set(new.weekdays)) != len(new.weekdays)
    ):
        raise invalid_field(
            "weekdays",
            "Weekdays are digits 1 (Monday) to 7 (Sunday)",
            "出诊星期为 1（周一）到 7（周日）的数字",
        )
    if not new.periods or set(new.periods) - set(PERIODS):
        raise invalid_field(
            "periods", "Periods are morning, afternoon or night", "时段为上午、下午或夜间"
        )
    if not 5 <= new.slice_minutes <= 120:
        raise invalid_field(
            "slice_minutes", "A time slice is 5 to 120 minutes", "分时段长度应为 5 到 120 分钟"
        )
    if not 1 <= new.slice_capacity <= 50:
        raise invalid_field(
            "slice_capacity", "A slice holds 1 to 50 places", "每个时段号源数应为 1 到 50"
        )
    if not 0 <= new.fee_fen <= 1_000_000:
        raise invalid_field(
            "fee_fen", "The fee is 0 to 10,000 yuan", "挂号费应在 0 到 10000 元之间"
        )
    if not 1 <= new.release_days <= 30:
        raise invalid_field("release_days", "Release 1 to 30 days ahead", "放号天数应为 1 到 30 天")
    if not 0 <= new.release_minute < DAY_MINUTES:
        raise invalid_field(
            "release_minute", "Release time is within the day", "放号时间应在当天之内"
        )
    if not 0 <= new.referral_release_hours <= 7 * 24:
        raise invalid_field(
            "referral_release_hours",
            "Referral slots are released 0 to 168 hours before",
            "转诊预留号应在开诊前 0 到 168 小时释放",
        )
    unknown = set(new.quotas) - set(CHANNELS)
    if (
        unknown
        or any(not 0 <= v <= 100 for v in new.quotas.values())
        or sum(new.quotas.values()) != 100
    ):
        raise invalid_field(
            "quotas",
            "Channel quotas are known channels in percent adding up to 100",
            "各渠道配额为百分比，合计应为 100",
        )
    if not new.room.strip() or len(new.room) > 30:
        raise invalid_field(
            "room", "Name the room (up to 30 characters)", "请填写诊室（不超过 30 字）"
        )


def create_schedule(session: Session, actor: Actor, new: NewSchedule) -> Schedule:
    """Publish a schedule after checking it; it gets sessions when ``open_sessions`` runs."""
    _require_manager(actor, new.institution_id)
    _check_new(session, new)
    name = new.name
    if not name:
        doctor = new.practitioner_id and registry.get_practitioner(session, new.practitioner_id)
        department = next(
            d
            for d in registry.get_institution(session, new.institution_id).departments
            if d.id == new.department_id
        )
        name = doctor.name if doctor else department.name
        if new.resource in EXAMS or new.resource == "vaccination":
            name = RESOURCES[new.resource][0]
    schedule = Schedule(
        institution_id=new.institution_id,
        department_id=new.department_id,
        practitioner_id=new.practitioner_id,
        resource=new.resource,
        name=name[:60],
        room=new.room.strip(),
        fee_fen=new.fee_fen,
        slice_minutes=new.slice_minutes,
        slice_capacity=new.slice_capacity,
        weekdays=new.weekdays,
        periods=",".join(new.periods),
        release_days=new.release_days,
        release_minute=new.release_minute,
        quotas=dict(new.quotas),
        referral_release_hours=new.referral_release_hours,
        preparation=new.preparation,
        active=True,
    )
    session.add(schedule)
    session.flush()
    audit.record(session, actor, "create", "schedule", schedule.id)
    return schedule


def get_schedule(session: Session, schedule_id: uuid.UUID) -> Schedule:
    """One schedule; ``NotFound`` if there is none."""
    found = session.get(Schedule, schedule_id)
    if found is None:
        raise NotFound(en="No such schedule", zh="排班不存在")
    return found


def list_schedules(session: Session, institution_id: uuid.UUID) -> list[Schedule]:
    """An institution's schedules, active first, by department and name."""
    return list(
        session.scalars(
            select(Schedule)
            .where(Schedule.institution_id == institution_id)
            .order_by(Schedule.active.desc(), Schedule.department_id, Schedule.name)
        )
    )


@dataclass(frozen=True)
class ScheduleQuery:
    """Filters of a structured schedule search (FHIR Schedule), combined with AND.

    ``actor_id`` matches the schedule's doctor or its department; ``day_from``/``day_to``
    keep schedules with a clinic session on those days (both inclusive).
    """

    ids: tuple[uuid.UUID, ...] | None = None
    actor_id: uuid.UUID | None = None
    institution_id: uuid.UUID | None = None
    department_ids: tuple[uuid.UUID, ...] | None = None
    active: bool | None = None
    day_from: date | None = None
    day_to: date | None = None


def find_schedules(
    session: Session, query: ScheduleQuery, *, limit: int = 20, offset: int = 0
) -> tuple[int, list[Schedule]]:
    """Schedules matching ``query`` by name, with the total (public, like the slot pool)."""
    where = []
    if query.ids is not None:
        where.append(Schedule.id.in_(query.ids))
    if query.actor_id is not None:
        where.append(
            or_(
                Schedule.practitioner_id == query.actor_id,
                Schedule.department_id == query.actor_id,
            )
        )
    if query.institution_id is not None:
        where.append(Schedule.institution_id == query.institution_id)
    if query.department_ids is not None:
        where.append(Schedule.department_id.in_(query.department_ids))
    if query.active is not None:
        where.append(Schedule.active.is_(query.active))
    if query.day_from is not None or query.day_to is not None:
        sessions = select(ClinicSession.id).where(ClinicSession.schedule_id == Schedule.id)
        if query.day_from is not None:
            sessions = sessions.where(ClinicSession.day >= query.day_from)
        if query.day_to is not None:
            sessions = sessions.where(ClinicSession.day <= query.day_to)
        where.append(sessions.exists())
    statement = select(Schedule).where(*where).order_by(Schedule.name, Schedule.id)
    return page(session, statement, min(limit, 200), offset)


def managed_institutions(session: Session, actor: Actor) -> list[Institution]:
    """Institutions whose schedules the actor manages: his own, or all for a county-wide role."""
    actor.require(roles.SCHEDULE_MANAGE)
    if actor.role_def.scope == roles.COUNTY:
        _, institutions = registry.list_institutions(session, registry.InstitutionQuery(limit=5000))
        return institutions
    if actor.institution_id is None:
        return []
    return [registry.get_institution(session, actor.institution_id)]


def managed_schedules(session: Session, actor: Actor, institution_id: uuid.UUID) -> list[Schedule]:
    """An institution's schedules as its schedule manager sees them (``list_schedules``)."""
    _require_manager(actor, institution_id)
    registry.get_institution(session, institution_id)
    return list_schedules(session, institution_id)


def spread_channels(total: int, quotas: dict[str, int]) -> list[str]:
    """The channel of each of ``total`` places, in number order.

    Counts follow the quotas by largest remainder; places of each channel are spread evenly
    over the session, so every channel has early and late times.
    """
    shares = {c: total * p / 100 for c, p in quotas.items() if p > 0}
    counts = {c: int(s) for c, s in shares.items()}
    for c in sorted(shares, key=lambda c: shares[c] - counts[c], reverse=True)[
        : total - sum(counts.values())
    ]:
        counts[c] += 1
    given = dict.fromkeys(counts, 0)
    order = []
    for k in range(total):
        # The channel furthest behind its even pace takes the next place.
        channel = max(counts, key=lambda c: counts[c] * (k + 1) / total - given[c])
        given[channel] += 1
        order.append(channel)
    return order


def _at(day: date, minute: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(minutes=minute)


def _session_rows(schedule: Schedule, day: date, period: str) -> tuple[ClinicSession, list[Slot]]:
    _, _, start, end = PERIODS[period]
    starts = _at(day, start.hour * 60 + start.minute)
    ends = _at(day, end.hour * 60 + end.minute)
    release = _at(day - timedelta(days=schedule.release_days), schedule.release_minute)
    clinic = ClinicSession(
        id=uuid7(),
        schedule_id=schedule.id,
        institution_id=schedule.institution_id,
        department_id=schedule.department_id,
        practitioner_id=schedule.practitioner_id,
        day=day,
        period=period,
        starts_at=starts,
        ends_at=ends,
        release_at=release,
        referral_release_at=starts - timedelta(hours=schedule.referral_release_hours),
        status="open",
    )
    slices = int((ends - starts).total_seconds() // 60 // schedule.slice_minutes)
    slices = min(slices, MAX_SLICES_CAPACITY // schedule.slice_capacity)
    total = slices * schedule.slice_capacity
    channels = spread_channels(total, schedule.quotas)
    step = timedelta(minutes=schedule.slice_minutes)
    slots = [
        Slot(
            session_id=clinic.id,
            number=n + 1,
            starts_at=starts + step * (n // schedule.slice_capacity),
            ends_at=starts + step * (n // schedule.slice_capacity + 1),
            channel=channels[n],
        )
        for n in range(total)
    ]
    return clinic, slots


def open_sessions(session: Session, schedule: Schedule, first: date, last: date) -> int:
    """Make the schedule's sessions and slots for the days ``first`` to ``last``.

    Days that already have their session are left alone, so the job can run at any time.
    Returns how many sessions were made.
    """
    if not schedule.active:
        return 0
    have = set(
        session.execute(
            select(ClinicSession.day, ClinicSession.period).where(
                ClinicSession.schedule_id == schedule.id,
                ClinicSession.day >= first,
                ClinicSession.day <= last,
            )
        ).all()
    )
    made = 0
    day = first
    while day <= last:
        if str(day.isoweekday()) in schedule.weekdays:
            for period in schedule.periods.split(","):
                if (day, period) in have:
                    continue
                clinic, slots = _session_rows(schedule, day, period)
                session.add(clinic)
                session.flush()
                session.add_all(slots)
                made += 1
        day += timedelta(days=1)
    session.flush()
    return made


def publish_sessions(
    session: Session, actor: Actor, schedule_id: uuid.UUID, days: int | None = None
) -> int:
    """Make a schedule's sessions from today through ``days`` ahead (its release days by
    default), for its institution's schedule managers; returns how many were made."""
    schedule = get_schedule(session, schedule_id)
    _require_manager(actor, schedule.institution_id)
    days = schedule.release_days if days is None else days
    if not 0 <= days <= 60:
        raise invalid_field("days", "Open 0 to 60 days ahead", "可开放 0 到 60 天")
    today = local(now()).date()
    made = open_sessions(session, schedule, today, today + timedelta(days=days))
    audit.record(session, actor, "publish", "schedule", schedule.id, detail=f"sessions={made}")
    return made


def release_due(session: Session, today: date | None = None) -> int:
    """Stock every active schedule with its sessions through ``release_days`` ahead."""
    today = today or local(now()).date()
    made = 0
    for schedule in session.scalars(select(Schedule).where(Schedule.active.is_(True))):
        made += open_sessions(
            session, schedule, today, today + timedelta(days=schedule.release_days)
        )
    return made


def get_clinic_session(session: Session, session_id: uuid.UUID) -> ClinicSession:
    """One clinic session; ``NotFound`` if there is none."""
    found = session.get(ClinicSession, session_id)
    if found is None:
        raise NotFound(en="No such clinic session", zh="出诊场次不存在")
    return found


@dataclass(frozen=True)
class StopOutcome:
    """What a stop-clinic did: the session, and how many residents were told."""

    session_id: uuid.UUID
    bookings_stopped: int
    residents_notified: int


def stop_session(session: Session, actor: Actor, session_id: uuid.UUID, reason: str) -> StopOutcome:
    """Cancel a clinic session (停诊): its bookings end and every resident gets a notice.

    The notice names the session and invites the resident to rebook; his stopped booking can
    be moved to another session with ``reschedule`` without counting against him.
    """
    clinic = get_clinic_session(session, session_id)
    _require_manager(actor, clinic.institution_id)
    reason = (reason or "").strip()
    if len(reason) < 2 or len(reason) > 200:
        raise invalid_field(
            "reason",
            "State why the clinic is cancelled (2 to 200 characters)",
            "请填写停诊原因（2 到 200 字）",
        )
    if clinic.status == "stopped":
        return StopOutcome(clinic.id, 0, 0)
    if clinic.ends_at <= now():
        raise invalid_field("session_id", "This session is over", "该场次已结束")
    clinic.status, clinic.stopped_reason, clinic.stopped_at = "stopped", reason, now()
    schedule = get_schedule(session, clinic.schedule_id)
    when = f"{local(clinic.starts_at):%Y-%m-%d} {PERIODS[clinic.period][0]}"
    when_en = f"{local(clinic.starts_at):%Y-%m-%d} {PERIODS[clinic.period][1].lower()}"
    affected = list(
        session.scalars(
            select(Booking).where(
                Booking.session_id == clinic.id, Booking.status.in_(LIVE_STATUSES)
            )
        )
    )
    for booking in affected:
        booking.status, booking.ended_at = "stopped", now()
        session.add(
            Notice(
                resident_id=booking.resident_id,
                booking_id=booking.id,
                kind="clinic_stopped",
                zh=f"您预约的{schedule.name}（{when}）因{reason}停诊，请改约其他时间或医生。",
                en=f"Your booking with {schedule.name} ({when_en}) is cancelled: {reason}. "
                "Please rebook another time or doctor.",
            )
        )
        audit.record(session, actor, "stop", "booking", booking.id, person_id=booking.resident_id)
    session.execute(
        update(Slot).where(Slot.session_id == clinic.id).values(booking_id=None, held_until=None)
    )
    session.flush()
    audit.record(session, actor, "stop", "clinic_session", clinic.id, reason=reason)
    return StopOutcome(clinic.id, len(affected), len({b.resident_id for b in affected}))
