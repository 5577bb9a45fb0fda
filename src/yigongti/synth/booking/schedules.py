"""The schedule catalog of the county's hospitals and centers, and its senior doctors.

Every county hospital and township or community center has a day clinic (room 1) in each
clinical department, a schedule for each of its senior physicians, and its exams, vaccination
and night clinics. Day clinics open more rooms (``Catalog.more_rooms``) where the year's
bookings ask for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti.booking.codes import DEFAULT_QUOTAS, PERIODS
from yigongti.booking.service.schedules import MAX_SLICES_CAPACITY
from yigongti.registry.codes import department_catalog
from yigongti.registry.models import Practitioner, PractitionerDepartment
from yigongti.synth.booking.codes import DAY_PERIODS
from yigongti.synth.institutions import Network
from yigongti.synth.staff import GENERAL_PRACTICE, PREVENTIVE

TOWNSHIP_QUOTAS = {"online": 50, "kiosk": 10, "window": 30, "phone": 10}
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


@dataclass
class Spec:
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


class Catalog:
    """The county's schedules (``specs``, each known by its index there): the standing ones,
    and more clinic rooms as the year's bookings need them."""

    def __init__(self, rng: np.random.Generator, network: Network, doctors: list[Doctor]) -> None:
        self.network, self.doctors = network, doctors
        self.specs: list[Spec] = []
        self.room1 = np.full(len(network.department_ids), -1, dtype=np.int64)  # first rooms
        self.doctor_spec = np.full(max(len(doctors), 1), -1, dtype=np.int64)
        self._standing_schedules(rng)

    def _add(self, spec: Spec) -> int:
        self.specs.append(spec)
        return len(self.specs) - 1

    def _departments(self, inst: int) -> dict[str, int]:
        row = self.network.department_of[inst]
        return {self.network.department_codes[d]: int(d) for d in row[row >= 0]}

    def _standing_schedules(self, rng: np.random.Generator) -> None:
        """Day clinics (room 1), doctors, exams, vaccination and night clinics."""
        network = self.network
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
                    Spec(
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
            Spec(
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
            Spec(
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
                        Spec(
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
                Spec(
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

    def works(self) -> np.ndarray:
        """(schedule, weekday from Monday, day period) -> the schedule has a session then."""
        works = np.zeros((len(self.specs), 7, len(DAY_PERIODS)), dtype=bool)
        for s, spec in enumerate(self.specs):
            for digit in spec.weekdays:
                for p, period in enumerate(DAY_PERIODS):
                    works[s, int(digit) - 1, p] = period in spec.periods
        return works

    def more_rooms(self, s: int, need: np.ndarray, rooms: np.ndarray) -> None:
        """Rooms 2, 3, ... of a day clinic, each open on the half-days that need it."""
        base = self.specs[s]
        code = self.network.department_codes[base.dept]
        for k in range(2, int(need.max()) + 1):
            days = [[str(w + 1) for w in range(7) if need[w, p] >= k] for p in range(2)]
            plan = (
                [(DAY_PERIODS, days[0])]
                if days[0] == days[1]
                else [((period,), days[p]) for p, period in enumerate(DAY_PERIODS) if days[p]]
            )
            for periods, weekdays in plan:
                spec = Spec(
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
                new = self._add(spec)
                for period in periods:
                    p = DAY_PERIODS.index(period)
                    for w in weekdays:
                        rooms[s, int(w) - 1, p, k - 1] = new
