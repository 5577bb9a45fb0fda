"""The county's one slot pool (号源池): search every institution's sessions at once.

Schedules and sessions are public information (who sees patients where and when), so any
logged-in user may search; no person is named and nothing is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.booking.codes import CHANNELS, PUBLIC_CHANNELS, RESOURCES
from yigongti.booking.models import ClinicSession, Schedule, Slot
from yigongti.booking.service.schedules import get_clinic_session
from yigongti.kernel import SHANGHAI, NotFound, invalid_field, local, now

MAX_DAYS = 31
MAX_RESULTS = 100


@dataclass(frozen=True)
class SlotQuery:
    """What a resident or clerk looks for; every field narrows the search."""

    department_code: str | None = None
    institution_id: uuid.UUID | None = None
    tier: str | None = None
    practitioner_id: uuid.UUID | None = None
    title: str | None = None
    resource: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    channel: str = "online"
    limit: int = 50


@dataclass(frozen=True)
class Offer:
    """A session as the pool lists it, with what is left for the searcher's channel."""

    session_id: uuid.UUID
    schedule_id: uuid.UUID
    institution_id: uuid.UUID
    institution_name: str
    tier: str
    department_code: str
    department_name: str
    schedule_name: str
    resource: str
    practitioner_id: uuid.UUID | None
    title: str | None
    room: str
    day: date
    period: str
    starts_at: datetime
    ends_at: datetime
    fee_fen: int
    status: str
    released: bool
    release_at: datetime
    available: int
    preparation: str | None


def check_channel_code(channel: str) -> None:
    """Refuse a channel code that is not one of ``codes.CHANNELS``."""
    if channel not in CHANNELS:
        raise invalid_field(
            "channel", f"Unknown booking channel {channel!r}", f"未知的预约渠道：{channel}"
        )


def _check(query: SlotQuery) -> tuple[date, date]:
    today = local(now()).date()
    first = query.day_from or today
    last = query.day_to or first + timedelta(days=7)
    if last < first:
        raise invalid_field("day_to", "The last day is before the first", "结束日期早于开始日期")
    if (last - first).days > MAX_DAYS:
        raise invalid_field(
            "day_to", f"Search at most {MAX_DAYS} days at once", f"一次最多查询 {MAX_DAYS} 天"
        )
    check_channel_code(query.channel)
    if query.resource is not None and query.resource not in RESOURCES:
        raise invalid_field(
            "resource", f"Unknown resource {query.resource!r}", f"未知的号源类型：{query.resource}"
        )
    return first, last


def free_places(channel: str, moment: datetime):
    """Condition on ``Slot`` (joined to its session): free now for a booking through ``channel``."""
    channels = or_(
        Slot.channel == channel,
        and_(
            Slot.channel == "referral",
            ClinicSession.referral_release_at <= moment,
            channel in PUBLIC_CHANNELS,
        ),
    )
    return and_(
        channels,
        Slot.ends_at > moment,
        or_(Slot.booking_id.is_(None), Slot.held_until < moment),
    )


def search_pool(session: Session, query: SlotQuery) -> list[Offer]:
    """Sessions across the county matching ``query``, soonest first, with places left."""
    first, last = _check(query)
    moment = now()
    where = [ClinicSession.day >= first, ClinicSession.day <= last, ClinicSession.ends_at > moment]
    if query.institution_id:
        where.append(ClinicSession.institution_id == query.institution_id)
    if query.practitioner_id:
        where.append(ClinicSession.practitioner_id == query.practitioner_id)
    if query.resource:
        where.append(Schedule.resource == query.resource)
    if query.department_code:
        departments = registry.department_ids(query.department_code, query.tier)
        where.append(ClinicSession.department_id.in_(departments))
    elif query.tier:
        where.append(ClinicSession.institution_id.in_(registry.institution_ids(query.tier)))
    if query.title:
        _, doctors = registry.list_practitioners(
            session, registry.PractitionerQuery(title=query.title, limit=5000)
        )
        where.append(ClinicSession.practitioner_id.in_([d.id for d in doctors]))
    left = (
        select(func.count())
        .where(Slot.session_id == ClinicSession.id, free_places(query.channel, moment))
        .correlate(ClinicSession)
        .scalar_subquery()
    )
    rows = session.execute(
        select(ClinicSession, Schedule, left)
        .join(Schedule, Schedule.id == ClinicSession.schedule_id)
        .where(*where)
        .order_by(ClinicSession.starts_at, Schedule.name)
        .limit(min(query.limit, MAX_RESULTS))
    ).all()
    return [
        _offer(session, clinic, schedule, available, moment) for clinic, schedule, available in rows
    ]


def _offer(
    session: Session, clinic: ClinicSession, schedule: Schedule, available: int, moment: datetime
) -> Offer:
    institution = registry.get_institution(session, clinic.institution_id)
    department = next(d for d in institution.departments if d.id == clinic.department_id)
    doctor = (
        registry.get_practitioner(session, clinic.practitioner_id)
        if clinic.practitioner_id
        else None
    )
    released = clinic.release_at <= moment
    return Offer(
        session_id=clinic.id,
        schedule_id=schedule.id,
        institution_id=institution.id,
        institution_name=institution.name,
        tier=institution.tier,
        department_code=department.code,
        department_name=department.name,
        schedule_name=schedule.name,
        resource=schedule.resource,
        practitioner_id=clinic.practitioner_id,
        title=doctor.title if doctor else None,
        room=schedule.room,
        day=clinic.day,
        period=clinic.period,
        starts_at=clinic.starts_at,
        ends_at=clinic.ends_at,
        fee_fen=schedule.fee_fen,
        status=clinic.status,
        released=released,
        release_at=clinic.release_at,
        available=available if released and clinic.status == "open" else 0,
        preparation=schedule.preparation,
    )


@dataclass(frozen=True)
class Slice:
    """A time slice of a session and the places it has left for a channel."""

    starts_at: datetime
    ends_at: datetime
    available: int


def slices_of(session: Session, session_id: uuid.UUID, channel: str = "online") -> list[Slice]:
    """The time slices (分时段) of a session, each with its free places for ``channel``."""
    clinic = get_clinic_session(session, session_id)
    check_channel_code(channel)
    moment = now()
    free = func.sum(case((free_places(channel, moment), 1), else_=0))
    rows = session.execute(
        select(Slot.starts_at, Slot.ends_at, free)
        .join(ClinicSession, ClinicSession.id == Slot.session_id)
        .where(Slot.session_id == clinic.id)
        .group_by(Slot.starts_at, Slot.ends_at)
        .order_by(Slot.starts_at)
    ).all()
    open_now = clinic.status == "open" and clinic.release_at <= moment
    return [Slice(s, e, int(n or 0) if open_now else 0) for s, e, n in rows]


# --- single places (one slot row each), for standards faces (FHIR Slot) --------------------

SLOT_STATES = ("free", "busy", "busy-unavailable")


@dataclass(frozen=True)
class SlotView:
    """One place of a time slice and its state now.

    ``state``: ``busy`` while a booking holds it (a hold not yet lapsed, or confirmed);
    ``busy-unavailable`` when its session is stopped (停诊) or not released yet; else ``free``.
    """

    id: uuid.UUID
    schedule_id: uuid.UUID
    session_id: uuid.UUID
    institution_id: uuid.UUID
    department_code: str
    number: int
    channel: str
    starts_at: datetime
    ends_at: datetime
    state: str
    release_at: datetime
    session_status: str  # open | stopped


@dataclass(frozen=True)
class SlotSearch:
    """Filters of a search for places; without a time range, the coming week (like the pool)."""

    ids: tuple[uuid.UUID, ...] | None = None
    schedule_id: uuid.UUID | None = None
    institution_id: uuid.UUID | None = None
    department_code: str | None = None
    channel: str | None = None
    states: tuple[str, ...] | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    latest_first: bool = False


def _slot_state(moment: datetime):
    """The ``SlotView.state`` of a slot row (joined to its session) as a SQL expression."""
    return case(
        (or_(ClinicSession.status == "stopped", ClinicSession.release_at > moment), SLOT_STATES[2]),
        (
            and_(
                Slot.booking_id.is_not(None),
                or_(Slot.held_until.is_(None), Slot.held_until >= moment),
            ),
            SLOT_STATES[1],
        ),
        else_=SLOT_STATES[0],
    )


def find_slots(
    session: Session, query: SlotSearch, *, limit: int = 20, offset: int = 0
) -> tuple[int, list[SlotView]]:
    """Places matching ``query``, by start time and number, with the total (public, unaudited)."""
    moment = now()
    state = _slot_state(moment)
    where: list = []
    if query.ids is not None:
        where.append(Slot.id.in_(query.ids))
    else:
        today = datetime.combine(local(moment).date(), time(), tzinfo=SHANGHAI)
        first = query.starts_from or today
        last = query.starts_before or first + timedelta(days=7)
        if last - first > timedelta(days=MAX_DAYS):
            raise invalid_field(
                "start", f"Search at most {MAX_DAYS} days at once", f"一次最多查询 {MAX_DAYS} 天"
            )
        where += [
            ClinicSession.day >= local(first).date(),
            ClinicSession.day <= local(last).date(),
            Slot.starts_at >= first,
            Slot.starts_at < last,
        ]
    if query.schedule_id is not None:
        where.append(ClinicSession.schedule_id == query.schedule_id)
    if query.institution_id is not None:
        where.append(ClinicSession.institution_id == query.institution_id)
    if query.department_code is not None:
        where.append(
            ClinicSession.department_id.in_(registry.department_ids(query.department_code))
        )
    if query.channel is not None:
        check_channel_code(query.channel)
        where.append(Slot.channel == query.channel)
    if query.states is not None:
        where.append(state.in_(query.states))
    statement = (
        select(Slot, ClinicSession, state)
        .join(ClinicSession, ClinicSession.id == Slot.session_id)
        .where(*where)
    )
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.execute(
        statement.order_by(
            Slot.starts_at.desc() if query.latest_first else Slot.starts_at,
            ClinicSession.id,
            Slot.number,
        )
        .limit(min(limit, MAX_RESULTS * 2))
        .offset(offset)
    ).all()
    codes = _department_codes(session, {clinic.institution_id for _, clinic, _ in rows})
    return total, [
        SlotView(
            id=slot.id,
            schedule_id=clinic.schedule_id,
            session_id=clinic.id,
            institution_id=clinic.institution_id,
            department_code=codes[clinic.department_id],
            number=slot.number,
            channel=slot.channel,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            state=slot_state,
            release_at=clinic.release_at,
            session_status=clinic.status,
        )
        for slot, clinic, slot_state in rows
    ]


def _department_codes(session: Session, institution_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {
        d.id: d.code
        for i in institution_ids
        for d in registry.get_institution(session, i).departments
    }


def get_slot(session: Session, slot_id: uuid.UUID) -> SlotView:
    """One place; ``NotFound`` if there is none."""
    _, found = find_slots(session, SlotSearch(ids=(slot_id,)), limit=1)
    if not found:
        raise NotFound(en="No such slot", zh="号源不存在")
    return found[0]
