"""A calendar year of outpatient, emergency and inpatient encounters with their fee lines.

Visits are drawn month by month for the whole population (Poisson counts from each resident's
yearly rates), placed by tier so that about two thirds of outpatient and emergency visits stay
at township centers and village clinics (the model county reports 66.79%), then sorted by time
so their UUIDv7 keys (and the fee lines that follow them) arrive in index order.

Two-way referral (双向转诊): a share of the county hospitals' visits and stays were referred up
(上转) by the patient's own township center or village clinic, and a share of their stays are
followed by a down-referred (下转) visit or continued stay at the patient's township center,
which may start in a later month than the stay it follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

import numpy as np

from yigongti.registry.codes import INSTITUTION_KINDS, PRIMARY_KINDS
from yigongti.synth import fees, ids, timing
from yigongti.synth.diagnoses import (
    ADULT_SEEN,
    CHILD,
    CHILD_SEEN,
    CODE_INDEX,
    CODES,
    EMERGENCY_SEEN,
    age_group,
    department_table,
    draw,
)
from yigongti.synth.institutions import Network
from yigongti.synth.loader import BulkWriter
from yigongti.synth.people import Population
from yigongti.synth.places import Places
from yigongti.synth.staff import Staff

# Yearly rates per resident by age steps (age from, rate).
ACUTE = ((0, 6.6), (5, 3.3), (15, 2.2), (45, 3.3), (65, 4.9), (75, 5.5))
EMERGENCY = ((0, 0.5), (5, 0.2), (15, 0.22), (45, 0.28), (65, 0.45), (75, 0.65))
INPATIENT = ((0, 0.15), (1, 0.06), (15, 0.06), (45, 0.13), (65, 0.25), (75, 0.37))
FOLLOW_UPS = {"hypertension": 3.0, "diabetes": 2.5}  # extra outpatient visits a year
CHRONIC_ADMISSIONS = 0.05
DELIVERIES = 0.055  # women aged 20-39
AWAY_FACTOR = 0.3  # residents living elsewhere most of the year (not 常住) use local care less

# stream -> (kind, village share if the village has a clinic, center share if it has,
#            center share if it has not); inpatient centers need a ward.
STREAMS = {
    "acute": ("outpatient", 0.33, 0.35, 0.60),
    "chronic": ("outpatient", 0.50, 0.42, 0.88),
    "emergency": ("emergency", 0.0, 0.30, 0.30),
    "inpatient": ("inpatient", 0.0, 0.20, 0.20),
    "delivery": ("inpatient", 0.0, 0.10, 0.10),
}
# Visits that go to the county: the lead hospital of one's community, another county
# hospital, a private hospital.
COUNTY_SPLIT = (0.55, 0.30, 0.15)

# Two-way referral. The seeds name it (000: "双向转诊顺畅", 004: "基层首诊、双向转诊") but
# give no counts, so these shares are ours, set to agree with what the county already shows:
# up-referrals are 1.5% of the public county hospitals' outpatient visits, which keeps the
# referral channel at the ~3% of their bookings the booking stage has always had (up-referred
# visits are all booked, the others 55%). With emergencies and stays, up-referrals come to
# about 1.2% of primary-care visits (上转率), and down-referrals to about a quarter of the
# up-referrals (7% of the county hospitals' stays). Private hospitals stand outside the
# communities: nobody is referred to or from them.
UP_REFERRED = {"outpatient": 0.015, "emergency": 0.04, "inpatient": 0.10}
FROM_CLINIC = 0.4  # outpatient up-referrals written by the village doctor, where there is one
DOWN_REFERRED = 0.08  # county hospital stays (not deliveries) sent down to the township
DOWN_STAY = 0.4  # of those whose center runs a ward: a continued stay there, not a visit
FOLLOW_UP_DAYS = (3, 14)  # a down-referred visit this many days after discharge, on a weekday
TRANSFER_DAYS = (1, 3)  # a down-referred stay admitted this many days after discharge
NONE, UP, DOWN = range(3)
REFERRALS = np.array([None, "up", "down"], dtype=object)


@dataclass
class VisitTally:
    """Counts and revenue of what has been written, for the summary's indicators."""

    encounters: int = 0
    fee_lines: int = 0
    visits: int = 0  # outpatient and emergency
    primary_visits: int = 0
    up_referrals: int = 0
    down_referrals: int = 0
    revenue: np.ndarray = field(default_factory=lambda: np.zeros(len(fees.CATEGORIES), np.int64))

    @property
    def primary_care_share(self) -> float:
        """Primary-care visit share (基层就诊率); 0.0 before any visit."""
        return self.primary_visits / self.visits if self.visits else 0.0

    @property
    def drug_share(self) -> float:
        """Drug revenue over medical revenue (药占比); 0.0 before any revenue."""
        total = int(self.revenue.sum())
        return int(self.revenue[fees.DRUG]) / total if total else 0.0


def _steps(age: np.ndarray, table: tuple[tuple[float, float], ...]) -> np.ndarray:
    edges, values = np.array([a for a, _ in table]), np.array([r for _, r in table])
    return values[np.searchsorted(edges, age, side="right") - 1]


@dataclass
class _Batch:
    """Encounters of one stream in one month, before sorting."""

    who: np.ndarray
    inst: np.ndarray
    dept: np.ndarray
    kind: np.ndarray
    diagnosis: np.ndarray
    start: np.ndarray
    end: np.ndarray
    fen: np.ndarray
    referral: np.ndarray  # NONE, UP or DOWN
    referred_from: np.ndarray  # institution index, -1 without a referral

    @classmethod
    def join(cls, batches: list[_Batch]) -> _Batch:
        """The encounters of several batches, one after the other."""
        return cls(*(np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(cls)))

    def take(self, order: np.ndarray) -> _Batch:
        """The same encounters in ``order``."""
        return _Batch(*(getattr(self, f.name)[order] for f in fields(self)))


class EncounterFactory:
    """Draws and writes the encounters of one month at a time for a whole population; the
    months come in order, 1 to 12 (down-referrals wait for the month they start in)."""

    def __init__(
        self,
        seed: int,
        year: int,
        population: Population,
        places: Places,
        network: Network,
        staff: Staff,
    ) -> None:
        self.seed, self.year, self.pop, self.staff = seed, year, population, staff
        age, pop = population.age, population
        away = np.where(pop.permanent, 1.0, AWAY_FACTOR)
        woman_of_age = ~pop.male & (age >= 20) & (age < 40)
        self.rates = {
            "acute": _steps(age, ACUTE) * away,
            "chronic": (
                FOLLOW_UPS["hypertension"] * pop.hypertension
                + FOLLOW_UPS["diabetes"] * pop.diabetes
            )
            * away,
            "emergency": _steps(age, EMERGENCY) * away,
            "inpatient": (
                _steps(age, INPATIENT) + CHRONIC_ADMISSIONS * (pop.hypertension | pop.diabetes)
            )
            * away,
            "delivery": DELIVERIES * woman_of_age * away,
        }
        self.expected = int(sum(float(r.sum()) for r in self.rates.values()))
        self.group = age_group(age)
        self.clinic = network.village_clinic[pop.village]
        self.center = network.town_center[places.village_town[pop.village]]
        leads = np.array([members[0] for members in network.community_hospitals])
        self.lead = leads[network.community[self.center]]
        self.has_ward = network.has_ward
        hospitals = [i for i, k in enumerate(network.kinds) if k == "county_hospital"]
        weight = np.where(np.isin(hospitals, leads), 1.0, 0.5)
        self.hospitals, self.hospital_p = np.array(hospitals), weight / weight.sum()
        self.private = np.array(network.private)
        self.tier = np.array([INSTITUTION_KINDS[k][0] for k in network.kinds])
        self.primary = np.isin(network.kinds, list(PRIMARY_KINDS))
        self.county_hospital = np.array([k == "county_hospital" for k in network.kinds])
        self.departments = department_table(network)
        self.inst_hex = np.array([i.hex for i in network.ids])
        # The same ids with None last, so that institution index -1 reads as NULL.
        self.inst_hex_or_null = np.append(self.inst_hex.astype(object), None)
        self.dept_hex = np.array([d.hex for d in network.department_ids])
        self.month_starts = [ids.shanghai_midnight_ms(date(year, m, 1)) for m in range(1, 13)]
        self.month_starts.append(ids.shanghai_midnight_ms(date(year + 1, 1, 1)))
        self.later: list[_Batch] = []  # down-referrals that start in a later month

    def _county(self, rng: np.random.Generator, who: np.ndarray) -> np.ndarray:
        """County-level institutions for visits that leave the township."""
        u = rng.random(len(who))
        other = rng.choice(self.hospitals, size=len(who), p=self.hospital_p)
        private = rng.choice(self.private, size=len(who))
        lead, rest = COUNTY_SPLIT[0], COUNTY_SPLIT[0] + COUNTY_SPLIT[1]
        return np.where(u < lead, self.lead[who], np.where(u < rest, other, private))

    def _place(self, rng: np.random.Generator, stream: str, who: np.ndarray) -> np.ndarray:
        """The institution of each visit: village clinic, township center or county."""
        kind, village, center_with, center_without = STREAMS[stream]
        clinic, center = self.clinic[who], self.center[who]
        has_clinic = clinic >= 0
        u = rng.random(len(who))
        to_center = np.where(has_clinic, u < village + center_with, u < center_without)
        if kind == "inpatient":
            to_center &= self.has_ward[center]
        inst = np.where(to_center, center, self._county(rng, who))
        return np.where(has_clinic & (u < village), clinic, inst)

    def _diagnoses(self, rng: np.random.Generator, stream: str, who: np.ndarray) -> np.ndarray:
        if stream == "chronic":
            htn, dm = self.pop.hypertension[who], self.pop.diabetes[who]
            diabetes = dm & (~htn | (rng.random(len(who)) < 0.45))
            return np.where(diabetes, CODE_INDEX["E11.900"], CODE_INDEX["I10"])
        if stream == "delivery":
            return np.full(len(who), CODE_INDEX["O80.000"])
        return draw(rng, stream, self.group[who])

    def _batch(self, rng: np.random.Generator, stream: str, month: int) -> _Batch:
        fraction = timing.SEASON[month - 1] / timing.SEASON.sum()
        counts = rng.poisson(self.rates[stream] * fraction)
        who = np.repeat(np.arange(len(counts)), counts)
        kind = STREAMS[stream][0]
        inst = self._place(rng, stream, who)
        diagnosis = self._diagnoses(rng, stream, who)
        start = timing.start_times(rng, kind, len(who), self.year, month)
        return self._encounters(rng, kind, who, inst, diagnosis, start)

    def _encounters(
        self,
        rng: np.random.Generator,
        kind: str,
        who: np.ndarray,
        inst: np.ndarray,
        diagnosis: np.ndarray,
        start: np.ndarray,
    ) -> _Batch:
        """Encounters of one kind, placed and timed: their departments, stays and fees."""
        how = np.where(self.group[who] == CHILD, CHILD_SEEN, ADULT_SEEN)
        if kind == "emergency":
            how[:] = EMERGENCY_SEEN
        fen = np.zeros((len(who), len(fees.CATEGORIES)), dtype=np.int64)
        stays = np.zeros(len(who), dtype=np.int64)
        for tier in np.unique(self.tier[inst]).tolist():
            rows = np.flatnonzero(self.tier[inst] == tier)
            if kind == "inpatient":
                stays[rows] = fees.stay_days(rng, tier, len(rows))
                fen[rows] = fees.amounts(rng, kind, tier, stays=stays[rows])
            else:
                fen[rows] = fees.amounts(rng, kind, tier, n=len(rows))
        return _Batch(
            who=who,
            inst=inst,
            dept=self.departments[how, inst, diagnosis],
            kind=np.full(len(who), kind),
            diagnosis=diagnosis,
            start=start,
            end=timing.end_times(rng, kind, start, stays),
            fen=fen,
            referral=np.full(len(who), NONE, dtype=np.int8),
            referred_from=np.full(len(who), -1, dtype=np.int64),
        )

    def _refer_up(self, rng: np.random.Generator, b: _Batch) -> None:
        """Mark the county hospital encounters that the patient's own township center, or for
        a visit often his village clinic, referred up (上转)."""
        n = len(b.who)
        share = np.select([b.kind == k for k in UP_REFERRED], list(UP_REFERRED.values()), 0.0)
        up = self.county_hospital[b.inst] & (rng.random(n) < share)
        clinic = self.clinic[b.who]
        by_clinic = (b.kind == "outpatient") & (clinic >= 0) & (rng.random(n) < FROM_CLINIC)
        b.referral[up] = UP
        b.referred_from[up] = np.where(by_clinic, clinic, self.center[b.who])[up]

    def _refer_down(self, rng: np.random.Generator, b: _Batch) -> _Batch:
        """The visits and stays at the patient's township center of the county hospital stays
        in ``b`` that were sent down (下转) after discharge."""
        stays = np.flatnonzero(
            self.county_hospital[b.inst]
            & (b.kind == "inpatient")
            & (b.diagnosis != CODE_INDEX["O80.000"])
        )
        sent = stays[rng.random(len(stays)) < DOWN_REFERRED]
        center = self.center[b.who[sent]]
        stay = self.has_ward[center] & (rng.random(len(sent)) < DOWN_STAY)
        discharged = timing.local_days(b.end[sent])
        parts = []
        for kind, rows, days in (
            ("inpatient", np.flatnonzero(stay), TRANSFER_DAYS),
            ("outpatient", np.flatnonzero(~stay), FOLLOW_UP_DAYS),
        ):
            day = discharged[rows] + rng.integers(days[0], days[1], len(rows), endpoint=True)
            if kind == "outpatient":
                weekday = timing.weekday(day)
                day = np.where(weekday >= 5, day + 7 - weekday, day)  # to Monday
            source = sent[rows]
            part = self._encounters(
                rng,
                kind,
                b.who[source],
                center[rows],
                b.diagnosis[source],
                timing.times_on(rng, kind, day),
            )
            part.referral[:] = DOWN
            part.referred_from[:] = b.inst[source]
            parts.append(part)
        return _Batch.join(parts)

    def _with_referrals(self, month: int, b: _Batch) -> _Batch:
        """``b`` with its up-referrals marked and the down-referrals that start this month."""
        rng = ids.stream(self.seed, ids.REFERRALS, month)
        self._refer_up(rng, b)
        waiting = _Batch.join([*self.later, self._refer_down(rng, b)])
        due = waiting.start < self.month_starts[month]
        in_year = waiting.start < self.month_starts[-1]
        self.later = [waiting.take(np.flatnonzero(~due & in_year))]
        return _Batch.join([b, waiting.take(np.flatnonzero(due))])

    def month(self, month: int, writer: BulkWriter, tally: VisitTally) -> None:
        """Draw, write and tally the encounters starting in ``month`` of the year."""
        rng = ids.stream(self.seed, ids.ENCOUNTERS, month)
        b = _Batch.join([self._batch(rng, stream, month) for stream in STREAMS])
        b = self._with_referrals(month, b)
        hi, lo = ids.uuid7_bits(rng, b.start)
        order = np.lexsort((lo, hi))  # time order: keys and fee lines arrive in index order
        b = b.take(order)
        encounter_hex = ids.hex_ids(hi[order], lo[order])
        size = self.staff.pool_size[b.dept]
        pick = self.staff.pool_start[b.dept] + (rng.random(len(b.who)) * size).astype(np.int64)
        practitioner = np.where(
            size > 0, self.staff.pool[np.minimum(pick, len(self.staff.pool) - 1)], None
        )
        writer.insert(
            "encounters",
            {
                "id": encounter_hex,
                "resident_id": ids.hex_ids(self.pop.hi[b.who], self.pop.lo[b.who]),
                "institution_id": self.inst_hex[b.inst].tolist(),
                "department_id": self.dept_hex[b.dept].tolist(),
                "practitioner_id": practitioner.tolist(),
                "kind": b.kind.tolist(),
                "started_at": writer.timestamps(b.start),
                "ended_at": writer.timestamps(b.end),
                "diagnosis_code": np.take(CODES, b.diagnosis).tolist(),
                "total_fen": b.fen.sum(axis=1).tolist(),
                "referral": REFERRALS[b.referral].tolist(),
                "referred_from_id": self.inst_hex_or_null[b.referred_from].tolist(),
            },
        )
        row, category = np.nonzero(b.fen)  # row-major: lines follow their encounter's order
        writer.insert(
            "fee_lines",
            {
                "encounter_id": np.array(encounter_hex)[row].tolist(),
                "category": np.take(fees.CATEGORIES, category).tolist(),
                "amount_fen": b.fen[row, category].tolist(),
            },
        )
        self._tally(tally, b, len(row))

    def _tally(self, tally: VisitTally, b: _Batch, lines: int) -> None:
        tally.encounters += len(b.who)
        tally.fee_lines += lines
        visits = b.kind != "inpatient"
        tally.visits += int(visits.sum())
        tally.primary_visits += int((visits & self.primary[b.inst]).sum())
        tally.up_referrals += int((b.referral == UP).sum())
        tally.down_referrals += int((b.referral == DOWN).sum())
        tally.revenue += b.fen.sum(axis=0)
