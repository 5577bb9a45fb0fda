"""Check-in and the room's queue: who goes first, calling, skipping, transfers, the screen."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine

from tests.booking.conftest import (
    book_for,
    make_current,
    neighbours,
    set_slot_times,
    small_schedule,
    status_of,
    today,
)
from tests.support import actor, last_audit, places
from yigongti import booking
from yigongti.db import unit_of_work
from yigongti.kernel import Conflict, Forbidden, Invalid, now
from yigongti.registry.models import Resident

ROOM = "内科二诊室"


@dataclass(frozen=True)
class Waiting:
    """Four patients booked into today's session, in booking order."""

    session_id: uuid.UUID
    on_time: uuid.UUID  # aged 40, comes on time
    late: uuid.UUID  # aged 40, comes after his slot ended
    aged: uuid.UUID  # aged 85, comes on time
    military: uuid.UUID  # declares military priority at check-in
    names: dict[uuid.UUID, str]


@pytest.fixture
def today_session(engine: Engine) -> uuid.UUID:
    """A session of the center's internal medicine today, running since half an hour ago."""
    with unit_of_work(engine) as session:
        sid = small_schedule(
            session,
            actor(session, "window_clerk"),
            places(session).center,
            quotas={"window": 100},
            slice_capacity=4,
            slice_minutes=15,
            days=0,
            room=ROOM,
        )
        make_current(session, sid)
        return sid


def _book(engine: Engine, sid: uuid.UUID, birth_dates: list[date]) -> list[booking.BookingView]:
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        made = []
        for birth in birth_dates:
            [patient] = neighbours(session, 1, birth_date=birth)
            made.append(book_for(session, clerk, sid, patient.id))
        return made


@pytest.fixture
def waiting(engine: Engine, today_session: uuid.UUID) -> Waiting:
    """Four patients checked in: on time, late, aged 85, military."""
    forty = date(today().year - 40, 1, 1)
    eighty_five = date(today().year - 85, 1, 1)
    a, b, c, d = _book(engine, today_session, [forty, forty, eighty_five, forty])
    with unit_of_work(engine) as session:
        set_slot_times(session, b.id, now() - timedelta(minutes=40))
        clerk = actor(session, "window_clerk")
        booking.check_in(session, clerk, a.id, "qr")
        booking.check_in(session, clerk, b.id, "kiosk")
        booking.check_in(session, clerk, c.id, "window")
        booking.check_in(session, clerk, d.id, "window", priority_reason="military")
        names = {
            v.id: session.get(Resident, v.resident_id).name  # type: ignore[union-attr]
            for v in (a, b, c, d)
        }
    return Waiting(today_session, a.id, b.id, c.id, d.id, names)


def _queue(engine: Engine, role: str = "township_doctor", room: str = ROOM) -> booking.RoomQueue:
    with unit_of_work(engine) as session:
        return booking.room_queue(session, actor(session, role), room)


def _ids(entries: list[booking.QueueEntry]) -> list[uuid.UUID]:
    return [e.booking_id for e in entries]


def _do(engine: Engine, step, *args, role: str = "township_doctor"):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as session:
        return step(session, actor(session, role), *args)


# --- check-in and order ---------------------------------------------------------------------


def test_check_in_on_time_keeps_the_slots_place_and_a_late_one_queues_behind(
    engine: Engine, waiting: Waiting
) -> None:
    queue = _queue(engine)
    flags = {e.booking_id: e.on_time for e in queue.waiting}
    assert flags == {
        waiting.on_time: True,
        waiting.late: False,
        waiting.aged: True,
        waiting.military: True,
    }
    assert _ids(queue.waiting) == [waiting.aged, waiting.military, waiting.on_time, waiting.late]
    assert queue.called == [] and queue.skipped == []


def test_aged_80_and_declared_priorities_go_first_with_their_reason(
    engine: Engine, waiting: Waiting
) -> None:
    reasons = {e.booking_id: (e.priority, e.priority_reason) for e in _queue(engine).waiting}
    assert reasons[waiting.aged] == (2, "aged_80")
    assert reasons[waiting.military] == (2, "military")
    assert reasons[waiting.on_time] == (0, None)


def test_waiting_ahead_counts_those_before_each_patient(engine: Engine, waiting: Waiting) -> None:
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        ahead = {
            b: booking.get_booking(session, clerk, b).waiting_ahead
            for b in (waiting.aged, waiting.military, waiting.on_time, waiting.late)
        }
    assert list(ahead.values()) == [0, 1, 2, 3]
    called = _do(engine, booking.call_next, ROOM)
    assert called.id == waiting.aged and called.waiting_ahead is None
    with unit_of_work(engine) as session:
        assert (
            booking.get_booking(session, actor(session, "window_clerk"), waiting.late).waiting_ahead
            == 2
        )


def test_check_in_twice_is_harmless(engine: Engine, waiting: Waiting) -> None:
    again = _do(engine, booking.check_in, waiting.late, "qr")
    assert (again.status, again.on_time) == ("checked_in", False)


def test_check_in_is_on_the_day_of_the_appointment_only(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        sid = small_schedule(
            session, actor(session, "window_clerk"), places(session).center, quotas={"window": 100}
        )
    [later] = _book(engine, sid, [date(1980, 1, 1)])
    with pytest.raises(Conflict) as refused, unit_of_work(engine) as session:
        booking.check_in(session, actor(session, "window_clerk"), later.id, "qr")
    assert refused.value.zh == "请在就诊当天签到"


def test_a_held_booking_cannot_check_in(engine: Engine, today_session: uuid.UUID) -> None:
    with unit_of_work(engine) as session:
        [patient] = neighbours(session, 1, birth_date=date(1980, 1, 1))
        held = book_for(
            session, actor(session, "window_clerk"), today_session, patient.id, confirm=False
        )
    with pytest.raises(Conflict), unit_of_work(engine) as session:
        booking.check_in(session, actor(session, "window_clerk"), held.id, "qr")


def test_an_unknown_check_in_method_or_priority_is_invalid(
    engine: Engine, today_session: uuid.UUID
) -> None:
    [made] = _book(engine, today_session, [date(1980, 1, 1)])
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        booking.check_in(session, actor(session, "window_clerk"), made.id, "face")
    assert [f.field for f in refused.value.fields] == ["method"]
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        booking.check_in(
            session, actor(session, "window_clerk"), made.id, "qr", priority_reason="vip"
        )
    assert [f.field for f in refused.value.fields] == ["priority_reason"]


# --- calling --------------------------------------------------------------------------------


def test_call_next_calls_in_queue_order_and_takes_the_previous_patient_as_seen(
    engine: Engine, waiting: Waiting
) -> None:
    first = _do(engine, booking.call_next, ROOM)
    assert (first.id, first.status) == (waiting.aged, "called")
    assert _ids(_queue(engine).called) == [waiting.aged]
    second = _do(engine, booking.call_next, ROOM)
    assert second.id == waiting.military
    with unit_of_work(engine) as session:
        assert status_of(session, waiting.aged) == "completed"
    assert [_do(engine, booking.call_next, ROOM).id for _ in range(2)] == [
        waiting.on_time,
        waiting.late,
    ]
    assert _do(engine, booking.call_next, ROOM) is None
    with unit_of_work(engine) as session:
        assert status_of(session, waiting.late) == "completed"


def test_recall_calls_the_same_patient_again(engine: Engine, waiting: Waiting) -> None:
    _do(engine, booking.call_next, ROOM)
    _do(engine, booking.recall, waiting.aged)
    [called] = _queue(engine).called
    assert (called.booking_id, called.calls, called.status) == (waiting.aged, 2, "called")


def test_a_skipped_patient_leaves_the_queue_until_requeued_behind_those_waiting(
    engine: Engine, waiting: Waiting
) -> None:
    _do(engine, booking.call_next, ROOM)
    skipped = _do(engine, booking.skip, waiting.aged)
    assert skipped.status == "skipped"
    queue = _queue(engine)
    assert _ids(queue.skipped) == [waiting.aged]
    assert waiting.aged not in _ids(queue.waiting)
    back = _do(engine, booking.requeue, waiting.aged)
    assert back.status == "checked_in"
    # still a priority patient: he waits first among the rest, but behind the other priority
    assert _ids(_queue(engine).waiting) == [
        waiting.military,
        waiting.aged,
        waiting.on_time,
        waiting.late,
    ]


def test_finish_marks_the_called_patient_seen(engine: Engine, waiting: Waiting) -> None:
    _do(engine, booking.call_next, ROOM)
    done = _do(engine, booking.finish, waiting.aged)
    assert done.status == "completed"
    assert _queue(engine).called == []


def test_transfer_sends_a_patient_to_another_room_keeping_his_place(
    engine: Engine, waiting: Waiting
) -> None:
    _do(engine, booking.call_next, ROOM)
    moved = _do(engine, booking.transfer, waiting.aged, "内科三诊室")
    assert (moved.status, moved.room) == ("checked_in", "内科三诊室")
    assert _ids(_queue(engine, room="内科三诊室").waiting) == [waiting.aged]
    assert waiting.aged not in _ids(_queue(engine).waiting)
    assert _do(engine, booking.transfer, waiting.late, "内科三诊室").room == "内科三诊室"
    assert _ids(_queue(engine, room="内科三诊室").waiting) == [waiting.aged, waiting.late]
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        booking.transfer(session, actor(session, "township_doctor"), waiting.on_time, ROOM)
    assert [f.field for f in refused.value.fields] == ["room"]
    with unit_of_work(engine) as session:
        assert booking.rooms_of(session, actor(session, "window_clerk")) == sorted(
            [ROOM, "内科三诊室"]
        )


@pytest.mark.parametrize(
    ("step", "args"),
    [
        pytest.param(booking.recall, (), id="recall-a-waiting-patient"),
        pytest.param(booking.skip, (), id="skip-a-waiting-patient"),
        pytest.param(booking.requeue, (), id="requeue-a-waiting-patient"),
        pytest.param(booking.finish, (), id="finish-a-waiting-patient"),
    ],
)
def test_transitions_from_the_wrong_state_are_conflicts(
    engine: Engine,
    waiting: Waiting,
    step,
    args,  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(Conflict), unit_of_work(engine) as session:
        step(session, actor(session, "township_doctor"), waiting.on_time, *args)
    with unit_of_work(engine) as session:
        assert status_of(session, waiting.on_time) == "checked_in"


def test_a_seen_patient_cannot_be_called_skipped_or_moved_again(
    engine: Engine, waiting: Waiting
) -> None:
    _do(engine, booking.call_next, ROOM)
    _do(engine, booking.finish, waiting.aged)
    for step, args in (
        (booking.recall, ()),
        (booking.skip, ()),
        (booking.requeue, ()),
        (booking.finish, ()),
        (booking.transfer, ("内科三诊室",)),
        (booking.check_in, ("qr",)),
        (booking.cancel, ()),
    ):
        with pytest.raises(Conflict), unit_of_work(engine) as session:
            step(session, actor(session, "township_doctor"), waiting.aged, *args)


# --- whose queue ----------------------------------------------------------------------------


def test_staff_of_another_institution_cannot_run_this_queue(
    engine: Engine, waiting: Waiting
) -> None:
    for step, args in (
        (booking.check_in, ("qr",)),
        (booking.skip, ()),
        (booking.transfer, ("别处",)),
    ):
        with pytest.raises(Forbidden), unit_of_work(engine) as session:
            step(session, actor(session, "county_doctor"), waiting.on_time, *args)
    assert _do(engine, booking.call_next, ROOM, role="county_doctor") is None
    elsewhere = _queue(engine, role="county_doctor")
    assert (elsewhere.waiting, elsewhere.called) == ([], [])
    assert len(_queue(engine).waiting) == 4


@pytest.mark.parametrize("role", ["resident", "bureau_analyst", "cdc_officer"])
def test_roles_without_queue_run_cannot_touch_a_queue(
    engine: Engine, waiting: Waiting, role: str
) -> None:
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        booking.room_queue(session, actor(session, role), ROOM)
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        booking.call_next(session, actor(session, role), ROOM)


def test_reading_a_queue_is_audited(engine: Engine, waiting: Waiting) -> None:
    _queue(engine)
    with unit_of_work(engine) as session:
        row = last_audit(session)
    assert (row.action, row.object_type, row.object_id) == ("read", "queue", ROOM)
    assert row.actor_role == "township_doctor"


def test_the_waiting_room_screen_shows_masked_names_in_queue_order(
    engine: Engine, waiting: Waiting
) -> None:
    _do(engine, booking.call_next, ROOM)
    with unit_of_work(engine) as session:
        screen = booking.waiting_room_display(session, places(session).center.id, ROOM)
    shown = [(e.booking_id, e.name) for e in screen.called + screen.waiting]
    assert shown == [
        (b, booking.mask_name(waiting.names[b]))
        for b in (waiting.aged, waiting.military, waiting.on_time, waiting.late)
    ]
    assert all("*" in name for _, name in shown)
    assert all(waiting.names[b] not in name for b, name in shown)


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("张三丰", "张*丰"), ("欧阳娜娜", "欧**娜"), ("李", "李*")],
)
def test_mask_name_keeps_the_first_and_last_character(name: str, masked: str) -> None:
    assert booking.mask_name(name) == masked
