"""Booking measures of a small, fully known day: shares, rates and slot use, by who asks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.booking.conftest import (
    book_for,
    make_current,
    neighbours,
    set_slot_times,
    small_schedule,
    today,
)
from tests.support import actor, places, wards
from yigongti import booking
from yigongti.booking.models import Booking
from yigongti.db import unit_of_work
from yigongti.kernel import Forbidden, Invalid, now
from yigongti.security import system_actor


@pytest.fixture
def day(engine: Engine) -> None:
    """Today at the center (6 places: 3 online, 3 window) and at the lead hospital (3 window).

    Center: the resident comes on time and is called; his ward is a no-show; a window patient
    comes late; another window patient only holds; a third cancels. Lead: one window booking.
    """
    with unit_of_work(engine) as session:
        at = places(session)
        clerk, resident = actor(session, "window_clerk"), actor(session, "resident")
        booking.set_rules(session, clerk, at.center.id, booking.Rules(cancel_minutes_before=0))
        center = small_schedule(
            session, clerk, at.center, quotas={"online": 50, "window": 50}, slice_capacity=2, days=0
        )
        lead = small_schedule(
            session, system_actor("test"), at.lead, quotas={"window": 100}, days=0
        )
        make_current(session, center)
        make_current(session, lead)
        [ward] = sorted(wards(session, at.resident.id))
        late, holding, quitting = neighbours(session, 3)

        seen = book_for(session, resident, center, at.resident.id, channel="online")
        missed = book_for(session, resident, center, ward, channel="online")
        came_late = book_for(session, clerk, center, late.id)
        book_for(session, clerk, center, holding.id, confirm=False)
        gone = book_for(session, clerk, center, quitting.id)
        booking.cancel(session, clerk, gone.id)
        book_for(session, actor(session, "county_doctor"), lead, at.resident.id)

        booking.check_in(session, clerk, seen.id, "qr")
        booking.call_next(session, clerk, "内科二诊室")
        set_slot_times(session, came_late.id, now() - timedelta(minutes=40))
        booking.check_in(session, clerk, came_late.id, "window")
        row = session.get(Booking, missed.id)
        assert row is not None
        row.status, row.ended_at = "no_show", now()


def _measures(engine: Engine, role: str, institution: str | None = None) -> booking.BookingMeasures:
    with unit_of_work(engine) as session:
        at = places(session)
        where = {"center": at.center.id, "lead": at.lead.id, None: None}[institution]
        who = system_actor("test") if role == "system" else actor(session, role)
        return booking.booking_measures(session, who, today(), today(), where)


def test_the_centers_day_gives_exact_shares_and_rates(engine: Engine, day: None) -> None:
    m = _measures(engine, "bureau_analyst", "center")
    # held bookings are not bookings yet; the cancelled one was
    assert m.bookings == 4
    assert (m.by_channel["online"], m.by_channel["window"], m.by_channel["kiosk"]) == (2, 2, 0)
    assert m.online_share == 2 / 4
    # two came (one on time, one late); one did not
    assert m.on_time_rate == 1 / 2
    assert m.no_show_rate == 1 / 3
    # six places; used by the seen, the late and the no-show booking
    assert (m.slots, m.slot_utilisation) == (6, 3 / 6)
    assert (m.referral_slots, m.referral_slots_used) == (0, None)
    assert m.median_wait_minutes is not None and 0 <= m.median_wait_minutes < 1


def test_county_wide_figures_add_every_institution(engine: Engine, day: None) -> None:
    m = _measures(engine, "bureau_analyst")
    assert m.bookings == 5
    assert m.online_share == 2 / 5
    assert (m.slots, m.slot_utilisation) == (9, 4 / 9)
    assert m.no_show_rate == 1 / 3


def test_rates_without_a_denominator_are_none(engine: Engine, day: None) -> None:
    m = _measures(engine, "bureau_analyst", "lead")
    assert (m.bookings, m.online_share, m.slots, m.slot_utilisation) == (1, 0.0, 3, 1 / 3)
    assert (m.on_time_rate, m.no_show_rate, m.median_wait_minutes) == (None, None, None)


@pytest.mark.parametrize("asked", ["lead", None])
def test_a_role_without_aggregate_read_gets_its_own_institution_only(
    engine: Engine, day: None, asked: str | None
) -> None:
    own = _measures(engine, "window_clerk", asked)
    assert own == _measures(engine, "bureau_analyst", "center")
    assert _measures(engine, "county_doctor", asked) == _measures(engine, "bureau_analyst", "lead")


@pytest.mark.parametrize("role", ["resident", "cdc_officer", "booking_platform"])
def test_roles_that_neither_aggregate_nor_run_a_queue_get_no_measures(
    engine: Engine, role: str
) -> None:
    with pytest.raises(Forbidden):
        _measures(engine, role)


def test_a_period_ending_before_it_starts_is_invalid(engine: Engine) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        booking.booking_measures(
            session, actor(session, "bureau_analyst"), today(), today() - timedelta(days=1)
        )
    assert [f.field for f in refused.value.fields] == ["last"]
