"""A year of bookings behind the visits: schedules, sessions, numbered slots and their rules."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, aliased

from tests.synth.helpers import YEAR, Builder, Built, booking_fingerprint, resident_fingerprint
from yigongti.booking.codes import DEFAULT_QUOTAS, EXAMS
from yigongti.booking.models import LIVE_STATUSES, Booking, ClinicSession, Schedule, Slot
from yigongti.booking.service.schedules import _session_rows
from yigongti.clinical.models import Encounter
from yigongti.db import make_engine
from yigongti.db.migrate import upgrade
from yigongti.kernel import local
from yigongti.registry.models import Department, Institution, Practitioner
from yigongti.synth import build_county

RESIDENTS = 1_500
SELF_SERVICE = ("online", "kiosk", "external")
CLINICAL = {"01", "02", "03", "04", "05", "07", "10", "11", "12", "13", "21", "50"}


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(text(sql))


def _statuses(county: Built) -> Counter[str]:
    with Session(county.engine) as session:
        return _statuses_in(session)


def _statuses_in(session: Session) -> Counter[str]:
    query = select(Booking.status, func.count()).group_by(Booking.status)
    return Counter({status: count for status, count in session.execute(query)})


# --- determinism --------------------------------------------------------------------------


def test_same_seed_books_the_same_year(build: Builder, tmp_path: Path) -> None:
    first = build(residents=RESIDENTS, seed=11)
    engine = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    upgrade(engine)
    second = build_county(engine, residents=RESIDENTS, seed=11, year=YEAR)
    assert second == first.summary
    assert second.bookings > 0
    assert booking_fingerprint(engine) == booking_fingerprint(first.engine)
    engine.dispose()


def test_every_backend_books_the_same_year(build: Builder, empty_engine: Engine) -> None:
    upgrade(empty_engine)
    summary = build_county(empty_engine, residents=RESIDENTS, seed=11, year=YEAR)
    reference = build(residents=RESIDENTS, seed=11)
    assert summary == reference.summary
    assert booking_fingerprint(empty_engine) == booking_fingerprint(reference.engine)
    if empty_engine.dialect.name == "postgresql":
        # The slot's key to its booking waits during the load and is back (and checked).
        keys = _scalar(
            empty_engine,
            "SELECT count(*) FROM pg_constraint WHERE conname = 'fk_slot_booking'",
        )
        assert keys == 1


def test_skipping_bookings_leaves_the_visits_unchanged(build: Builder) -> None:
    booked = build(residents=RESIDENTS, seed=11)
    unbooked = build(residents=RESIDENTS, seed=11, bookings=False)
    assert resident_fingerprint(booked.engine) == resident_fingerprint(unbooked.engine)
    for field in ("encounters", "fee_lines", "primary_care_share", "drug_share"):
        assert getattr(booked.summary, field) == getattr(unbooked.summary, field)
    summary = unbooked.summary
    assert summary.schedules == summary.clinic_sessions == summary.slots == summary.bookings == 0
    for table in ("schedules", "clinic_sessions", "slots", "bookings"):
        assert _scalar(unbooked.engine, f"SELECT count(*) FROM {table}") == 0


def test_a_county_without_visits_has_no_bookings(build: Builder) -> None:
    county = build(residents=RESIDENTS, seed=11, encounters=False)
    assert county.summary.bookings == county.summary.schedules == 0
    assert _scalar(county.engine, "SELECT count(*) FROM bookings") == 0


# --- the rules of the schema --------------------------------------------------------------


def test_the_summary_counts_the_rows(county: Built) -> None:
    summary = county.summary
    for table, count in (
        ("schedules", summary.schedules),
        ("clinic_sessions", summary.clinic_sessions),
        ("slots", summary.slots),
        ("bookings", summary.bookings),
    ):
        assert _scalar(county.engine, f"SELECT count(*) FROM {table}") == count > 0


def test_no_slot_is_held_by_two_bookings(county: Built) -> None:
    held = _scalar(
        county.engine,
        "SELECT count(*) FROM (SELECT slot_id FROM bookings WHERE status != 'cancelled' "
        "GROUP BY slot_id HAVING count(*) > 1) AS twice",
    )
    assert held == 0


def test_each_slot_names_the_booking_that_holds_it(county: Built) -> None:
    with Session(county.engine) as session:
        rows = session.execute(
            select(Booking.id, Booking.status, Slot.booking_id, Slot.held_until).join(
                Slot, Slot.id == Booking.slot_id
            )
        ).all()
        holders = session.scalar(select(func.count()).where(Slot.booking_id.is_not(None)))
    kept = [r for r in rows if r.status != "cancelled"]
    assert all(r.booking_id == r.id and r.held_until is None for r in kept)
    # A cancelled booking freed its place (someone else may hold it now).
    assert all(r.booking_id != r.id for r in rows if r.status == "cancelled")
    assert holders == len(kept)


def test_booking_numbers_rooms_and_fees_are_those_of_slot_and_schedule(county: Built) -> None:
    with Session(county.engine) as session:
        rows = session.execute(
            select(Booking, Slot, ClinicSession, Schedule)
            .join(Slot, Slot.id == Booking.slot_id)
            .join(ClinicSession, ClinicSession.id == Booking.session_id)
            .join(Schedule, Schedule.id == ClinicSession.schedule_id)
        ).all()
    assert rows
    for booking, slot, clinic, schedule in rows:
        assert booking.number == slot.number
        assert slot.session_id == clinic.id
        assert (booking.institution_id, booking.department_id, booking.day) == (
            clinic.institution_id,
            clinic.department_id,
            clinic.day,
        )
        assert booking.room == schedule.room
        assert booking.fee_fen == schedule.fee_fen
        assert booking.booked_by is None
        # A booking takes a place of its own channel, or a referral one released to the public.
        if slot.channel != booking.channel:
            assert slot.channel == "referral"
            assert booking.created_at >= clinic.referral_release_at


def test_historic_bookings_are_finished_and_never_live(county: Built) -> None:
    statuses = _statuses(county)
    assert set(statuses) == {"completed", "no_show", "cancelled"}
    assert not set(statuses) & set(LIVE_STATUSES)


def test_sessions_and_slots_are_cut_as_the_booking_service_cuts_them(county: Built) -> None:
    with Session(county.engine) as session:
        clinics = session.scalars(
            select(ClinicSession).order_by(ClinicSession.id).limit(2_000)
        ).all()
        slots: dict[object, list[Slot]] = defaultdict(list)
        ids = [c.id for c in clinics]
        for slot in session.scalars(select(Slot).where(Slot.session_id.in_(ids))):
            slots[slot.session_id].append(slot)
        checked = set()
        for clinic in clinics[::20]:
            schedule = session.get(Schedule, clinic.schedule_id)
            assert schedule is not None
            expected, places = _session_rows(schedule, clinic.day, clinic.period)
            assert (clinic.starts_at, clinic.ends_at) == (expected.starts_at, expected.ends_at)
            assert clinic.release_at == expected.release_at
            assert clinic.referral_release_at == expected.referral_release_at
            mine = sorted(slots[clinic.id], key=lambda s: s.number)
            assert [(s.number, s.starts_at, s.ends_at, s.channel) for s in mine] == [
                (s.number, s.starts_at, s.ends_at, s.channel) for s in places
            ]
            checked.add(schedule.id)
    assert len(checked) > 10


def test_foreign_keys_hold(county: Built) -> None:
    with county.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []


# --- the visits behind the bookings -------------------------------------------------------


def test_every_visit_booking_matches_its_encounter(county: Built) -> None:
    with Session(county.engine) as session:
        rows = session.execute(
            select(
                Booking.id,
                ClinicSession.institution_id,
                ClinicSession.department_id,
                ClinicSession.day,
                ClinicSession.period,
                Encounter.institution_id,
                Encounter.department_id,
                Encounter.started_at,
                Encounter.ended_at,
                Booking.completed_at,
            )
            .join(ClinicSession, ClinicSession.id == Booking.session_id)
            .join(
                Encounter,
                (Encounter.resident_id == Booking.resident_id)
                & (Encounter.started_at == Booking.called_at)
                & (Encounter.kind == "outpatient"),
            )
            .where(Booking.status == "completed")
        ).all()
        completed = _statuses_in(session)["completed"]
    assert len({r.id for r in rows}) == completed > 0
    for r in rows:
        started = local(r.started_at)
        assert (r[1], r[2]) == (r[5], r[6])
        assert r.day == started.date()
        assert r.period == ("morning" if started.hour < 12 else "afternoon")
        assert r.completed_at == r.ended_at


def test_a_share_of_visits_was_booked_at_county_and_township_level(county: Built) -> None:
    with Session(county.engine) as session:
        visits = dict(
            session.execute(
                select(Institution.kind, func.count())
                .join(Encounter, Encounter.institution_id == Institution.id)
                .where(Encounter.kind == "outpatient")
                .group_by(Institution.kind)
            ).all()
        )
        booked = dict(
            session.execute(
                select(Institution.kind, func.count())
                .join(Booking, Booking.institution_id == Institution.id)
                .where(Booking.status == "completed")
                .group_by(Institution.kind)
            ).all()
        )
    assert 0.48 <= booked["county_hospital"] / visits["county_hospital"] <= 0.58
    for kind in ("township_center", "community_center"):
        assert 0.18 <= booked[kind] / visits[kind] <= 0.28
    assert "village_clinic" not in booked and "private_hospital" not in booked


def test_no_shows_are_five_to_eight_percent_and_cancellations_about_five(county: Built) -> None:
    statuses = _statuses(county)
    total = sum(statuses.values())
    assert 0.05 <= statuses["no_show"] / total <= 0.08
    assert 0.035 <= statuses["cancelled"] / total <= 0.065


def test_about_93_percent_of_patients_come_on_time(county: Built) -> None:
    with Session(county.engine) as session:
        flags = Counter(
            session.scalars(select(Booking.on_time).where(Booking.status == "completed"))
        )
    assert set(flags) == {True, False}
    assert 0.90 <= flags[True] / (flags[True] + flags[False]) <= 0.95


def test_about_81_percent_book_by_self_service(county: Built) -> None:
    with Session(county.engine) as session:
        channels = Counter(session.scalars(select(Booking.channel)))
    share = sum(channels[c] for c in SELF_SERVICE) / sum(channels.values())
    assert abs(share - 0.81) <= 0.05
    assert {"window", "phone", "referral"} <= set(channels)


def test_up_referrals_go_to_county_hospitals_booked_by_a_township_gp(county: Built) -> None:
    gp = aliased(Practitioner)
    with Session(county.engine) as session:
        rows = session.execute(
            select(Institution.kind, Booking.channel, Booking.referred_by, gp.specialty)
            .join(Institution, Institution.id == Booking.institution_id)
            .outerjoin(gp, gp.id == Booking.referred_by)
        ).all()
    county_rows = [r for r in rows if r.kind == "county_hospital"]
    referrals = [r for r in county_rows if r.channel == "referral"]
    assert 0.015 <= len(referrals) / len(county_rows) <= 0.05
    assert all(r.kind == "county_hospital" for r in rows if r.channel == "referral")
    assert all(r.referred_by is not None and r.specialty == "全科医学" for r in referrals)
    assert all(r.referred_by is None for r in rows if r.channel != "referral")


def test_patients_check_in_before_the_call_and_wait_minutes(county: Built) -> None:
    with Session(county.engine) as session:
        rows = session.execute(
            select(
                Booking.created_at,
                Booking.confirmed_at,
                Booking.checked_in_at,
                Booking.called_at,
                Booking.completed_at,
                Booking.queued_at,
                Booking.on_time,
                Booking.calls,
                Slot.starts_at,
                Slot.ends_at,
            )
            .join(Slot, Slot.id == Booking.slot_id)
            .where(Booking.status == "completed")
        ).all()
    waits = []
    for r in rows:
        assert r.created_at <= r.confirmed_at < r.checked_in_at < r.called_at < r.completed_at
        assert r.created_at < r.ends_at  # a slot is booked before it is over
        assert r.on_time == (r.checked_in_at <= r.ends_at)
        assert r.queued_at == (r.starts_at if r.on_time else r.checked_in_at)
        assert r.calls == 1
        waits.append((r.called_at - r.checked_in_at).total_seconds() / 60)
    assert 5 <= statistics.median(waits) <= 15


def test_missed_and_cancelled_bookings_end_as_the_service_ends_them(county: Built) -> None:
    with Session(county.engine) as session:
        rows = session.execute(
            select(Booking, Slot, ClinicSession)
            .join(Slot, Slot.id == Booking.slot_id)
            .join(ClinicSession, ClinicSession.id == Booking.session_id)
            .where(Booking.status.in_(("no_show", "cancelled")))
        ).all()
    assert rows
    for booking, slot, clinic in rows:
        assert booking.checked_in_at is None and booking.called_at is None
        assert booking.calls == 0 and booking.on_time is None
        assert booking.created_at >= clinic.release_at
        if booking.status == "no_show":
            assert booking.ended_at > clinic.ends_at
        else:  # cancelled before the deadline, two hours before the slot
            assert booking.created_at < booking.ended_at
            assert (slot.starts_at - booking.ended_at).total_seconds() >= 2 * 3600


def test_mondays_and_mornings_are_busiest(county: Built) -> None:
    with Session(county.engine) as session:
        rows = session.execute(select(ClinicSession.day, ClinicSession.period).join(Booking)).all()
    weekdays = Counter(day.isoweekday() for day, _ in rows)
    periods = Counter(period for _, period in rows)
    assert weekdays.most_common(1)[0][0] == 1
    assert weekdays[7] < weekdays[5]
    assert periods["morning"] > 1.5 * periods["afternoon"]


# --- schedules ----------------------------------------------------------------------------


def _schedules(county: Built) -> list[tuple[Schedule, Institution, str]]:
    with Session(county.engine) as session:
        return [
            (schedule, institution, code)
            for schedule, institution, code in session.execute(
                select(Schedule, Institution, Department.code)
                .join(Institution, Institution.id == Schedule.institution_id)
                .join(Department, Department.id == Schedule.department_id)
            ).all()
        ]


def test_every_center_has_a_vaccination_clinic_and_general_practice(county: Built) -> None:
    with Session(county.engine) as session:
        centers = session.scalars(
            select(Institution.id).where(
                Institution.kind.in_(("township_center", "community_center"))
            )
        ).all()
    by_center = defaultdict(list)
    for schedule, institution, code in _schedules(county):
        by_center[institution.id].append((schedule, code))
    for center in centers:
        mine = by_center[center]
        vaccination = [s for s, code in mine if s.resource == "vaccination"]
        assert len(vaccination) == 1
        assert {code for s, code in mine if s.resource == "vaccination"} == {"01"}
        assert "6" in vaccination[0].weekdays and "7" not in vaccination[0].weekdays
        assert "携带预防接种证" in (vaccination[0].preparation or "")
        gp = [s for s, code in mine if s.resource == "clinic" and code == "02"]
        assert gp and all("referral" not in s.quotas for s in gp)
        assert all(sum(s.quotas.values()) == 100 for s, _ in mine)
        assert {s.fee_fen for s, _ in mine if s.resource == "clinic"} == {500}
        assert any(s.resource == "ultrasound" and "空腹" in (s.preparation or "") for s, _ in mine)


def test_county_hospitals_have_clinics_doctors_and_exams(county: Built) -> None:
    with Session(county.engine) as session:
        hospitals = {i.id: i for i in session.scalars(select(Institution)).all()}
        titles = dict(session.execute(select(Practitioner.id, Practitioner.title)).all())
        codes = defaultdict(set)
        for inst, code in session.execute(select(Department.institution_id, Department.code)):
            codes[inst].add(code)
    rows = _schedules(county)
    county_ids = [i for i, inst in hospitals.items() if inst.kind == "county_hospital"]
    assert len(county_ids) == 5
    for hospital in county_ids:
        mine = [(s, code) for s, inst, code in rows if inst.id == hospital]
        clinics = {code for s, code in mine if s.resource == "clinic"}
        assert clinics == codes[hospital] & CLINICAL
        assert {"ct", "ultrasound"} <= {s.resource for s, _ in mine}
        for schedule, code in mine:
            assert schedule.quotas == DEFAULT_QUOTAS
            if schedule.resource in EXAMS:
                assert schedule.fee_fen == 0 and code in ("03", "32")
            elif schedule.resource == "doctor":
                title = titles[schedule.practitioner_id]
                low, high = (3_000, 5_000) if title == "chief_physician" else (2_000, 3_000)
                assert title in ("chief_physician", "associate_chief_physician")
                assert low <= schedule.fee_fen <= high
            else:
                assert schedule.fee_fen == 1_000
    resources = Counter(s.resource for s, inst, _ in rows if inst.kind == "county_hospital")
    assert resources["doctor"] > 10 and resources["mri"] >= 1
    endoscopy = [s for s, _, _ in rows if s.resource == "endoscopy"]
    assert endoscopy and all("禁食" in (s.preparation or "") for s in endoscopy)
    night = [s for s, _, _ in rows if "night" in s.periods]
    assert night and all(s.periods == "night" for s in night)
    assert all(len(s.room) <= 30 and s.room.strip() for s, _, _ in rows)
    assert not [s for s, inst, _ in rows if inst.kind in ("village_clinic", "private_hospital")]
