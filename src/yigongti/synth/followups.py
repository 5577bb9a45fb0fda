"""The chronic-disease programme and the immunization programme of a year, per resident.

Follow-ups (国家基本公共卫生服务规范): every managed hypertensive resident (35+, living here) is
seen once a quarter at his village clinic (or township center) and has his blood pressure taken;
every managed diabetic has a fasting glucose test each quarter. At each follow-up the doctor
prescribes the patient's medicine: a long prescription (长处方, 12 weeks) for a share of stable
patients, a month's supply for the others.

Immunizations (国家免疫规划): children up to 6 have the programme's doses of their age, given at
their township center's vaccination clinic; most on time, some late, a few missing.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from yigongti.clinical.codes import medication_catalog, vaccine_catalog
from yigongti.synth import ids
from yigongti.synth.institutions import Network
from yigongti.synth.loader import BulkWriter
from yigongti.synth.observations import (
    DIASTOLIC,
    SYSTOLIC,
    Columns,
    blood_pressure_rows,
    draw_value,
    quantity_rows,
)
from yigongti.synth.people import Population
from yigongti.synth.places import Places

DAY_MS = 86_400_000
MANAGED_FROM_AGE = 35  # hypertension follow-up covers residents 35 and over
CONTROLLED = 0.6  # follow-ups at target (< 140/90; FPG < 7.0)
LONG_PRESCRIPTION = 0.3  # stable patients on 12-week prescriptions
LONG_DAYS, MONTH_DAYS = 84, 30
# Medicines by ATC code and share of patients.
ANTIHYPERTENSIVES = {
    "C08CA01": 0.35,
    "C08CA05": 0.2,
    "C09CA01": 0.2,
    "C09CA03": 0.15,
    "C09AA02": 0.1,
}
DIABETES_DRUGS = {"A10BA02": 0.7, "A10BB09": 0.12, "A10AE04": 0.18}
# Immunizations: a dose is missing, or given late (15-120 days), with these shares.
MISSED, LATE = 0.03, 0.15
ON_TIME_DAYS, LATE_DAYS = (0, 14), (15, 120)
MONTH_DAYS_AVG = 30.4375
CHILD_AGE = 7  # children under 7 on the last day of the year


def _quarter_times(rng: np.random.Generator, year: int, who: np.ndarray) -> np.ndarray:
    """A morning in each quarter for each resident: an (n, 4) array of UTC milliseconds."""
    starts = [ids.shanghai_midnight_ms(date(year, m, 1)) for m in (1, 4, 7, 10)]
    starts.append(ids.shanghai_midnight_ms(date(year + 1, 1, 1)))
    times = np.empty((len(who), 4), dtype=np.int64)
    for q in range(4):
        days = (starts[q + 1] - starts[q]) // DAY_MS
        day = rng.integers(0, days, len(who))
        minute = rng.integers(8 * 60, 11 * 60 + 30, len(who))
        times[:, q] = starts[q] + day * DAY_MS + minute * 60_000
    return times


class FollowUpFactory:
    """Draws the year's follow-up observations, prescriptions and immunizations."""

    def __init__(
        self, seed: int, year: int, population: Population, places: Places, network: Network
    ) -> None:
        self.seed, self.year, self.pop = seed, year, population
        clinic = network.village_clinic[population.village]
        center = network.town_center[places.village_town[population.village]]
        self.center = center
        self.where = np.where(clinic >= 0, clinic, center)  # follow-ups: clinic, else center
        self.inst_hex = np.array([i.hex for i in network.ids])
        self.year_end_ms = ids.shanghai_midnight_ms(date(year + 1, 1, 1))

    def _resident_hex(self, who: np.ndarray) -> list[str]:
        return ids.hex_ids(self.pop.hi[who], self.pop.lo[who])

    def write(self, writer: BulkWriter) -> dict[str, int]:
        """Write every table's rows; how many rows each table got."""
        rng = ids.stream(self.seed, ids.FOLLOW_UPS)
        counts = dict.fromkeys(("observations", "medication_requests", "immunizations"), 0)
        for condition in ("hypertension", "diabetes"):
            observed, prescribed = self._follow_ups(rng, writer, condition)
            counts["observations"] += observed
            counts["medication_requests"] += prescribed
        counts["immunizations"] = self._immunizations(writer)
        return counts

    def _follow_ups(
        self, rng: np.random.Generator, writer: BulkWriter, condition: str
    ) -> tuple[int, int]:
        pop = self.pop
        managed = getattr(pop, condition) & pop.permanent
        if condition == "hypertension":
            managed &= pop.age >= MANAGED_FROM_AGE
        who = np.flatnonzero(managed)
        times = _quarter_times(rng, self.year, who)
        who4 = np.repeat(who, 4)
        ms = times.ravel()
        order = np.argsort(ms, kind="stable")
        who4, ms = who4[order], ms[order]
        n = len(who4)
        controlled = rng.random(n) < CONTROLLED
        hi, lo = ids.uuid7_bits(rng, ms)
        base: Columns = {
            "id": ids.hex_ids(hi, lo),
            "resident_id": self._resident_hex(who4),
            "encounter_id": [None] * n,
            "institution_id": self.inst_hex[self.where[who4]].tolist(),
            "practitioner_id": [None] * n,
            "report_id": [None] * n,
            "effective_at": writer.timestamps(ms),
        }
        if condition == "hypertension":
            systolic = draw_value(rng, SYSTOLIC, np.where(controlled, 127, 152), 9, n, 0)
            diastolic = draw_value(rng, DIASTOLIC, np.where(controlled, 79, 93), 6, n, 0)
            rows = blood_pressure_rows(writer, systolic, diastolic, base)
        else:
            glucose = draw_value(rng, "14771-0", np.where(controlled, 6.2, 8.8), 0.7, n, 1)
            rows = quantity_rows(writer, "14771-0", np.maximum(glucose, 4.0), base)
        writer.insert("observations", rows)
        drugs = ANTIHYPERTENSIVES if condition == "hypertension" else DIABETES_DRUGS
        prescribed = self._prescriptions(rng, writer, who, who4, ms, drugs)
        return n, prescribed

    def _prescriptions(
        self,
        rng: np.random.Generator,
        writer: BulkWriter,
        who: np.ndarray,
        who4: np.ndarray,
        ms: np.ndarray,
        drugs: dict[str, float],
    ) -> int:
        """One prescription at each follow-up: the patient's own medicine, long or monthly."""
        codes = np.array(list(drugs))
        own = np.full(len(self.pop.hi), -1, dtype=np.int64)
        own[who] = rng.choice(len(codes), len(who), p=list(drugs.values()))
        stable = np.zeros(len(self.pop.hi), dtype=bool)
        stable[who] = rng.random(len(who)) < LONG_PRESCRIPTION
        code = codes[own[who4]]
        days = np.where(stable[who4], LONG_DAYS, MONTH_DAYS)
        catalog = medication_catalog()
        unit = np.array([catalog[c]["unit"] for c in code.tolist()], dtype=object)
        quantity = np.where(unit == "pen", np.maximum(days // 28, 1), days)
        n = len(who4)
        ended = ms + days * DAY_MS < self.year_end_ms
        hi, lo = ids.uuid7_bits(rng, ms)
        writer.insert(
            "medication_requests",
            {
                "id": ids.hex_ids(hi, lo),
                "resident_id": self._resident_hex(who4),
                "encounter_id": [None] * n,
                "institution_id": self.inst_hex[self.where[who4]].tolist(),
                "prescriber_id": [None] * n,
                "medication_code": code.tolist(),
                "medication_name": [catalog[c]["zh"] for c in code.tolist()],
                "dosage_text": ["遵医嘱，每日一次"] * n,
                "quantity": quantity.tolist(),
                "quantity_unit": unit.tolist(),
                "days_supply": days.tolist(),
                "long_prescription": writer.flags(days > MONTH_DAYS),
                "status": np.where(ended, "completed", "active").tolist(),
                "authored_at": writer.timestamps(ms),
            },
        )
        return n

    def _immunizations(self, writer: BulkWriter) -> int:
        """The programme's doses of every child up to 6, due by the end of the year."""
        rng = ids.stream(self.seed, ids.IMMUNIZATIONS)
        year_end = np.datetime64(date(self.year, 12, 31), "D")
        children = np.flatnonzero(self.pop.birth > year_end - np.timedelta64(CHILD_AGE * 365, "D"))
        birth = self.pop.birth[children]
        parts: list[tuple[np.ndarray, np.ndarray, str, int]] = []
        for code, entry in vaccine_catalog().items():
            for dose, months in enumerate(entry.get("schedule", ()), start=1):
                due = birth + np.round(months * MONTH_DAYS_AVG).astype("timedelta64[D]")
                late = rng.random(len(children)) < LATE
                delay = np.where(
                    late,
                    rng.integers(LATE_DAYS[0], LATE_DAYS[1], len(children), endpoint=True),
                    rng.integers(ON_TIME_DAYS[0], ON_TIME_DAYS[1], len(children), endpoint=True),
                )
                given = due + delay.astype("timedelta64[D]")
                keep = (given <= year_end) & (rng.random(len(children)) >= MISSED)
                parts.append((children[keep], given[keep], code, dose))
        if not parts:
            return 0
        who = np.concatenate([p[0] for p in parts])
        on = np.concatenate([p[1] for p in parts])
        code = np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in parts])
        dose = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
        noon_ms = (on.astype("datetime64[ms]").astype(np.int64)) + 4 * 3_600_000  # 12:00 China
        order = np.argsort(noon_ms, kind="stable")
        who, on, code, dose, noon_ms = (
            who[order],
            on[order],
            code[order],
            dose[order],
            noon_ms[order],
        )
        n = len(who)
        hi, lo = ids.uuid7_bits(rng, noon_ms)
        batch = rng.integers(100, 999, n, endpoint=True)
        writer.insert(
            "immunizations",
            {
                "id": ids.hex_ids(hi, lo),
                "resident_id": self._resident_hex(who),
                "institution_id": self.inst_hex[self.center[who]].tolist(),
                "practitioner_id": [None] * n,
                "vaccine_code": code.tolist(),
                "dose_number": dose.tolist(),
                "occurred_on": np.datetime_as_string(on).tolist(),
                "lot_number": [
                    f"{c}{str(d)[:4]}{b}"
                    for c, d, b in zip(code.tolist(), on.tolist(), batch.tolist(), strict=True)
                ],
                "status": ["completed"] * n,
                "status_reason": [None] * n,
                "recorded_at": writer.timestamps(noon_ms),
            },
        )
        return n
