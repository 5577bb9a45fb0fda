"""Schedules: what a valid one is, who may publish it, its sessions and slots, stop-clinic."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from tests.booking.conftest import (
    DAY,
    Clinic,
    book_for,
    department,
    make_current,
    make_past,
    neighbours,
    small_schedule,
    status_of,
    taken_slots,
)
from tests.support import actor, count_rows, last_audit, places
from yigongti import booking
from yigongti.booking.codes import CHANNELS, DEFAULT_QUOTAS
from yigongti.booking.models import Booking, ClinicSession, Notice, Schedule, Slot
from yigongti.db import unit_of_work
from yigongti.kernel import SHANGHAI, Conflict, Forbidden, Invalid, local
from yigongti.registry.models import Practitioner
from yigongti.security import system_actor

# --- publishing -----------------------------------------------------------------------------


def test_a_published_schedule_has_a_session_per_day_and_period_with_slots_by_quota(
    engine: Engine, clinic: Clinic
) -> None:
    assert len(clinic.sessions) == 16  # 8 days, morning and afternoon
    with unit_of_work(engine) as session:
        sid = clinic.session(3, "morning")
        row = session.get(ClinicSession, sid)
        assert row is not None
        assert local(row.starts_at).time().isoformat() == "08:00:00"
        assert local(row.ends_at).time().isoformat() == "11:30:00"
        released = datetime.combine(row.day - timedelta(days=7), datetime.min.time(), SHANGHAI)
        assert row.release_at == released + timedelta(hours=8)
        assert row.referral_release_at == row.starts_at - timedelta(hours=24)
        slots = session.scalars(select(Slot).where(Slot.session_id == sid)).all()
    # 210 minutes in slices of 15: 14 slices of 4 places; default quotas by largest remainder
    assert len(slots) == 56
    assert sorted(s.number for s in slots) == list(range(1, 57))
    assert Counter(s.channel for s in slots) == {
        "online": 28,
        "kiosk": 6,
        "window": 5,
        "phone": 3,
        "external": 3,
        "referral": 11,
    }
    per_slice = Counter(s.starts_at for s in slots)
    assert set(per_slice.values()) == {4}
    assert all(s.ends_at - s.starts_at == timedelta(minutes=15) for s in slots)


def _new(engine: Engine, **changes: object) -> booking.NewSchedule:
    with unit_of_work(engine) as session:
        at = places(session)
        doctor = session.scalar(
            select(Practitioner)
            .where(Practitioner.institution_id == at.center.id, Practitioner.active.is_(True))
            .order_by(Practitioner.name)
        )
        assert doctor is not None
        new = booking.NewSchedule(
            institution_id=at.center.id,
            department_id=department(at.center, "03").id,
            resource="doctor",
            practitioner_id=doctor.id,
            room="内科一诊室",
            fee_fen=1_500,
        )
    return dataclasses.replace(new, **changes)


def _lead_doctor(engine: Engine) -> object:
    with unit_of_work(engine) as session:
        return session.scalar(
            select(Practitioner.id).where(Practitioner.institution_id == places(session).lead.id)
        )


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        pytest.param("weekdays", {"weekdays": "1238"}, id="weekday-8"),
        pytest.param("weekdays", {"weekdays": ""}, id="no-weekdays"),
        pytest.param("weekdays", {"weekdays": "113"}, id="weekday-twice"),
        pytest.param("quotas", {"quotas": {"online": 60, "window": 30}}, id="quotas-90"),
        pytest.param("quotas", {"quotas": {"online": 100, "fax": 0}}, id="unknown-channel"),
        pytest.param("quotas", {"quotas": {"online": 120, "window": -20}}, id="negative-quota"),
        pytest.param("resource", {"resource": "xray"}, id="unknown-resource"),
        pytest.param("practitioner_id", {"practitioner_id": None}, id="doctor-unnamed"),
        pytest.param("periods", {"periods": ("evening",)}, id="unknown-period"),
        pytest.param("slice_minutes", {"slice_minutes": 3}, id="slice-3-minutes"),
        pytest.param("slice_capacity", {"slice_capacity": 0}, id="slice-of-nobody"),
        pytest.param("room", {"room": "  "}, id="blank-room"),
    ],
)
def test_an_invalid_schedule_is_refused_naming_the_field_and_nothing_is_written(
    engine: Engine, field: str, changes: dict[str, object]
) -> None:
    new = _new(engine, **changes)
    before = count_rows(engine, "schedules"), count_rows(engine, "audit_events")
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        booking.create_schedule(session, actor(session, "window_clerk"), new)
    assert [f.field for f in refused.value.fields] == [field]
    assert (count_rows(engine, "schedules"), count_rows(engine, "audit_events")) == before


def test_a_doctor_of_another_institution_cannot_be_scheduled(engine: Engine) -> None:
    new = _new(engine, practitioner_id=_lead_doctor(engine))
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        booking.create_schedule(session, actor(session, "window_clerk"), new)
    assert [f.field for f in refused.value.fields] == ["practitioner_id"]
    assert refused.value.zh == "该医生不在本机构执业"


def test_a_department_of_another_institution_is_refused(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        elsewhere = department(places(session).lead, "04").id
    new = _new(engine, department_id=elsewhere)
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        booking.create_schedule(session, actor(session, "window_clerk"), new)
    assert [f.field for f in refused.value.fields] == ["department_id"]


def test_a_clerk_cannot_publish_a_schedule_of_another_institution(engine: Engine) -> None:
    base = _new(engine, resource="clinic", practitioner_id=None)
    with unit_of_work(engine) as session:
        lead = places(session).lead
        new = dataclasses.replace(
            base, institution_id=lead.id, department_id=department(lead, "03").id
        )
    before = count_rows(engine, "schedules")
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        booking.create_schedule(session, actor(session, "window_clerk"), new)
    assert count_rows(engine, "schedules") == before


@pytest.mark.parametrize("role", ["township_doctor", "resident", "bureau_analyst"])
def test_roles_without_schedule_manage_cannot_publish(engine: Engine, role: str) -> None:
    new = _new(engine)
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        booking.create_schedule(session, actor(session, role), new)


def test_publishing_is_audited_and_the_doctor_names_the_schedule(engine: Engine) -> None:
    new = _new(engine)
    with unit_of_work(engine) as session:
        made = booking.create_schedule(session, actor(session, "window_clerk"), new)
        doctor = session.get(Practitioner, new.practitioner_id)
        assert doctor is not None
        assert made.name == doctor.name
        schedule_id = made.id
    with unit_of_work(engine) as session:
        row = last_audit(session)
        assert (row.action, row.object_type, row.object_id) == (
            "create",
            "schedule",
            str(schedule_id),
        )
        assert row.actor_role == "window_clerk"


# --- spreading channels over a session ------------------------------------------------------


@st.composite
def quotas(draw: st.DrawFn) -> dict[str, int]:
    """Known channels with percents adding up to 100."""
    channels = draw(st.lists(st.sampled_from(list(CHANNELS)), min_size=1, max_size=6, unique=True))
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=len(channels) - 1, max_size=5)))
    cuts = cuts[: len(channels) - 1]
    bounds = [0, *cuts, 100]
    return {c: bounds[i + 1] - bounds[i] for i, c in enumerate(channels)}


@given(total=st.integers(1, 200), quota=quotas())
def test_spread_channels_gives_each_channel_its_quota_rounded_by_largest_remainder(
    total: int, quota: dict[str, int]
) -> None:
    order = booking.spread_channels(total, quota)
    assert len(order) == total
    counts = Counter(order)
    exact = {c: total * p / 100 for c, p in quota.items()}
    # every channel gets its share rounded down or up, never a place more or less
    for channel, share in exact.items():
        assert int(share) <= counts.get(channel, 0) <= int(share) + 1
    assert set(counts) <= {c for c, p in quota.items() if p > 0}
    # and the rounding up goes to the largest remainders
    up = [c for c in exact if counts.get(c, 0) > int(exact[c])]
    down = [c for c in exact if counts.get(c, 0) == int(exact[c]) and exact[c] > int(exact[c])]
    if up and down:
        assert min(exact[c] % 1 for c in up) >= max(exact[c] % 1 for c in down)


@given(total=st.integers(1, 200), quota=quotas())
def test_spread_channels_keeps_every_channel_near_its_even_pace_through_the_session(
    total: int, quota: dict[str, int]
) -> None:
    order = booking.spread_channels(total, quota)
    counts = Counter(order)
    given_so_far: Counter[str] = Counter()
    for k, channel in enumerate(order, start=1):
        given_so_far[channel] += 1
        for c, m in counts.items():
            assert abs(given_so_far[c] - m * k / total) < 2, (c, k)


def test_spread_channels_interleaves_channels_rather_than_blocking_them() -> None:
    assert booking.spread_channels(6, {"online": 50, "window": 50}) == [
        "online",
        "window",
        "online",
        "window",
        "online",
        "window",
    ]
    order = booking.spread_channels(56, DEFAULT_QUOTAS)
    referral = [n for n, c in enumerate(order) if c == "referral"]
    assert referral[0] < 56 // 4 and referral[-1] >= 3 * 56 // 4


# --- opening sessions -----------------------------------------------------------------------


def test_opening_sessions_again_makes_nothing_new(engine: Engine, clinic: Clinic) -> None:
    def stocked() -> tuple[int, int]:
        with unit_of_work(engine) as session:
            sessions = select(ClinicSession.id).where(
                ClinicSession.schedule_id == clinic.schedule_id
            )
            return (
                session.scalar(select(func.count()).select_from(sessions.subquery())) or 0,
                session.scalar(select(func.count()).where(Slot.session_id.in_(sessions))) or 0,
            )

    before = stocked()
    with unit_of_work(engine) as session:
        schedule = session.get(Schedule, clinic.schedule_id)
        assert schedule is not None
        assert booking.open_sessions(session, schedule, clinic.today, clinic.today) == 0
        week = clinic.today + timedelta(days=7)
        assert booking.open_sessions(session, schedule, clinic.today, week) == 0
    assert stocked() == before
    with unit_of_work(engine) as session:
        schedule = session.get(Schedule, clinic.schedule_id)
        assert schedule is not None
        assert booking.open_sessions(session, schedule, clinic.today, week + timedelta(days=1)) == 2
    assert stocked() == (before[0] + 2, before[1] + 2 * 56)


def test_sessions_are_made_only_on_the_schedules_weekdays(engine: Engine) -> None:
    new = _new(engine, resource="clinic", practitioner_id=None, weekdays="135")
    with unit_of_work(engine) as session:
        schedule = booking.create_schedule(
            session,
            actor(session, "window_clerk"),
            dataclasses.replace(new, periods=("afternoon",)),
        )
        start = datetime(2030, 1, 7).date()  # a Monday
        made = booking.open_sessions(session, schedule, start, start + timedelta(days=13))
        days = session.scalars(
            select(ClinicSession.day).where(ClinicSession.schedule_id == schedule.id)
        ).all()
    assert made == 6
    assert sorted(d.isoweekday() for d in days) == [1, 1, 3, 3, 5, 5]


# --- stop-clinic ----------------------------------------------------------------------------


def _three_booked(engine: Engine, clinic: Clinic) -> dict[str, object]:
    """Two window bookings, a resident's own hold and a cancelled one in the day-2 morning."""
    sid = clinic.session()
    with unit_of_work(engine) as session:
        clerk, resident = actor(session, "window_clerk"), actor(session, "resident")
        first, second, quitter = neighbours(session, 3)
        a = book_for(session, clerk, sid, first.id)
        b = book_for(session, clerk, sid, second.id, confirm=False)
        c = book_for(session, resident, sid, places(session).resident.id, channel="online")
        gone = book_for(session, clerk, sid, quitter.id)
        booking.cancel(session, clerk, gone.id)
    return {"live": [a.id, b.id, c.id], "cancelled": gone.id, "residents": [a, b, c]}


def test_stopping_a_session_ends_every_live_booking_frees_its_slots_and_tells_each_resident(
    engine: Engine, clinic: Clinic
) -> None:
    booked = _three_booked(engine, clinic)
    sid = clinic.session()
    notices_before = count_rows(engine, "notices")
    with unit_of_work(engine) as session:
        outcome = booking.stop_session(session, actor(session, "window_clerk"), sid, "医生外出会诊")
    assert outcome == booking.StopOutcome(sid, 3, 3)
    with unit_of_work(engine) as session:
        stopped = session.get(ClinicSession, sid)
        assert stopped is not None
        assert (stopped.status, stopped.stopped_reason) == ("stopped", "医生外出会诊")
        assert [status_of(session, b) for b in booked["live"]] == ["stopped"] * 3
        assert status_of(session, booked["cancelled"]) == "cancelled"
        assert taken_slots(session, sid) == 0
        assert (
            session.scalar(
                select(func.count()).where(Slot.session_id == sid, Slot.held_until.is_not(None))
            )
            == 0
        )
        notices = session.scalars(
            select(Notice).where(Notice.booking_id.in_(booked["live"] + [booked["cancelled"]]))
        ).all()
    assert count_rows(engine, "notices") == notices_before + 3
    assert len(notices) == 3
    by_resident = Counter(n.resident_id for n in notices)
    assert by_resident == {v.resident_id: 1 for v in booked["residents"]}
    assert {n.booking_id for n in notices} == set(booked["live"])
    assert all(n.kind == "clinic_stopped" and "医生外出会诊" in n.zh for n in notices)


def test_a_resident_reads_the_stop_notice_on_his_own_page(engine: Engine, clinic: Clinic) -> None:
    _three_booked(engine, clinic)
    with unit_of_work(engine) as session:
        booking.stop_session(session, actor(session, "window_clerk"), clinic.session(), "停电检修")
    with unit_of_work(engine) as session:
        me = places(session).resident.id
        [notice] = booking.notices_of(session, actor(session, "resident"), me)
    assert notice.kind == "clinic_stopped" and not notice.read
    assert "停电检修" in notice.zh and "停电检修" in notice.en


def test_stopping_twice_tells_nobody_twice(engine: Engine, clinic: Clinic) -> None:
    _three_booked(engine, clinic)
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        booking.stop_session(session, clerk, clinic.session(), "医生外出会诊")
    before = count_rows(engine, "notices")
    with unit_of_work(engine) as session:
        again = booking.stop_session(
            session, actor(session, "window_clerk"), clinic.session(), "医生外出会诊"
        )
    assert (again.bookings_stopped, again.residents_notified) == (0, 0)
    assert count_rows(engine, "notices") == before


def test_a_stopped_session_takes_no_bookings(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        booking.stop_session(session, actor(session, "window_clerk"), clinic.session(), "设备故障")
    with pytest.raises(Conflict) as refused, unit_of_work(engine) as session:
        book_for(
            session, actor(session, "window_clerk"), clinic.session(), neighbours(session, 1)[0].id
        )
    assert "停诊" in refused.value.zh


@pytest.mark.parametrize("reason", ["", " 病", "x" * 201])
def test_a_stop_needs_a_reason(engine: Engine, clinic: Clinic, reason: str) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        booking.stop_session(session, actor(session, "window_clerk"), clinic.session(), reason)
    assert [f.field for f in refused.value.fields] == ["reason"]


def test_a_session_that_is_over_cannot_be_stopped(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        make_past(session, clinic.session())
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        booking.stop_session(session, actor(session, "window_clerk"), clinic.session(), "设备故障")
    assert [f.field for f in refused.value.fields] == ["session_id"]


def test_a_clerk_cannot_stop_another_institutions_session(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        lead_session = small_schedule(
            session, system_actor("test"), places(session).lead, quotas={"window": 100}
        )
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        booking.stop_session(session, actor(session, "window_clerk"), lead_session, "医生外出会诊")
    with unit_of_work(engine) as session:
        stored = session.get(ClinicSession, lead_session)
        assert stored is not None and stored.status == "open"


def test_a_stopped_booking_is_rescheduled_even_past_the_cancellation_deadline(
    engine: Engine, clinic: Clinic
) -> None:
    sid, later = clinic.session(), clinic.session(DAY + 1)
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        [patient] = neighbours(session, 1)
        first = book_for(session, clerk, sid, patient.id)
        make_current(session, sid)  # its slot starts within two hours: too late to cancel
    with pytest.raises(Conflict), unit_of_work(engine) as session:
        booking.reschedule(session, actor(session, "window_clerk"), first.id, later)
    with unit_of_work(engine) as session:
        booking.stop_session(session, actor(session, "window_clerk"), sid, "医生急诊手术")
    with unit_of_work(engine) as session:
        moved = booking.reschedule(session, actor(session, "window_clerk"), first.id, later)
    assert (moved.status, moved.resident_id) == ("confirmed", patient.id)
    with unit_of_work(engine) as session:
        row = session.get(Booking, moved.id)
        assert row is not None and row.rebooked_from == first.id and row.session_id == later
        assert status_of(session, first.id) == "stopped"
    with pytest.raises(Conflict) as twice, unit_of_work(engine) as session:
        booking.reschedule(
            session, actor(session, "window_clerk"), first.id, clinic.session(DAY + 2)
        )
    assert twice.value.zh == "该预约已改约"


def test_a_resident_reschedules_his_own_stopped_booking_online(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident.id
        mine = book_for(session, actor(session, "resident"), clinic.session(), me, channel="online")
        booking.stop_session(session, actor(session, "window_clerk"), clinic.session(), "医生外出")
    with unit_of_work(engine) as session:
        moved = booking.reschedule(
            session, actor(session, "resident"), mine.id, clinic.session(DAY, "afternoon")
        )
    assert (moved.status, moved.channel, moved.period) == ("confirmed", "online", "afternoon")
