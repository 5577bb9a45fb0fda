"""Booking a place: hold and confirm, who may book for whom and how, the rules, cancelling."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from tests.booking.conftest import (
    DAY,
    FEE,
    Clinic,
    book_for,
    holder_of,
    lapse,
    make_past,
    neighbours,
    set_referral_release,
    set_release,
    set_slot_times,
    small_schedule,
    status_of,
)
from tests.support import actor, count_rows, last_audit, places, resident_outside, wards
from yigongti import booking
from yigongti.booking.models import Booking, Slot
from yigongti.db import unit_of_work
from yigongti.kernel import Conflict, Forbidden, Invalid, NotFound, now
from yigongti.security import system_actor

# One place per channel: window, kiosk and phone share three 60-minute slices of one.
ONE_EACH = {"window": 34, "kiosk": 33, "phone": 33}


def _one_each(engine: Engine) -> uuid.UUID:
    with unit_of_work(engine) as session:
        return small_schedule(
            session, actor(session, "window_clerk"), places(session).center, quotas=ONE_EACH
        )


def _slot(session, booking_id: uuid.UUID) -> Slot:  # type: ignore[no-untyped-def]
    found = session.scalar(
        select(Slot).join(Booking, Booking.slot_id == Slot.id).where(Booking.id == booking_id)
    )
    assert found is not None
    return found


# --- hold and confirm -----------------------------------------------------------------------


def test_a_hold_keeps_a_place_for_five_minutes_and_confirming_makes_it_a_booking(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident
        held = book_for(
            session,
            actor(session, "resident"),
            clinic.session(),
            me.id,
            channel="online",
            confirm=False,
        )
    assert (held.status, held.resident_id, held.fee_fen, held.room) == (
        "held",
        me.id,
        FEE,
        clinic.room,
    )
    assert held.hold_expires_at is not None
    assert timedelta(minutes=4) < held.hold_expires_at - now() <= timedelta(minutes=5)
    with unit_of_work(engine) as session:
        slot = _slot(session, held.id)
        assert (slot.booking_id, slot.channel, slot.number) == (held.id, "online", held.number)
        done = booking.confirm(session, actor(session, "resident"), held.id)
    assert (done.status, done.hold_expires_at) == ("confirmed", None)
    with unit_of_work(engine) as session:
        slot = _slot(session, held.id)
        assert (slot.booking_id, slot.held_until) == (held.id, None)
        again = booking.confirm(session, actor(session, "resident"), held.id)
    assert again.status == "confirmed"


def test_the_first_free_place_is_taken_and_a_chosen_slice_is_honoured(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        first, second = neighbours(session, 2)
        slots = session.scalars(
            select(Slot)
            .where(Slot.session_id == clinic.session(), Slot.channel == "window")
            .order_by(Slot.number)
        ).all()
        earliest = book_for(session, clerk, clinic.session(), first.id)
        chosen = booking.book(
            session,
            clerk,
            booking.BookingRequest(
                session_id=clinic.session(),
                channel="window",
                resident_id=second.id,
                slice_start=slots[-1].starts_at,
            ),
        )
    assert earliest.number == slots[0].number
    assert (chosen.number, chosen.starts_at) == (slots[-1].number, slots[-1].starts_at)


def test_a_lapsed_hold_cannot_be_confirmed_and_its_slot_goes_to_the_next_booker(
    engine: Engine,
) -> None:
    sid = _one_each(engine)
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        slow, quick = neighbours(session, 2)
        held = book_for(session, clerk, sid, slow.id, confirm=False)
        lapse(session, held.id)
    with pytest.raises(Conflict) as late, unit_of_work(engine) as session:
        booking.confirm(session, actor(session, "window_clerk"), held.id)
    assert late.value.zh == "锁号已超时，请重新预约"
    with unit_of_work(engine) as session:
        taken = book_for(session, actor(session, "window_clerk"), sid, quick.id)
    assert taken.number == held.number
    with unit_of_work(engine) as session:
        assert status_of(session, held.id) == "expired"
        assert holder_of(session, held.id) == taken.id
    with pytest.raises(Conflict), unit_of_work(engine) as session:
        booking.confirm(session, actor(session, "window_clerk"), held.id)


def test_expire_holds_ends_lapsed_holds_only_and_frees_their_slots(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        lapsing, waiting = neighbours(session, 2)
        old = book_for(session, clerk, clinic.session(), lapsing.id, confirm=False)
        fresh = book_for(session, clerk, clinic.session(), waiting.id, confirm=False)
        lapse(session, old.id)
    with unit_of_work(engine) as session:
        assert booking.expire_holds(session) == 1
    with unit_of_work(engine) as session:
        assert (status_of(session, old.id), status_of(session, fresh.id)) == ("expired", "held")
        assert _slot(session, old.id).booking_id is None
        assert _slot(session, fresh.id).booking_id == fresh.id
        assert booking.expire_holds(session) == 0


def test_a_resident_whose_hold_lapsed_books_again_without_waiting_for_the_job(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident.id
        held = book_for(
            session,
            actor(session, "resident"),
            clinic.session(),
            me,
            channel="online",
            confirm=False,
        )
        lapse(session, held.id)
    with unit_of_work(engine) as session:
        again = book_for(
            session, actor(session, "resident"), clinic.session(), me, channel="online"
        )
    assert again.status == "confirmed" and again.id != held.id
    with unit_of_work(engine) as session:
        assert status_of(session, held.id) == "expired"


# --- idempotency ----------------------------------------------------------------------------


def test_a_retried_idempotency_key_returns_the_same_booking(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident.id
        first = book_for(
            session, actor(session, "resident"), clinic.session(), me, channel="online", key="k-1"
        )
    before = count_rows(engine, "bookings")
    with unit_of_work(engine) as session:
        retry = book_for(
            session, actor(session, "resident"), clinic.session(), me, channel="online", key="k-1"
        )
    assert retry.id == first.id
    assert count_rows(engine, "bookings") == before


def test_an_idempotency_key_reused_for_another_session_is_a_conflict(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident.id
        book_for(
            session, actor(session, "resident"), clinic.session(), me, channel="online", key="k"
        )
    before = count_rows(engine, "bookings")
    with pytest.raises(Conflict) as refused, unit_of_work(engine) as session:
        book_for(
            session,
            actor(session, "resident"),
            clinic.session(DAY + 1),
            me,
            channel="online",
            key="k",
        )
    assert refused.value.zh == "该幂等键已用于另一笔预约"
    assert count_rows(engine, "bookings") == before


def test_an_overlong_idempotency_key_is_refused(engine: Engine, clinic: Clinic) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        me = places(session).resident.id
        book_for(
            session,
            actor(session, "resident"),
            clinic.session(),
            me,
            channel="online",
            key="k" * 65,
        )
    assert [f.field for f in refused.value.fields] == ["idempotency_key"]


# --- sessions that cannot be booked ---------------------------------------------------------


def test_a_session_that_is_over_cannot_be_booked(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        make_past(session, clinic.session())
    with pytest.raises(Conflict) as refused, unit_of_work(engine) as session:
        book_for(
            session, actor(session, "window_clerk"), clinic.session(), places(session).resident.id
        )
    assert refused.value.zh == "该场次已结束"


def test_a_session_not_yet_released_cannot_be_booked_and_says_when_it_opens(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        set_release(session, clinic.session(), released=False)
    with pytest.raises(Conflict) as refused, unit_of_work(engine) as session:
        book_for(
            session, actor(session, "window_clerk"), clinic.session(), places(session).resident.id
        )
    assert refused.value.zh.startswith("尚未放号")
    with unit_of_work(engine) as session:
        [offer] = [
            o
            for o in booking.search_pool(
                session,
                booking.SlotQuery(
                    institution_id=clinic.institution_id, day_to=clinic.today + timedelta(days=DAY)
                ),
            )
            if o.session_id == clinic.session()
        ]
    assert (offer.released, offer.available) == (False, 0)


def test_an_unknown_session_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound), unit_of_work(engine) as session:
        book_for(session, actor(session, "window_clerk"), uuid.uuid4(), places(session).resident.id)


def test_a_session_full_for_a_channel_refuses_it_but_not_the_others(engine: Engine) -> None:
    sid = _one_each(engine)
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        first, second = neighbours(session, 2)
        book_for(session, clerk, sid, first.id)
    with pytest.raises(Conflict) as full, unit_of_work(engine) as session:
        book_for(session, actor(session, "window_clerk"), sid, second.id)
    assert "已无可用号源" in full.value.zh
    with unit_of_work(engine) as session:
        by_kiosk = book_for(
            session, actor(session, "window_clerk"), sid, second.id, channel="kiosk"
        )
        assert [s.available for s in booking.slices_of(session, sid, "window")] == [0, 0, 0]
    assert by_kiosk.channel == "kiosk"


def test_a_changed_fee_is_refused_when_the_booker_expected_another(
    engine: Engine, clinic: Clinic
) -> None:
    with pytest.raises(Conflict) as refused, unit_of_work(engine) as session:
        booking.book(
            session,
            actor(session, "window_clerk"),
            booking.BookingRequest(
                session_id=clinic.session(),
                channel="window",
                resident_id=places(session).resident.id,
                confirm=True,
                expected_fee_fen=FEE + 500,
            ),
        )
    assert "10.00" in refused.value.zh


# --- channels and patients ------------------------------------------------------------------


def test_a_resident_cannot_book_through_the_window_channel(engine: Engine, clinic: Clinic) -> None:
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        book_for(session, actor(session, "resident"), clinic.session(), places(session).resident.id)


def test_an_unknown_channel_is_invalid(engine: Engine, clinic: Clinic) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        book_for(
            session,
            actor(session, "window_clerk"),
            clinic.session(),
            places(session).resident.id,
            channel="fax",
        )
    assert [f.field for f in refused.value.fields] == ["channel"]


@pytest.mark.parametrize("role", ["cdc_officer", "bureau_analyst", "center_reader"])
def test_roles_without_booking_cannot_book(engine: Engine, clinic: Clinic, role: str) -> None:
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        book_for(session, actor(session, role), clinic.session(), places(session).resident.id)


def _by_card(session, who: str, sid: uuid.UUID, id_number: str, name: str, channel: str = "window"):  # type: ignore[no-untyped-def]
    return booking.book(
        session,
        actor(session, who),
        booking.BookingRequest(
            session_id=sid, channel=channel, id_number=id_number, name=name, confirm=True
        ),
    )


def test_a_clerk_books_a_resident_from_anywhere_who_shows_his_id_card(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        stranger = resident_outside(session, actor(session, "window_clerk"))
        assert stranger.id_number is not None
        made = _by_card(
            session, "window_clerk", clinic.session(), stranger.id_number.lower(), stranger.name
        )
    assert (made.resident_id, made.channel) == (stranger.id, "window")


def test_an_external_platform_books_by_id_card_only(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident
        assert me.id_number is not None
        made = _by_card(
            session, "booking_platform", clinic.session(), me.id_number, me.name, "external"
        )
    assert made.channel == "external"
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        book_for(
            session,
            actor(session, "booking_platform"),
            clinic.session(DAY + 1),
            me.id,
            channel="external",
        )


def test_a_malformed_id_number_at_the_window_is_refused_with_the_check_digit(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident
    number = me.id_number
    assert number is not None
    wrong = "0" if number[17] != "0" else "1"
    before = count_rows(engine, "bookings")
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        _by_card(session, "window_clerk", clinic.session(), number[:17] + wrong, me.name)
    assert [f.field for f in refused.value.fields] == ["id_number"]
    assert refused.value.en == f"ID number check digit wrong: 18th character should be {number[17]}"
    assert f"第18位应为 {number[17]}" in refused.value.zh
    assert count_rows(engine, "bookings") == before


def test_an_id_number_with_the_wrong_name_is_not_found(engine: Engine, clinic: Clinic) -> None:
    with pytest.raises(NotFound) as refused, unit_of_work(engine) as session:
        me = places(session).resident
        assert me.id_number is not None
        _by_card(session, "window_clerk", clinic.session(), me.id_number, me.name + "某")
    assert "未找到该身份证号和姓名" in refused.value.zh


def test_booking_by_id_number_online_is_refused(engine: Engine, clinic: Clinic) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        me = places(session).resident
        assert me.id_number is not None
        _by_card(session, "resident", clinic.session(), me.id_number, me.name, "online")
    assert [f.field for f in refused.value.fields] == ["id_number"]


def test_a_booking_names_its_patient(engine: Engine, clinic: Clinic) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        booking.book(
            session,
            actor(session, "window_clerk"),
            booking.BookingRequest(session_id=clinic.session(), channel="window"),
        )
    assert [f.field for f in refused.value.fields] == ["resident_id"]


def test_a_resident_cannot_book_for_a_stranger(engine: Engine, clinic: Clinic) -> None:
    with pytest.raises(NotFound), unit_of_work(engine) as session:
        stranger = resident_outside(session, actor(session, "resident"))
        book_for(
            session, actor(session, "resident"), clinic.session(), stranger.id, channel="online"
        )


def test_a_clerk_cannot_book_by_id_for_a_resident_outside_his_area(
    engine: Engine, clinic: Clinic
) -> None:
    with pytest.raises(NotFound), unit_of_work(engine) as session:
        stranger = resident_outside(session, actor(session, "window_clerk"))
        book_for(session, actor(session, "window_clerk"), clinic.session(), stranger.id)


def test_a_guardian_books_for_his_ward_and_both_see_it(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident
        [ward] = sorted(wards(session, me.id))
        made = book_for(
            session, actor(session, "resident"), clinic.session(), ward, channel="online"
        )
    assert made.resident_id == ward
    with unit_of_work(engine) as session:
        row = session.get(Booking, made.id)
        assert row is not None and row.booked_by == actor(session, "resident").user_id
        listed = booking.bookings_of(session, actor(session, "resident"), ward)
    assert [b.id for b in listed] == [made.id]


def test_a_deceased_resident_cannot_be_booked(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        [gone] = neighbours(session, 1)
        gone.deceased_on = clinic.today - timedelta(days=3)
    with pytest.raises(Conflict), unit_of_work(engine) as session:
        book_for(session, actor(session, "window_clerk"), clinic.session(), gone.id)


# --- the resident's limits ------------------------------------------------------------------


def test_second_booking_for_same_department_same_day_is_refused(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        [patient] = neighbours(session, 1)
        morning = book_for(session, clerk, clinic.session(), patient.id)
    before = count_rows(engine, "bookings"), count_rows(engine, "audit_events")
    with pytest.raises(Conflict) as refused, unit_of_work(engine) as session:
        book_for(
            session, actor(session, "window_clerk"), clinic.session(DAY, "afternoon"), patient.id
        )
    assert refused.value.zh.startswith("同一科室同一天只能预约一次")
    assert (count_rows(engine, "bookings"), count_rows(engine, "audit_events")) == before
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        # another department the same day, or the same department another day, is fine
        other = small_schedule(session, clerk, places(session).center, quotas={"window": 100})
        book_for(session, clerk, other, patient.id)
        book_for(session, clerk, clinic.session(DAY + 1), patient.id)
        # and once the morning is cancelled the afternoon is free to book
        booking.cancel(session, clerk, morning.id)
        book_for(session, clerk, clinic.session(DAY, "afternoon"), patient.id)


def test_the_cap_on_active_bookings_is_the_institutions_rule(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        booking.set_rules(session, clerk, clinic.institution_id, booking.Rules(max_active=2))
        [patient] = neighbours(session, 1)
        first = book_for(session, clerk, clinic.session(1), patient.id)
        book_for(session, clerk, clinic.session(2), patient.id)
    with pytest.raises(Conflict) as refused, unit_of_work(engine) as session:
        book_for(session, actor(session, "window_clerk"), clinic.session(3), patient.id)
    assert "最多可有 2 个" in refused.value.zh
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        assert booking.rules_for(session, clinic.institution_id).max_active == 2
        booking.cancel(session, clerk, first.id)
        book_for(session, clerk, clinic.session(3), patient.id)


def test_a_clerk_sets_the_rules_of_his_own_institution_only(engine: Engine) -> None:
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        booking.set_rules(
            session, actor(session, "window_clerk"), places(session).lead.id, booking.Rules()
        )
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        booking.set_rules(
            session,
            actor(session, "window_clerk"),
            places(session).center.id,
            booking.Rules(hold_minutes=0),
        )
    assert [f.field for f in refused.value.fields] == ["hold_minutes"]
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        booking.set_rules(session, actor(session, "township_doctor"), None, booking.Rules())


def test_county_rules_apply_where_an_institution_has_none(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        booking.set_rules(session, system_actor("test"), None, booking.Rules(max_active=7))
        center = places(session).center.id
        assert booking.rules_for(session, center).max_active == 7
        booking.set_rules(
            session, actor(session, "window_clerk"), center, booking.Rules(max_active=3)
        )
        assert booking.rules_for(session, center).max_active == 3
        assert booking.rules_for(session, places(session).lead.id).max_active == 7


# --- cancelling -----------------------------------------------------------------------------


def test_a_booking_is_cancelled_before_the_deadline_and_its_place_is_free_again(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident.id
        made = book_for(session, actor(session, "resident"), clinic.session(), me, channel="online")
    with unit_of_work(engine) as session:
        done = booking.cancel(session, actor(session, "resident"), made.id)
        assert done.status == "cancelled"
        assert _slot(session, made.id).booking_id is None
        assert booking.cancel(session, actor(session, "resident"), made.id).status == "cancelled"
        again = book_for(
            session, actor(session, "resident"), clinic.session(), me, channel="online"
        )
    assert again.number == made.number


def test_a_booking_cannot_be_cancelled_after_the_deadline(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident.id
        made = book_for(session, actor(session, "resident"), clinic.session(), me, channel="online")
        set_slot_times(session, made.id, now() + timedelta(minutes=119))
    with pytest.raises(Conflict) as refused, unit_of_work(engine) as session:
        booking.cancel(session, actor(session, "resident"), made.id)
    assert "120 分钟" in refused.value.zh
    with unit_of_work(engine) as session:
        assert status_of(session, made.id) == "confirmed"
        set_slot_times(session, made.id, now() + timedelta(minutes=125))
        assert booking.cancel(session, actor(session, "resident"), made.id).status == "cancelled"


def test_a_stranger_cannot_cancel_a_booking(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        [patient] = neighbours(session, 1)
        made = book_for(session, actor(session, "window_clerk"), clinic.session(), patient.id)
    with pytest.raises(NotFound), unit_of_work(engine) as session:
        booking.cancel(session, actor(session, "resident"), made.id)
    with unit_of_work(engine) as session:
        assert status_of(session, made.id) == "confirmed"


def test_a_booking_is_rescheduled_in_one_step(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident.id
        made = book_for(session, actor(session, "resident"), clinic.session(), me, channel="online")
        moved = booking.reschedule(
            session, actor(session, "resident"), made.id, clinic.session(DAY + 1)
        )
        assert status_of(session, made.id) == "cancelled"
        assert _slot(session, made.id).booking_id is None
    assert (moved.status, moved.day) == ("confirmed", clinic.today + timedelta(days=DAY + 1))
    # a move into a session that cannot take it changes nothing
    with unit_of_work(engine) as session:
        set_release(session, clinic.session(DAY + 2), released=False)
    with pytest.raises(Conflict), unit_of_work(engine) as session:
        booking.reschedule(session, actor(session, "resident"), moved.id, clinic.session(DAY + 2))
    with unit_of_work(engine) as session:
        assert status_of(session, moved.id) == "confirmed"


# --- referral-reserved places ---------------------------------------------------------------


def test_a_township_doctor_books_a_referral_place_in_his_own_name(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        doctor = actor(session, "township_doctor")
        made = book_for(
            session, doctor, clinic.session(), places(session).resident.id, channel="referral"
        )
        assert _slot(session, made.id).channel == "referral"
        row = session.get(Booking, made.id)
        assert row is not None and row.referred_by == doctor.practitioner_id


@pytest.mark.parametrize("role", ["window_clerk", "county_doctor", "resident"])
def test_only_referring_doctors_book_referral_places(
    engine: Engine, clinic: Clinic, role: str
) -> None:
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        book_for(
            session,
            actor(session, role),
            clinic.session(),
            places(session).resident.id,
            channel="referral",
        )


def test_public_channels_take_referral_places_only_after_their_release(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        sid = small_schedule(
            session, clerk, places(session).center, quotas={"window": 34, "referral": 66}
        )
        set_referral_release(session, sid, released=False)
        first, second, third = neighbours(session, 3)
        book_for(session, clerk, sid, first.id)
    with pytest.raises(Conflict), unit_of_work(engine) as session:
        book_for(session, actor(session, "window_clerk"), sid, second.id)
    with unit_of_work(engine) as session:
        set_referral_release(session, sid, released=True)
        clerk = actor(session, "window_clerk")
        late = book_for(session, clerk, sid, second.id)
        assert (late.channel, _slot(session, late.id).channel) == ("window", "referral")
        book_for(session, clerk, sid, third.id)
    with pytest.raises(Conflict), unit_of_work(engine) as session:
        [fourth] = neighbours(session, 1)
        book_for(session, actor(session, "township_doctor"), sid, fourth.id, channel="referral")


# --- no-shows -------------------------------------------------------------------------------


def _no_shows(engine: Engine, clinic: Clinic, days: list[int]) -> uuid.UUID:
    """The demo resident booked online on ``days`` and came to none of them."""
    with unit_of_work(engine) as session:
        me = places(session).resident.id
        for day in days:
            book_for(session, actor(session, "resident"), clinic.session(day), me, channel="online")
        for day in days:
            make_past(session, clinic.session(day))
        assert booking.mark_no_shows(session) == len(days)
    return me


def test_three_no_shows_within_90_days_suspend_online_booking_but_not_the_window(
    engine: Engine, clinic: Clinic
) -> None:
    me = _no_shows(engine, clinic, [1, 2, 3])
    with pytest.raises(Conflict) as suspended, unit_of_work(engine) as session:
        book_for(session, actor(session, "resident"), clinic.session(5), me, channel="online")
    assert "线上预约暂停至" in suspended.value.zh
    with unit_of_work(engine) as session:
        until = booking.suspended_until(session, me, booking.Rules())
        assert until is not None
        assert timedelta(days=89) < until - now() <= timedelta(days=90)
        at_window = book_for(session, actor(session, "window_clerk"), clinic.session(5), me)
    assert at_window.status == "confirmed"


def test_two_no_shows_do_not_suspend(engine: Engine, clinic: Clinic) -> None:
    me = _no_shows(engine, clinic, [1, 2])
    with unit_of_work(engine) as session:
        made = book_for(
            session, actor(session, "resident"), clinic.session(5), me, channel="online"
        )
    assert made.status == "confirmed"


def test_no_shows_spread_over_more_than_90_days_do_not_suspend(
    engine: Engine, clinic: Clinic
) -> None:
    me = _no_shows(engine, clinic, [1, 2, 3])
    with unit_of_work(engine) as session:
        rows = session.scalars(
            select(Booking)
            .where(
                Booking.session_id.in_([clinic.session(d) for d in (1, 2, 3)]),
                Booking.status == "no_show",
            )
            .order_by(Booking.day)
        ).all()
        for row, days_ago in zip(rows, (150, 100, 1), strict=True):
            row.ended_at = now() - timedelta(days=days_ago)
    with unit_of_work(engine) as session:
        assert booking.suspended_until(session, me, booking.Rules()) is None
        book_for(session, actor(session, "resident"), clinic.session(5), me, channel="online")


def test_only_confirmed_bookings_of_ended_sessions_become_no_shows(
    engine: Engine, clinic: Clinic
) -> None:
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        a, b, c = neighbours(session, 3)
        missed = book_for(session, clerk, clinic.session(1), a.id)
        held = book_for(session, clerk, clinic.session(1), b.id, confirm=False)
        upcoming = book_for(session, clerk, clinic.session(2), c.id)
        make_past(session, clinic.session(1))
        assert booking.mark_no_shows(session) == 1
        assert [status_of(session, x.id) for x in (missed, held, upcoming)] == [
            "no_show",
            "held",
            "confirmed",
        ]
        assert booking.mark_no_shows(session) == 0


# --- nothing half-written, everything audited -----------------------------------------------


def test_a_refused_booking_leaves_nothing_behind(engine: Engine) -> None:
    sid = _one_each(engine)
    with unit_of_work(engine) as session:
        first, second = neighbours(session, 2)
        book_for(session, actor(session, "window_clerk"), sid, first.id)
    tables = ("bookings", "audit_events", "notices", "residents")
    before = {t: count_rows(engine, t) for t in tables}
    with unit_of_work(engine) as session:
        slots_before = [
            (s.id, s.booking_id, s.held_until)
            for s in session.scalars(select(Slot).where(Slot.session_id == sid))
        ]
    refusals = [
        lambda s: book_for(s, actor(s, "window_clerk"), sid, second.id),  # full for the window
        lambda s: book_for(s, actor(s, "window_clerk"), sid, first.id, channel="kiosk"),  # same day
        lambda s: book_for(s, actor(s, "resident"), sid, second.id, channel="online"),  # stranger
        lambda s: booking.book(
            s,
            actor(s, "window_clerk"),
            booking.BookingRequest(sid, "kiosk", resident_id=second.id, expected_fee_fen=1),
        ),
    ]
    for refusal in refusals:
        with pytest.raises((Conflict, NotFound)), unit_of_work(engine) as session:
            refusal(session)
    assert {t: count_rows(engine, t) for t in tables} == before
    with unit_of_work(engine) as session:
        assert [
            (s.id, s.booking_id, s.held_until)
            for s in session.scalars(select(Slot).where(Slot.session_id == sid))
        ] == slots_before


def test_making_and_reading_a_booking_is_audited(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        me = places(session).resident.id
        made = book_for(session, actor(session, "resident"), clinic.session(), me, channel="online")
    with unit_of_work(engine) as session:
        row = last_audit(session)
        assert (row.action, row.object_type, row.object_id, row.person_id, row.actor_role) == (
            "create",
            "booking",
            str(made.id),
            me,
            "resident",
        )
        assert row.detail == "channel=online status=confirmed"
        seen = booking.get_booking(session, actor(session, "township_doctor"), made.id)
    assert seen.id == made.id
    with unit_of_work(engine) as session:
        row = last_audit(session)
        assert (row.action, row.object_type, row.object_id, row.person_id, row.actor_role) == (
            "read",
            "booking",
            str(made.id),
            me,
            "township_doctor",
        )
        booking.bookings_of(session, actor(session, "resident"), me)
    with unit_of_work(engine) as session:
        row = last_audit(session)
        assert (row.action, row.object_type, row.person_id) == ("read", "booking", me)


def test_a_booking_out_of_scope_reads_as_not_found(engine: Engine, clinic: Clinic) -> None:
    with unit_of_work(engine) as session:
        [patient] = neighbours(session, 1)
        made = book_for(session, actor(session, "window_clerk"), clinic.session(), patient.id)
    for role in ("resident", "booking_platform"):
        with pytest.raises(NotFound), unit_of_work(engine) as session:
            booking.get_booking(session, actor(session, role), made.id)
    with pytest.raises(NotFound), unit_of_work(engine) as session:
        booking.get_booking(session, actor(session, "resident"), uuid.uuid4())


def test_the_pool_counts_places_left_for_the_searchers_channel(
    engine: Engine, clinic: Clinic
) -> None:
    def left(channel: str) -> int:
        with unit_of_work(engine) as session:
            query = booking.SlotQuery(
                institution_id=clinic.institution_id,
                day_from=clinic.today + timedelta(days=DAY),
                day_to=clinic.today + timedelta(days=DAY),
                channel=channel,
            )
            [offer] = [
                o for o in booking.search_pool(session, query) if o.session_id == clinic.session()
            ]
            return offer.available

    with unit_of_work(engine) as session:
        set_referral_release(session, clinic.session(), released=False)
    assert (left("online"), left("window"), left("referral")) == (28, 5, 11)
    with unit_of_work(engine) as session:
        book_for(
            session,
            actor(session, "resident"),
            clinic.session(),
            places(session).resident.id,
            channel="online",
        )
    assert left("online") == 27
    with unit_of_work(engine) as session:
        set_referral_release(session, clinic.session(), released=True)
    assert left("window") == 5 + 11


def test_the_database_refuses_a_second_live_booking_of_a_slot(engine: Engine) -> None:
    sid = _one_each(engine)
    with unit_of_work(engine) as session:
        first, second = neighbours(session, 2)
        made = book_for(session, actor(session, "window_clerk"), sid, first.id)
    with pytest.raises(IntegrityError), unit_of_work(engine) as session:
        row = session.get(Booking, made.id)
        assert row is not None
        session.add(
            Booking(
                slot_id=row.slot_id,
                session_id=row.session_id,
                resident_id=second.id,
                institution_id=row.institution_id,
                department_id=row.department_id,
                day=row.day,
                number=row.number,
                channel="window",
                status="held",
                fee_fen=row.fee_fen,
            )
        )
        session.flush()
