"""Schedules of the county's hospitals and centers, and a year of bookings behind the visits.

Bookings follow the visits: the stage listens to the outpatient encounters as they are written
and books a share of them (55% at county hospitals, 25% at township and community centers;
village clinics and private hospitals take no bookings), each in a session of the same
institution and department on the day of the visit, called when the visit began. No-shows
(爽约) and cancellations are drawn beside them, on the same sessions. A booked visit goes to
the doctor's own schedule when a senior physician saw the patient on one of his half-days,
otherwise to a department clinic room.

Rooms and places follow the demand: a department opens as many clinic rooms on a half-day as
its busiest such half-day needs (``ROOM_LOAD`` bookings a room), and each schedule has the
fewest places per slice with which at most ``FULL_SHARE`` of its bookings find their session
full. Places are taken as the booking service gives them (a channel's own, or a released
referral place for a public channel); a patient who finds none, or who comes to a kiosk or
window when his channel's places are over, is seen as a walk-in without a booking.

Only sessions that have bookings are written, each with all of its slots, numbered as
``booking.service.schedules`` numbers them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, DropConstraint

from yigongti.booking.codes import DEFAULT_QUOTAS, PERIODS
from yigongti.booking.service.schedules import MAX_SLICES_CAPACITY, spread_channels
from yigongti.db.migrate import load_models
from yigongti.registry.codes import department_catalog
from yigongti.registry.models import Practitioner, PractitionerDepartment
from yigongti.synth import ids
from yigongti.synth.institutions import Network
from yigongti.synth.loader import BulkWriter
from yigongti.synth.people import Population
from yigongti.synth.places import Places
from yigongti.synth.staff import GENERAL_PRACTICE, PREVENTIVE, Staff
from yigongti.synth.timing import DAY_S, UTC_OFFSET_S

# Channels in a fixed order; the first five are public, referral is kept for up-referrals.
CHANNELS = ("online", "kiosk", "window", "phone", "external", "referral")
CHANNEL_INDEX = {c: i for i, c in enumerate(CHANNELS)}
ONLINE, KIOSK, WINDOW, PHONE, EXTERNAL, REFERRAL = range(6)
STATUSES = ("completed", "no_show", "cancelled")
COMPLETED, NO_SHOW, CANCELLED = range(3)
DAY_PERIODS = ("morning", "afternoon")  # visits start 08:00-17:00: never at night

# Share of outpatient visits that were booked, by kind of institution.
BOOKED_SHARE = {"county_hospital": 0.55, "township_center": 0.25, "community_center": 0.25}
NO_SHOW_SHARE, CANCELLED_SHARE = 0.065, 0.05  # of all bookings
_KEPT = 1.0 - NO_SHOW_SHARE - CANCELLED_SHARE
# Channel mix (CHANNELS order) of booked visits, and of bookings made ahead that were missed
# or cancelled (nobody books at a kiosk or window and then stays away): about 81% self-service
# (online, kiosk, external) over all, about 3% up-referrals at county hospitals.
VISIT_CHANNELS = {
    True: (0.57, 0.15, 0.09, 0.05, 0.11, 0.03),  # county hospital
    False: (0.66, 0.12, 0.17, 0.05, 0.0, 0.0),  # township or community center
}
AHEAD_CHANNELS = {True: (0.72, 0.0, 0.0, 0.12, 0.11, 0.05), False: (0.84, 0.0, 0.0, 0.16, 0.0, 0.0)}
# Days between booking and visit (0 to the 7 of the release) for bookings made ahead.
LEAD_DAYS = np.array([0.30, 0.25, 0.15, 0.10, 0.07, 0.05, 0.04, 0.04])
# channel -> check-in method probabilities (qr, kiosk, window)
CHECKIN = {
    ONLINE: (0.75, 0.25, 0.0),
    KIOSK: (0.0, 1.0, 0.0),
    WINDOW: (0.0, 0.0, 1.0),
    PHONE: (0.0, 0.5, 0.5),
    EXTERNAL: (0.75, 0.25, 0.0),
    REFERRAL: (0.4, 0.0, 0.6),
}
CHECKIN_METHODS = ("qr", "kiosk", "window")
WAIT_MEDIAN_MIN, WAIT_SIGMA = 9.0, 0.65  # check-in to call, lognormal
LATE_SHARE = 0.13  # bookings made ahead whose patient arrives after his slot has ended
AGED = 80  # recognised priority at check-in

TOWNSHIP_QUOTAS = {"online": 50, "kiosk": 10, "window": 30, "phone": 10}
ROOM_LOAD = 30  # bookings a clinic room takes on its busiest half-day
FULL_SHARE = 0.02  # of a schedule's bookings that may find their session full
SLICE_MINUTES = 30
NO_CLINIC = ("20", "30", "31", "32")  # emergency, laboratory, pathology, imaging
CENTER_KINDS = ("township_center", "community_center")
SENIOR_TITLES = ("chief_physician", "associate_chief_physician")
COUNTY_FEE, CENTER_FEE, NIGHT_FEE = 1_000, 500, 1_000
DOCTOR_FEES = {
    "chief_physician": (3_000, 4_000, 5_000),
    "associate_chief_physician": (2_000, 3_000),
}
ROOM_STEM = {
    "01": "保健",
    "02": "全科",
    "03": "内科",
    "04": "外科",
    "05": "妇产科",
    "07": "儿科",
    "10": "眼科",
    "11": "耳鼻喉科",
    "12": "口腔科",
    "13": "皮肤科",
    "21": "康复科",
    "50": "中医科",
}
PREPARATION = {
    "ct": "携带既往影像资料，去除金属饰品；增强CT检查前需空腹4小时",
    "mri": "去除随身金属物品；体内有心脏起搏器等金属植入物者请提前告知医生",
    "ultrasound": "腹部超声需空腹8小时；泌尿系及妇科超声检查前请憋尿",
    "endoscopy": "检查前一天晚餐后禁食，检查当日早晨禁食禁水；无痛胃肠镜须家属陪同",
    "vaccination": "携带预防接种证，接种后留观30分钟",
}
WRITE_ROWS = 200_000  # rows per insert, so that the text of a column never piles up
SCHEDULES_BEFORE_DAYS = 30  # schedules were published this long before the year
MINUTE_MS = 60_000


@dataclass
class _Spec:
    """A schedule before it is written; day clinics and doctors grow their places to demand."""

    inst: int
    dept: int
    resource: str
    name: str
    room: str
    fee_fen: int
    weekdays: str
    periods: tuple[str, ...]
    quotas: dict[str, int]
    slice_minutes: int = SLICE_MINUTES
    capacity: int = 1
    practitioner: str | None = None
    preparation: str | None = None

    def period_minutes(self, period: str) -> int:
        """Length of one of this schedule's sessions in minutes."""
        _, _, start, end = PERIODS[period]
        return (end.hour - start.hour) * 60 + end.minute - start.minute

    def slices(self) -> int:
        """Time slices of one session, as ``_session_rows`` cuts them (periods of a schedule
        are equally long here)."""
        slices = self.period_minutes(self.periods[0]) // self.slice_minutes
        return min(slices, MAX_SLICES_CAPACITY // self.capacity)


@dataclass(frozen=True)
class Doctor:
    """A senior physician who may run a doctor's schedule."""

    hex: str
    name: str
    title: str
    inst: int
    dept: int


def senior_doctors(session: Session, network: Network) -> list[Doctor]:
    """Chief and associate chief physicians of county hospitals' clinical departments."""
    inst_index = {i: n for n, i in enumerate(network.ids)}
    dept_index = {d: n for n, d in enumerate(network.department_ids)}
    rows = session.execute(
        select(
            Practitioner.id,
            Practitioner.name,
            Practitioner.title,
            Practitioner.institution_id,
            PractitionerDepartment.department_id,
        )
        .join(PractitionerDepartment, PractitionerDepartment.practitioner_id == Practitioner.id)
        .where(Practitioner.title.in_(SENIOR_TITLES), Practitioner.profession == "physician")
        .order_by(Practitioner.id)
    ).all()
    doctors = []
    for pid, name, title, inst_id, dept_id in rows:
        inst, dept = inst_index[inst_id], dept_index[dept_id]
        if network.kinds[inst] == "county_hospital" and (
            network.department_codes[dept] not in NO_CLINIC
        ):
            doctors.append(Doctor(pid.hex, name, title, inst, dept))
    return doctors


@dataclass
class _Drawn:
    """Bookings drawn from one month of visits, before they are placed in sessions."""

    resident: np.ndarray  # population index
    inst: np.ndarray
    dept: np.ndarray
    doctor: np.ndarray  # index into the senior doctors, -1 for anyone else
    start: np.ndarray  # visit start (the call), UTC ms; a missed booking's wished time
    end: np.ndarray  # visit end, UTC ms
    status: np.ndarray

    @classmethod
    def join(cls, parts: list[_Drawn]) -> _Drawn:
        """The bookings of several months, one after the other."""
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))

    def take(self, rows: np.ndarray) -> _Drawn:
        """The bookings at ``rows``."""
        return _Drawn(*(getattr(self, f.name)[rows] for f in fields(self)))


@dataclass
class BookingTally:
    """Rows the booking stage wrote."""

    schedules: int = 0
    clinic_sessions: int = 0
    slots: int = 0
    bookings: int = 0


class _Listening(BulkWriter):
    """A bulk writer that shows the encounters it writes to the booking factory."""

    def __init__(self, connection: Connection, factory: BookingFactory) -> None:
        super().__init__(connection)
        self.factory = factory

    def insert(self, table: str, columns: dict[str, Sequence[object]]) -> int:
        if table == "encounters":
            self.factory.observe(columns)
        return super().insert(table, columns)


def _ms(texts: list[str]) -> np.ndarray:
    """UTC milliseconds of timestamps as the bulk writer wrote them (``+00`` on PostgreSQL)."""
    stamps = np.array([t[:26] for t in texts], dtype="datetime64[us]")
    return stamps.astype(np.int64) // 1000


def _hex_keys(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """The 32-digit hex ids of (high, low) halves as a sortable byte-string array."""
    buf = np.empty((len(hi), 2), dtype=">u8")
    buf[:, 0], buf[:, 1] = hi, lo
    return np.frombuffer(buf.tobytes().hex().encode(), dtype="S32")


def _rank(keys: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal ``keys`` (which must be sorted)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    starts = np.repeat(first, np.diff(np.r_[first, n]))
    return np.arange(n) - starts


def _local_ms(day: np.ndarray, minute: np.ndarray | int) -> np.ndarray:
    """UTC ms of ``minute`` after local midnight of ``day`` (days since the epoch)."""
    return (day * DAY_S + np.asarray(minute) * 60 - UTC_OFFSET_S) * 1000


class BookingFactory:
    """Collects booked visits while encounters are written, then writes the booking tables."""

    def __init__(
        self,
        seed: int,
        year: int,
        population: Population,
        places: Places,
        network: Network,
        staff: Staff,
        doctors: list[Doctor],
    ) -> None:
        self.seed, self.network, self.staff, self.doctors = seed, network, staff, doctors
        self.first_day = int(np.datetime64(date(year, 1, 1), "D").astype(np.int64))
        self.base_ms = ids.shanghai_midnight_ms(date(year, 1, 1))
        self.inst_index = {i.hex: n for n, i in enumerate(network.ids)}
        self.dept_index = {d.hex: n for n, d in enumerate(network.department_ids)}
        self.doctor_index = {d.hex: n for n, d in enumerate(doctors)}
        self.share = np.array([BOOKED_SHARE.get(k, 0.0) for k in network.kinds])
        self.county = np.array([k == "county_hospital" for k in network.kinds])
        keys = _hex_keys(population.hi, population.lo)
        self.pop_order = np.argsort(keys, kind="stable")
        self.pop_keys = keys[self.pop_order]
        self.pop = population
        self.age = population.age
        self.center = network.town_center[places.village_town[population.village]]
        self.inst_hex = np.array([i.hex for i in network.ids], dtype=object)
        self.dept_hex = np.array([d.hex for d in network.department_ids], dtype=object)
        self.months: list[_Drawn] = []
        self.rng = ids.stream(seed, ids.BOOKINGS, 0)
        self.specs: list[_Spec] = []
        self.room1 = np.full(len(network.department_ids), -1, dtype=np.int64)  # first rooms
        self.doctor_spec = np.full(max(len(doctors), 1), -1, dtype=np.int64)
        self._standing_schedules()

    # --- schedules ----------------------------------------------------------------------

    def _add(self, spec: _Spec) -> int:
        self.specs.append(spec)
        return len(self.specs) - 1

    def _departments(self, inst: int) -> dict[str, int]:
        row = self.network.department_of[inst]
        return {self.network.department_codes[d]: int(d) for d in row[row >= 0]}

    def _standing_schedules(self) -> None:
        """Day clinics (room 1), doctors, exams, vaccination and night clinics."""
        rng, network = self.rng, self.network
        leads = {members[0] for members in network.community_hospitals}
        by_dept: dict[int, list[int]] = {}
        for n, doctor in enumerate(self.doctors):
            by_dept.setdefault(doctor.dept, []).append(n)
        catalog = department_catalog()
        for inst, kind in enumerate(network.kinds):
            if kind not in ("county_hospital", *CENTER_KINDS):
                continue
            county = kind == "county_hospital"
            depts = self._departments(inst)
            quotas = dict(DEFAULT_QUOTAS) if county else dict(TOWNSHIP_QUOTAS)
            for code, dept in depts.items():
                if code in NO_CLINIC:
                    continue
                daily = county or code in (GENERAL_PRACTICE, "03", "07")
                self.room1[dept] = self._add(
                    _Spec(
                        inst,
                        dept,
                        "clinic",
                        catalog[code]["zh"],
                        f"{ROOM_STEM[code]}1诊室",
                        COUNTY_FEE if county else CENTER_FEE,
                        "1234567" if daily else "123456",
                        DAY_PERIODS,
                        quotas,
                    )
                )
                for room, n in enumerate(by_dept.get(dept, []), start=1):
                    self._doctor_schedule(rng, n, f"{ROOM_STEM[code]}专家{room}诊室")
            if county:
                self._county_extras(inst, depts, inst in leads)
            else:
                self._center_extras(rng, inst, depts)

    def _doctor_schedule(self, rng: np.random.Generator, n: int, room: str) -> None:
        doctor = self.doctors[n]
        days = np.sort(rng.choice(5, size=int(rng.integers(2, 4)), replace=False)) + 1
        periods = DAY_PERIODS if rng.random() < 0.4 else DAY_PERIODS[:1]
        fees = DOCTOR_FEES[doctor.title]
        self.doctor_spec[n] = self._add(
            _Spec(
                doctor.inst,
                doctor.dept,
                "doctor",
                doctor.name,
                room,
                int(fees[int(rng.integers(len(fees)))]),
                "".join(str(d) for d in days.tolist()),
                periods,
                dict(DEFAULT_QUOTAS),
                practitioner=doctor.hex,
            )
        )

    def _exam(
        self,
        inst: int,
        dept: int,
        resource: str,
        room: str,
        weekdays: str,
        periods: tuple[str, ...],
        quotas: dict[str, int],
        slice_minutes: int,
        capacity: int,
    ) -> None:
        name = {"ct": "CT", "mri": "磁共振", "ultrasound": "超声", "endoscopy": "内镜"}[resource]
        self._add(
            _Spec(
                inst,
                dept,
                resource,
                name,
                room,
                0,  # the exam itself is billed with the visit that ordered it
                weekdays,
                periods,
                dict(quotas),
                slice_minutes=slice_minutes,
                capacity=capacity,
                preparation=PREPARATION[resource],
            )
        )

    def _county_extras(self, inst: int, depts: dict[str, int], lead: bool) -> None:
        imaging = depts.get("32")
        if imaging is not None:
            self._exam(inst, imaging, "ct", "CT室", "1234567", DAY_PERIODS, DEFAULT_QUOTAS, 15, 2)
            for room in ("超声1室", "超声2室") if lead else ("超声1室",):
                self._exam(
                    inst, imaging, "ultrasound", room, "123456", DAY_PERIODS, DEFAULT_QUOTAS, 15, 2
                )
            if lead:
                self._exam(
                    inst, imaging, "mri", "磁共振室", "123456", DAY_PERIODS, DEFAULT_QUOTAS, 30, 1
                )
        if lead and "03" in depts:
            self._exam(
                inst, depts["03"], "endoscopy", "内镜中心", "12345", DAY_PERIODS[:1],
                DEFAULT_QUOTAS, 30, 2,
            )  # fmt: skip
        if lead:
            for code, name, weekdays in (("07", "儿科", "1234567"), ("02", "全科", "12345")):
                if code in depts:
                    self._add(
                        _Spec(
                            inst,
                            depts[code],
                            "clinic",
                            f"{name}夜间门诊",
                            f"{name}夜诊室",
                            NIGHT_FEE,
                            weekdays,
                            ("night",),
                            dict(DEFAULT_QUOTAS),
                            capacity=2,
                        )
                    )

    def _center_extras(self, rng: np.random.Generator, inst: int, depts: dict[str, int]) -> None:
        if PREVENTIVE in depts:
            days = np.sort(rng.choice(5, size=int(rng.integers(2, 4)), replace=False)) + 1
            self._add(
                _Spec(
                    inst,
                    depts[PREVENTIVE],
                    "vaccination",
                    "预防接种",
                    "预防接种门诊",
                    0,
                    "".join(str(d) for d in days.tolist()) + "6",  # and Saturday
                    DAY_PERIODS[:1],
                    dict(TOWNSHIP_QUOTAS),
                    capacity=6,
                    preparation=PREPARATION["vaccination"],
                )
            )
        if "32" in depts:
            self._exam(
                inst, depts["32"], "ultrasound", "B超室", "12345", DAY_PERIODS[:1],
                TOWNSHIP_QUOTAS, 15, 1,
            )  # fmt: skip

    def _works(self) -> np.ndarray:
        """(schedule, weekday from Monday, day period) -> the schedule has a session then."""
        works = np.zeros((len(self.specs), 7, len(DAY_PERIODS)), dtype=bool)
        for s, spec in enumerate(self.specs):
            for digit in spec.weekdays:
                for p, period in enumerate(DAY_PERIODS):
                    works[s, int(digit) - 1, p] = period in spec.periods
        return works

    # --- listening to the visits --------------------------------------------------------

    def listen(self, connection: Connection) -> BulkWriter:
        """A bulk writer for the encounters that lets this factory see them."""
        return _Listening(connection, self)

    def _residents(self, texts: list[str]) -> np.ndarray:
        keys = np.array(texts, dtype="S32")
        return self.pop_order[np.searchsorted(self.pop_keys, keys)]

    def observe(self, columns: dict[str, Sequence[object]]) -> None:
        """Draw the bookings of one month's encounters (called once a month, in order)."""
        rng = ids.stream(self.seed, ids.BOOKINGS, len(self.months) + 1)
        n = len(columns["id"])
        inst = np.fromiter(map(self.inst_index.__getitem__, columns["institution_id"]), np.int64, n)
        outpatient = np.array(columns["kind"]) == "outpatient"
        visited = np.flatnonzero((rng.random(n) < self.share[inst]) & outpatient)
        extra = rng.poisson(len(visited) / _KEPT * np.array([NO_SHOW_SHARE, CANCELLED_SHARE]))
        if len(visited) == 0:
            extra[:] = 0
        # A missed or cancelled booking takes the place and time of a booked visit, for
        # someone else who saw a doctor this month.
        rows = np.concatenate(
            [visited, visited[rng.integers(0, max(len(visited), 1), extra.sum())]]
        )
        who = np.concatenate([visited, rng.integers(0, n, extra.sum())]).tolist()
        picked = rows.tolist()
        residents, depts = columns["resident_id"], columns["department_id"]
        practitioners = columns["practitioner_id"]
        self.months.append(
            _Drawn(
                resident=self._residents([residents[i] for i in who]),
                inst=inst[rows],
                dept=np.fromiter(
                    (self.dept_index[depts[i]] for i in picked), np.int64, len(picked)
                ),
                doctor=np.fromiter(
                    (self.doctor_index.get(str(practitioners[i]), -1) for i in picked),
                    np.int64,
                    len(picked),
                ),
                start=_ms([str(columns["started_at"][i]) for i in picked]),
                end=_ms([str(columns["ended_at"][i]) for i in picked]),
                status=np.repeat(
                    np.array([COMPLETED, NO_SHOW, CANCELLED], np.int8), [len(visited), *extra]
                ),
            )
        )

    # --- the year's bookings ------------------------------------------------------------

    def write(self, connection: Connection) -> BookingTally:
        """Size the schedules, place the bookings and write every booking table (in the
        connection's transaction)."""
        rng = self.rng
        d = _Drawn.join(self.months) if self.months else None
        self.months = []
        plan = _Plan(self, rng, d)
        writer = BulkWriter(connection)
        fk = None
        if writer.dialect == "postgresql":
            # Slots name their booking and bookings their slot: the slot's key waits.
            table = load_models().metadata.tables["slots"]
            fk = next(c for c in table.foreign_key_constraints if c.name == "fk_slot_booking")
            connection.execute(DropConstraint(fk))
        tally = BookingTally()
        tally.schedules = plan.write_schedules(writer)
        tally.clinic_sessions = plan.write_sessions(writer)
        tally.slots = plan.write_slots(writer)
        tally.bookings = plan.write_bookings(writer)
        if fk is not None:
            connection.execute(AddConstraint(fk))
        return tally


class _Plan:
    """The year's bookings placed in sessions and slots, with their times, ready to write."""

    def __init__(self, factory: BookingFactory, rng: np.random.Generator, d: _Drawn | None):
        self.f, self.rng = factory, rng
        if d is None:
            d = _Drawn(*(np.zeros(0, np.int64) for _ in range(7)))
        self._draw_times(d)
        d = self._route(d)
        self._sessions(d)
        self._size()
        self._place()

    # channels and times that do not depend on the slot

    def _draw_times(self, d: _Drawn) -> None:
        rng, n = self.rng, len(d.status)
        county = self.f.county[d.inst]
        channel = np.zeros(n, dtype=np.int64)
        for tier in (True, False):
            for ahead, mix in ((False, VISIT_CHANNELS[tier]), (True, AHEAD_CHANNELS[tier])):
                rows = np.flatnonzero((county == tier) & ((d.status != COMPLETED) == ahead))
                p = np.array(mix)
                channel[rows] = rng.choice(len(CHANNELS), size=len(rows), p=p / p.sum())
        wait = np.clip(rng.lognormal(np.log(WAIT_MEDIAN_MIN), WAIT_SIGMA, n), 1, 120)
        checkin = d.start - (wait * MINUTE_MS).astype(np.int64)
        local_s = d.start // 1000 + UTC_OFFSET_S
        day = local_s // DAY_S
        on_site = (channel == KIOSK) | (channel == WINDOW)
        # Booked ahead: a lead of 0-7 days; on the day at 07:00 or later, before arriving.
        lead = rng.choice(len(LEAD_DAYS), size=n, p=LEAD_DAYS)
        lead = np.where(d.status == CANCELLED, np.maximum(lead, 1), lead)
        earliest = np.where(lead == 7, 8 * 60, 7 * 60)  # the release is at 08:00
        created = _local_ms(day - lead, earliest) + (
            rng.random(n) * (23 * 60 - earliest) * MINUTE_MS
        ).astype(np.int64)
        today = lead == 0
        first = _local_ms(day, 7 * 60)
        last = np.maximum(checkin - 10 * MINUTE_MS, first + MINUTE_MS)
        created[today] = first[today] + (
            rng.random(int(today.sum())) * (last - first)[today]
        ).astype(np.int64)
        phone = channel == PHONE  # office hours
        created[phone & ~today] = _local_ms(day - lead, 8 * 60)[phone & ~today] + (
            rng.random(int((phone & ~today).sum())) * 9 * 60 * MINUTE_MS
        ).astype(np.int64)
        at_desk = on_site & (d.status == COMPLETED)
        created[at_desk] = checkin[at_desk] - (
            rng.uniform(2, 15, int(at_desk.sum())) * MINUTE_MS
        ).astype(np.int64)
        self.late = (rng.random(n) < LATE_SHARE) & ~on_site & (d.status != CANCELLED)
        self.channel, self.checkin, self.created, self.day = channel, checkin, created, day
        self.period = (local_s % DAY_S >= 12 * 3600).astype(np.int64)
        self.weekday = (day + 3) % 7  # 1970-01-01 was a Thursday

    # schedules

    def _route(self, d: _Drawn) -> _Drawn:
        """Doctor's schedule or a clinic room of each booking; drop those with no session."""
        f, rng = self.f, self.rng
        works = f._works()
        sched = np.full(len(d.status), -1, dtype=np.int64)
        wd, period = self.weekday, self.period
        doctor_spec = np.where(d.doctor >= 0, f.doctor_spec[np.maximum(d.doctor, 0)], -1)
        spec_dept = np.array([s.dept for s in f.specs], dtype=np.int64)
        own = (doctor_spec >= 0) & (spec_dept[np.maximum(doctor_spec, 0)] == d.dept)
        own &= works[np.maximum(doctor_spec, 0), wd, period]
        sched[own] = doctor_spec[own]
        room1 = f.room1[d.dept]
        clinic = ~own & (room1 >= 0) & works[np.maximum(room1, 0), wd, period]
        # Rooms a department opens on each half-day: as many as its busiest such half-day needs.
        holds = d.status != CANCELLED
        key = (room1 * 400 + (self.day - f.first_day)) * 2 + period
        rows = np.flatnonzero(clinic & holds)
        groups, counts = np.unique(key[rows], return_counts=True)
        busiest = np.zeros((len(f.specs), 7, 2), dtype=np.int64)
        g_spec = groups // 800
        g_day = (groups // 2) % 400 + f.first_day
        np.maximum.at(busiest, (g_spec, (g_day + 3) % 7, groups % 2), counts)
        need = np.maximum(-(-busiest // ROOM_LOAD), 1) * works[:, :, :]
        rooms = np.zeros((len(f.specs), 7, 2, max(int(need.max(initial=1)), 1)), dtype=np.int64)
        rooms[:, :, :, 0] = np.arange(len(f.specs))[:, None, None]
        for s in np.flatnonzero(need.max(axis=(1, 2)) > 1).tolist():
            self._more_rooms(s, need[s], rooms)
        # Balanced over the rooms open that half-day, in random order.
        room = np.zeros(len(d.status), dtype=np.int64)
        opened = need[np.maximum(room1, 0), wd, period]
        order = np.lexsort((rng.random(len(rows)), key[rows]))
        sorted_rows = rows[order]
        room[sorted_rows] = _rank(key[sorted_rows]) % opened[sorted_rows]
        gone = np.flatnonzero(clinic & ~holds)
        room[gone] = (rng.random(len(gone)) * opened[gone]).astype(np.int64)
        sched[clinic] = rooms[room1[clinic], wd[clinic], period[clinic], room[clinic]]
        kept = sched >= 0
        self.sched = sched[kept]
        for name in ("channel", "checkin", "created", "day", "period", "weekday", "late"):
            setattr(self, name, getattr(self, name)[kept])
        return d.take(np.flatnonzero(kept))

    def _more_rooms(self, s: int, need: np.ndarray, rooms: np.ndarray) -> None:
        """Rooms 2, 3, ... of a day clinic, each open on the half-days that need it."""
        f = self.f
        base = f.specs[s]
        code = f.network.department_codes[base.dept]
        for k in range(2, int(need.max()) + 1):
            days = [[str(w + 1) for w in range(7) if need[w, p] >= k] for p in range(2)]
            plan = (
                [(DAY_PERIODS, days[0])]
                if days[0] == days[1]
                else [((period,), days[p]) for p, period in enumerate(DAY_PERIODS) if days[p]]
            )
            for periods, weekdays in plan:
                spec = _Spec(
                    base.inst,
                    base.dept,
                    "clinic",
                    base.name,
                    f"{ROOM_STEM[code]}{k}诊室",
                    base.fee_fen,
                    "".join(weekdays),
                    periods,
                    dict(base.quotas),
                )
                new = f._add(spec)
                for period in periods:
                    p = DAY_PERIODS.index(period)
                    for w in weekdays:
                        rooms[s, int(w) - 1, p, k - 1] = new

    # sessions

    def _sessions(self, d: _Drawn) -> None:
        f = self.f
        key = (self.sched * 400 + (self.day - f.first_day)) * 2 + self.period
        groups, self.session = np.unique(key, return_inverse=True)
        self.s_sched = groups // 800
        self.s_day = (groups // 2) % 400 + f.first_day
        self.s_period = groups % 2
        start_minute = np.array(
            [PERIODS[p][2].hour * 60 + PERIODS[p][2].minute for p in DAY_PERIODS]
        )
        end_minute = np.array([PERIODS[p][3].hour * 60 + PERIODS[p][3].minute for p in DAY_PERIODS])
        self.s_start = _local_ms(self.s_day, start_minute[self.s_period])
        self.s_end = _local_ms(self.s_day, end_minute[self.s_period])
        self.d = d

    def _size(self) -> None:
        """Places per slice of each day schedule: the fewest with which at most ``FULL_SHARE``
        of its bookings find their session full for their channel (those patients came
        without a booking, as walk-ins)."""
        f = self.f
        holds = self.d.status != CANCELLED
        demand = np.zeros((len(self.s_sched), len(CHANNELS)), dtype=np.int64)
        np.add.at(demand, (self.session[holds], self.channel[holds]), 1)
        quota_sets: list[dict[str, int]] = []
        quota_of = np.zeros(len(f.specs), dtype=np.int64)
        for s, spec in enumerate(f.specs):
            if spec.quotas not in quota_sets:
                quota_sets.append(spec.quotas)
            quota_of[s] = quota_sets.index(spec.quotas)
        # Booked schedules are day clinics and doctors: 7 slices of 30 minutes a session.
        slices = f.specs[0].period_minutes(DAY_PERIODS[0]) // SLICE_MINUTES
        largest = MAX_SLICES_CAPACITY // slices
        places = np.zeros((len(quota_sets), largest + 1, len(CHANNELS)), dtype=np.int64)
        for q, quotas in enumerate(quota_sets):
            for cap in range(1, largest + 1):
                for c in spread_channels(slices * cap, quotas):
                    places[q, cap, CHANNEL_INDEX[c]] += 1
        n_specs = len(f.specs)
        held = np.bincount(self.s_sched, weights=demand.sum(axis=1), minlength=n_specs)
        chosen = np.zeros(n_specs, dtype=np.int64)
        q_of_session = quota_of[self.s_sched]
        for cap in range(1, largest + 1):
            have = places[q_of_session, cap]
            over = np.maximum(demand[:, :REFERRAL] - have[:, :REFERRAL], 0).sum(axis=1)
            lost = np.maximum(demand[:, REFERRAL] + over - have[:, REFERRAL], 0)
            lost_by_spec = np.bincount(self.s_sched, weights=lost, minlength=n_specs)
            fits = (chosen == 0) & (lost_by_spec <= FULL_SHARE * held)
            chosen[fits] = cap
            if (chosen > 0).all():
                break
        chosen[chosen == 0] = largest
        booked = np.zeros(n_specs, dtype=bool)
        booked[self.s_sched] = True
        for s in np.flatnonzero(booked).tolist():
            f.specs[s].capacity = max(f.specs[s].capacity, int(chosen[s]))

    # slots

    def _place(self) -> None:
        """Numbers of the bookings, under the rules of the booking service.

        A patient on time has a place of his channel in the slice he arrived in or a later
        one (a public channel may take a released referral place when its own are over); a
        late one has a place that ended before he came. Places taken twice go to the earlier
        booking, the other moves to a referral place or, with none left, was never booked.
        """
        d, rng = self.d, self.rng
        self._layouts()
        counts, base = self.counts.ravel(), self.base.ravel()
        sched, status, channel = self.sched, d.status, self.channel
        start = self.s_start[self.session]
        step = self.slice_ms[sched]
        arrived = np.clip((self.checkin - start) // step, 0, self.n_slices[sched] - 1)
        late = self.late & (arrived >= 1) & (status != CANCELLED)
        wish = np.where(late, arrived - 1, arrived)
        holds = status != CANCELLED
        public = channel != REFERRAL

        def find(slot_channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Position among the schedule's places of ``slot_channel`` wished by each."""
            layout = sched * len(CHANNELS) + slot_channel
            key = layout * 64 + wish
            after = np.searchsorted(self.flat_key, key) - base[layout]
            before = np.searchsorted(self.flat_key, key, side="right") - base[layout] - 1
            pos = np.where(late, before, after)
            return pos, (pos >= 0) & (pos < counts[layout])

        _, own_found = find(channel)
        _, ref_found = find(np.full(len(sched), REFERRAL))
        slot_channel = np.where(public & ~own_found & ref_found, REFERRAL, channel)
        chose = public & (slot_channel == REFERRAL)
        # At a kiosk or window on the day, a place that is over cannot be booked: a patient
        # who finds none still to come is seen without a booking.
        on_site = (channel == KIOSK) | (channel == WINDOW)
        dropped = on_site & holds & ~own_found & ~ref_found
        # Two rounds: a full channel sends a public booking to the referral places, a full
        # referral pool sends it back; what is left over then was never booked.
        for last in (False, True):
            rows = np.flatnonzero(holds & ~dropped)
            order = rows[
                np.lexsort(
                    (self.created[rows], public[rows], slot_channel[rows], self.session[rows])
                )
            ]
            group = self.session[order] * 8 + slot_channel[order]
            layout = sched[order] * len(CHANNELS) + slot_channel[order]
            over = order[_rank(group) >= counts[layout]]
            if last:
                dropped[over] = True
                break
            back = chose[over]
            slot_channel[over[back]] = channel[over[back]]
            spill = over[~back & public[over]]
            slot_channel[spill] = REFERRAL
            dropped[over[~back & ~public[over]]] = True

        # Numbers: each the wished place or the nearest free one after it, moved earlier only
        # where the last places are taken.
        number = np.zeros(len(sched), dtype=np.int64)
        pos, _ = find(slot_channel)
        rows = np.flatnonzero(holds & ~dropped)
        order = rows[
            np.lexsort((d.start[rows], wish[rows], slot_channel[rows], self.session[rows]))
        ]
        group = self.session[order] * 8 + slot_channel[order]
        i = _rank(group)
        layout = sched[order] * len(CHANNELS) + slot_channel[order]
        group_no = np.cumsum(np.r_[True, group[1:] != group[:-1]]) - 1
        size = np.bincount(group_no)[group_no]
        p = np.clip(pos[order], 0, counts[layout])
        climb = np.maximum.accumulate(p - i + group_no * 1_000) - group_no * 1_000
        j = np.minimum(i + climb, counts[layout] - size + i)
        number[order] = self.flat_number[base[layout] + j]
        # A cancelled booking had a place of its channel (or a referral one); it is free again.
        gone = np.flatnonzero(~holds)
        own = counts[sched[gone] * len(CHANNELS) + channel[gone]] > 0
        slot_channel[gone] = np.where(own, channel[gone], REFERRAL)
        layout = sched[gone] * len(CHANNELS) + slot_channel[gone]
        p = np.clip(pos[gone], 0, np.maximum(counts[layout] - 1, 0))
        number[gone] = self.flat_number[base[layout] + p]

        kept = np.flatnonzero(~dropped)
        self.dropped = int(dropped.sum())
        self.d = d = d.take(kept)
        for name in ("sched", "session", "channel", "checkin", "created", "day"):
            setattr(self, name, getattr(self, name)[kept])
        self.number, self.slot_channel = number[kept], slot_channel[kept]
        slice_no = (self.number - 1) // self.capacity[self.sched]
        self.slot_start = self.s_start[self.session] + slice_no * self.slice_ms[self.sched]
        self.slot_end = self.slot_start + self.slice_ms[self.sched]
        # Who was not late but had an earlier place came within it and waited to be called.
        status = d.status
        prompt = (status == COMPLETED) & ~late[kept] & (self.checkin > self.slot_end)
        came = self.slot_end - (rng.random(len(status)) * self.slice_ms[self.sched]).astype(
            np.int64
        )
        self.checkin = np.where(prompt, came, self.checkin)
        # Booked before the slot ended, a visit's booking before its check-in; a public
        # booking of a referral place was made after the place's release (24 hours before
        # the session), a cancelled one before the cancellation deadline.
        created = np.minimum(self.created, self.slot_end - MINUTE_MS)
        created = np.where(
            status == COMPLETED, np.minimum(created, self.checkin - 2 * MINUTE_MS), created
        )
        release = self.s_start[self.session] - 24 * 3600 * 1000
        fix = np.flatnonzero(
            (self.slot_channel == REFERRAL) & (self.channel != REFERRAL) & (created < release)
        )
        upper = np.where(
            status[fix] == CANCELLED,
            release[fix] + 20 * 3600 * 1000,
            np.minimum(created[fix] + 24 * 3600 * 1000, self.slot_end[fix]) - 2 * MINUTE_MS,
        )
        upper = np.where(status[fix] == COMPLETED, np.minimum(upper, self.checkin[fix]), upper)
        created[fix] = release[fix] + (
            rng.random(len(fix)) * np.maximum(upper - release[fix] - MINUTE_MS, 0)
        ).astype(np.int64)
        self.created = created

    def _layouts(self) -> None:
        """Each schedule's places by channel in number order: flat arrays grouped by
        (schedule, channel), keyed ``(schedule * 6 + channel) * 64 + slice``."""
        specs = self.f.specs
        self.layouts, numbers, slices = [], [], []
        self.counts = np.zeros((len(specs), len(CHANNELS)), dtype=np.int64)
        for s, spec in enumerate(specs):
            total = spec.slices() * spec.capacity
            codes = np.array([CHANNEL_INDEX[c] for c in spread_channels(total, spec.quotas)])
            self.layouts.append(codes)
            for c in range(len(CHANNELS)):
                mine = np.flatnonzero(codes == c)
                self.counts[s, c] = len(mine)
                numbers.append(mine + 1)
                slices.append(mine // spec.capacity)
        flat = self.counts.ravel()
        self.base = np.concatenate([[0], np.cumsum(flat)[:-1]]).reshape(self.counts.shape)
        self.flat_number = np.concatenate(numbers)
        self.flat_key = np.repeat(np.arange(flat.size), flat) * 64 + np.concatenate(slices)
        self.capacity = np.array([s.capacity for s in specs], dtype=np.int64)
        self.slice_ms = np.array([s.slice_minutes for s in specs], dtype=np.int64) * MINUTE_MS
        self.n_slices = np.array([s.slices() for s in specs], dtype=np.int64)

    # --- writing ------------------------------------------------------------------------

    def write_schedules(self, writer: BulkWriter) -> int:
        f = self.f
        n = len(f.specs)
        ms = np.full(n, f.base_ms - SCHEDULES_BEFORE_DAYS * DAY_S * 1000, dtype=np.int64)
        self.spec_hex = np.array(ids.hex_ids(*ids.uuid7_bits(self.rng, ms)), dtype=object)
        specs = f.specs
        return writer.insert(
            "schedules",
            {
                "id": self.spec_hex.tolist(),
                "institution_id": [f.inst_hex[s.inst] for s in specs],
                "department_id": [f.dept_hex[s.dept] for s in specs],
                "practitioner_id": [s.practitioner for s in specs],
                "resource": [s.resource for s in specs],
                "name": [s.name[:60] for s in specs],
                "room": [s.room for s in specs],
                "fee_fen": [s.fee_fen for s in specs],
                "slice_minutes": [s.slice_minutes for s in specs],
                "slice_capacity": [s.capacity for s in specs],
                "weekdays": [s.weekdays for s in specs],
                "periods": [",".join(s.periods) for s in specs],
                "release_days": [7] * n,
                "release_minute": [8 * 60] * n,
                "quotas": [json.dumps(s.quotas) for s in specs],
                "referral_release_hours": [24] * n,
                "preparation": [s.preparation for s in specs],
                "active": writer.flags(np.ones(n, dtype=bool)),
                "created_at": writer.timestamps(ms),
            },
        )

    def write_sessions(self, writer: BulkWriter) -> int:
        f = self.f
        release = _local_ms(self.s_day - 7, 8 * 60)
        hi, lo = ids.uuid7_bits(self.rng, release)
        order = np.lexsort((lo, hi))  # key order
        rename = np.empty(len(order), dtype=np.int64)
        rename[order] = np.arange(len(order))
        self.session = rename[self.session]
        for name in ("s_sched", "s_day", "s_period", "s_start", "s_end"):
            setattr(self, name, getattr(self, name)[order])
        release, self.s_hi, self.s_lo = release[order], hi[order], lo[order]
        self.s_release = release
        self.session_hex = np.array(ids.hex_ids(self.s_hi, self.s_lo), dtype=object)
        specs = [f.specs[s] for s in self.s_sched.tolist()]
        n = len(specs)
        written = 0
        for a in range(0, n, WRITE_ROWS):
            rows = slice(a, a + WRITE_ROWS)
            m = len(self.s_sched[rows])
            written += writer.insert(
                "clinic_sessions",
                {
                    "id": self.session_hex[rows].tolist(),
                    "schedule_id": self.spec_hex[self.s_sched[rows]].tolist(),
                    "institution_id": [f.inst_hex[s.inst] for s in specs[rows]],
                    "department_id": [f.dept_hex[s.dept] for s in specs[rows]],
                    "practitioner_id": [s.practitioner for s in specs[rows]],
                    "day": _repeated(_dates, self.s_day[rows]),
                    "period": _names(DAY_PERIODS, self.s_period[rows]),
                    "starts_at": _repeated(writer.timestamps, self.s_start[rows]),
                    "ends_at": _repeated(writer.timestamps, self.s_end[rows]),
                    "release_at": _repeated(writer.timestamps, release[rows]),
                    "referral_release_at": _repeated(
                        writer.timestamps, self.s_start[rows] - 24 * 3600 * 1000
                    ),
                    "status": ["open"] * m,
                    "stopped_reason": [None] * m,
                    "stopped_at": [None] * m,
                },
            )
        return written

    def write_slots(self, writer: BulkWriter) -> int:
        """Every slot of the written sessions, session by session in number order."""
        f = self.f
        total = np.array([s.slices() * s.capacity for s in f.specs], dtype=np.int64)
        per_session = total[self.s_sched]
        self.slot_base = np.concatenate([[0], np.cumsum(per_session)[:-1]])
        n = int(per_session.sum())
        session = np.repeat(np.arange(len(per_session)), per_session)
        number = np.arange(n) - self.slot_base[session] + 1
        self.slot_hi, self.slot_lo = ids.uuid7_bits(self.rng, self.s_release[session])
        # The bookings that hold their slot, and their ids (bookings are written after).
        created_hi, created_lo = ids.uuid7_bits(self.rng, self.created)
        self.b_hi, self.b_lo = created_hi, created_lo
        holder = np.full(n, -1, dtype=np.int64)
        holds = np.flatnonzero(self.d.status != CANCELLED)
        self.slot_of = self.slot_base[self.session] + self.number - 1
        holder[self.slot_of[holds]] = holds
        cap = np.array([s.capacity for s in f.specs], dtype=np.int64)
        slice_ms = np.array([s.slice_minutes for s in f.specs], dtype=np.int64) * MINUTE_MS
        flat_layout = np.concatenate(self.layouts)
        layout_base = np.concatenate([[0], np.cumsum([len(x) for x in self.layouts])[:-1]])
        chunk = max(WRITE_ROWS, 1)
        written = 0
        for a in range(0, n, chunk):
            rows = np.arange(a, min(a + chunk, n))
            s = session[rows]
            sched = self.s_sched[s]
            starts = self.s_start[s] + (number[rows] - 1) // cap[sched] * slice_ms[sched]
            who = holder[rows]
            held = who >= 0
            booking = np.full(len(rows), None, dtype=object)
            booking[held] = ids.hex_ids(self.b_hi[who[held]], self.b_lo[who[held]])
            channel = flat_layout[layout_base[sched] + number[rows] - 1]
            written += writer.insert(
                "slots",
                {
                    "id": ids.hex_ids(self.slot_hi[rows], self.slot_lo[rows]),
                    "session_id": self.session_hex[s].tolist(),
                    "number": number[rows].tolist(),
                    "starts_at": _repeated(writer.timestamps, starts),
                    "ends_at": _repeated(writer.timestamps, starts + slice_ms[sched]),
                    "channel": _names(CHANNELS, channel),
                    "booking_id": booking.tolist(),
                    "held_until": [None] * len(rows),
                },
            )
        return written

    def write_bookings(self, writer: BulkWriter) -> int:
        f, d, rng = self.f, self.d, self.rng
        n = len(d.status)
        status = d.status
        done = status == COMPLETED
        # Times of the visit and its queue
        on_time = self.checkin <= self.slot_end
        checkin_draw = rng.random(n)
        method = np.zeros(n, dtype=np.int64)
        for c, p in CHECKIN.items():
            rows = self.channel == c
            cum = np.cumsum(p)
            method[rows] = np.searchsorted(cum, checkin_draw[rows] * cum[-1], side="right")
        method = np.minimum(method, len(CHECKIN_METHODS) - 1)
        created = self.created
        instant = (self.channel == WINDOW) | (self.channel == PHONE)
        confirmed = created + np.where(instant, 0, (rng.uniform(3, 120, n) * 1000).astype(np.int64))
        confirmed = np.where(done, np.minimum(confirmed, self.checkin - MINUTE_MS), confirmed)
        confirmed = np.maximum(confirmed, created)
        ended = np.zeros(n, dtype=np.int64)
        session_end = self.s_end[self.session]
        missed = status == NO_SHOW
        ended[missed] = session_end[missed] + (
            rng.uniform(5, 60, int(missed.sum())) * MINUTE_MS
        ).astype(np.int64)
        gone = status == CANCELLED
        deadline = self.slot_start[gone] - 2 * 3600 * 1000
        ended[gone] = (
            confirmed[gone]
            + MINUTE_MS
            + (
                rng.random(int(gone.sum())) * np.maximum(deadline - confirmed[gone] - MINUTE_MS, 0)
            ).astype(np.int64)
        )
        queued = np.where(on_time, self.slot_start, self.checkin)
        aged = (f.age[d.resident] >= AGED) & done
        referral = self.channel == REFERRAL
        priority = np.where(aged, 2, np.where(referral & done, 1, 0))
        reason = np.where(aged, "aged_80", np.where(referral & done, "referral", None))
        # Up-referrals were booked by a general practitioner of the patient's own center.
        gp_dept = f.network.department_of[f.center[d.resident], _position(GENERAL_PRACTICE)]
        size = np.where(gp_dept >= 0, f.staff.pool_size[np.maximum(gp_dept, 0)], 0)
        pick = f.staff.pool_start[np.maximum(gp_dept, 0)] + (rng.random(n) * size).astype(np.int64)
        referrer = np.where(
            referral & (size > 0), f.staff.pool[np.minimum(pick, len(f.staff.pool) - 1)], None
        )
        rooms = np.array([s.room for s in f.specs], dtype=object)
        fees = np.array([s.fee_fen for s in f.specs], dtype=np.int64)
        hi, lo = self.b_hi, self.b_lo
        order = np.lexsort((lo, hi))  # key order
        written = 0
        for a in range(0, n, WRITE_ROWS):
            rows = order[a : a + WRITE_ROWS]
            m = len(rows)
            sched, st = self.sched[rows], status[rows]
            seen = st == COMPLETED
            written += writer.insert(
                "bookings",
                {
                    "id": ids.hex_ids(hi[rows], lo[rows]),
                    "slot_id": ids.hex_ids(
                        self.slot_hi[self.slot_of[rows]], self.slot_lo[self.slot_of[rows]]
                    ),
                    "session_id": self.session_hex[self.session[rows]].tolist(),
                    "resident_id": ids.hex_ids(
                        f.pop.hi[d.resident[rows]], f.pop.lo[d.resident[rows]]
                    ),
                    "institution_id": f.inst_hex[d.inst[rows]].tolist(),
                    "department_id": f.dept_hex[d.dept[rows]].tolist(),
                    "day": _repeated(_dates, self.day[rows]),
                    "number": self.number[rows].tolist(),
                    "channel": _names(CHANNELS, self.channel[rows]),
                    "status": _names(STATUSES, st),
                    "fee_fen": fees[sched].tolist(),
                    "booked_by": [None] * m,
                    "idempotency_key": [None] * m,
                    "referred_by": referrer[rows].tolist(),
                    "rebooked_from": [None] * m,
                    "created_at": writer.timestamps(created[rows]),
                    "confirmed_at": writer.timestamps(confirmed[rows]),
                    "ended_at": _optional(writer.timestamps, ended[rows], ~seen),
                    "checked_in_at": _optional(writer.timestamps, self.checkin[rows], seen),
                    "checkin_method": _pick(CHECKIN_METHODS, method[rows], seen),
                    "on_time": _optional(writer.flags, on_time[rows], seen),
                    "room": rooms[sched].tolist(),
                    "priority": priority[rows].tolist(),
                    "priority_reason": reason[rows].tolist(),
                    "queued_at": _optional(writer.timestamps, queued[rows], seen),
                    "called_at": _optional(writer.timestamps, d.start[rows], seen),
                    "calls": seen.astype(np.int64).tolist(),
                    "completed_at": _optional(writer.timestamps, d.end[rows], seen),
                },
            )
        return written


def _position(code: str) -> int:
    return list(department_catalog()).index(code)


def _dates(days: np.ndarray) -> list[str]:
    """``YYYY-MM-DD`` of days since the epoch."""
    return np.datetime_as_string(days.astype("datetime64[D]")).tolist()


def _repeated(convert: Callable[[np.ndarray], list[Any]], values: np.ndarray) -> list[Any]:
    """``convert(values)`` for values that repeat (slot and session times, days): each
    distinct value converted once."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array(convert(distinct), dtype=object)[inverse].tolist()


def _names(names: Sequence[str], index: np.ndarray) -> list[str]:
    """The name of each code, the same string object for the same code."""
    return np.array(names, dtype=object)[index].tolist()


def _optional(convert, values: np.ndarray, present: np.ndarray) -> list[object]:
    """``convert(values)`` where ``present``, None (NULL) elsewhere."""
    out = np.full(len(values), None, dtype=object)
    if present.any():
        out[present] = convert(values[present])
    return out.tolist()


def _pick(names: Sequence[str], index: np.ndarray, present: np.ndarray) -> list[object]:
    out = np.full(len(index), None, dtype=object)
    out[present] = np.take(np.array(names, dtype=object), index[present])
    return out.tolist()
