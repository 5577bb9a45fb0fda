"""Residents, households and guardianships, one chunk of people at a time.

Everything is drawn as arrays; the only per-person Python work is joining strings. State that
must hold across chunks (ID sequences, the phone counter, house numbers) lives in the factory.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

import numpy as np

from yigongti.synth import ids
from yigongti.synth.conditions import (
    DIABETES_CODE,
    HYPERTENSION_CODE,
    condition_rows,
    draw_chronic,
)
from yigongti.synth.households import RELATIONS, Grid, draw_households
from yigongti.synth.identity import OUTSIDE_AREAS, IdNumbers, Phones
from yigongti.synth.institutions import Network
from yigongti.synth.loader import BulkWriter
from yigongti.synth.names import draw_surnames, full_names
from yigongti.synth.places import Places

Columns = dict[str, list[object]]

MIGRANT_HOUSEHOLDS = 0.065  # of households without anyone 60+: hukou in another province
INFANTS_WITHOUT_ID = 0.3
EHEALTH_CARDS = 0.9  # residents who have claimed their e-health card
ADULT = 18

# (age from, share) steps: who is registered here but lives elsewhere most of the year (not 常住)
AWAY = ((0, 0.03), (5, 0.06), (18, 0.27), (45, 0.12), (60, 0.03))
# (age from, share) steps: who carries a mobile phone
PHONE = ((0, 0.0), (14, 0.3), (18, 0.97), (80, 0.5))
# Employee insurance (职工医保) by age for locals in villages / urban communities, and migrants.
EMPLOYEE = ((0, 0.0, 0.0), (18, 0.22, 0.4), (60, 0.14, 0.3))
MIGRANT_EMPLOYEE, MIGRANT_UNINSURED, LOCAL_UNINSURED = 0.45, 0.12, 0.025


@dataclass
class Population:
    """What the encounter stage needs of every resident, in the order they were written."""

    hi: np.ndarray  # resident id, high and low 64 bits
    lo: np.ndarray
    age: np.ndarray  # years on the first day of the year
    male: np.ndarray
    village: np.ndarray
    permanent: np.ndarray
    hypertension: np.ndarray
    diabetes: np.ndarray
    birth: np.ndarray  # datetime64[D]

    @classmethod
    def join(cls, parts: list[Population]) -> Population:
        """One population of several chunks."""
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))


def _steps(age: np.ndarray, table: tuple[tuple[float, ...], ...], column: int = 1) -> np.ndarray:
    """The value of a step table (age from, value...) at each age."""
    edges = np.array([row[0] for row in table])
    values = np.array([row[column] for row in table])
    return values[np.searchsorted(edges, age, side="right") - 1]


def _surnames(rng: np.random.Generator, grid: Grid) -> np.ndarray:
    """Children take their father's surname (or their mother's), the grandfather his son's."""
    sur = draw_surnames(rng, grid.valid.size).reshape(grid.valid.shape)
    rows = np.arange(len(sur))
    for slot in range(2, 5):
        is_child = (grid.mother[:, slot] >= 0) | (grid.father[:, slot] >= 0)
        parent = np.where(grid.father[:, slot] >= 0, 0, 1)
        sur[:, slot] = np.where(is_child, sur[rows, parent], sur[:, slot])
    grandfather = grid.valid[:, 4] & (grid.mother[:, 4] < 0) & grid.male[:, 4]
    sur[:, 4] = np.where(grandfather, sur[:, 0], sur[:, 4])
    return sur


class ResidentFactory:
    """Makes the residents of a county chunk by chunk, with identifiers unique across chunks."""

    def __init__(
        self, seed: int, places: Places, network: Network, county_code: str, year: int
    ) -> None:
        self.seed, self.places = seed, places
        self.reference = np.datetime64(date(year, 1, 1), "D")
        self.base_ms = ids.shanghai_midnight_ms(date(year, 1, 1))
        self.id_numbers = IdNumbers([county_code, *OUTSIDE_AREAS])
        self.phones = Phones(ids.stream(seed, ids.RESIDENTS))
        self.people = self.households = self.phone_count = 0
        self.house_numbers = np.zeros(len(places.village_ids), dtype=np.int64)
        self.village_hex = np.array([v.hex for v in places.village_ids])
        centers = [network.ids[c].hex for c in network.town_center]
        self.center_hex = np.array(centers)[places.village_town]  # per village

    def chunk(
        self, number: int, people: int, writer: BulkWriter
    ) -> tuple[dict[str, Columns], Population]:
        """Rows of chunk ``number`` (``people`` residents) by table, and their population."""
        rng = ids.stream(self.seed, ids.RESIDENTS, number)
        grid = draw_households(rng, people)
        n_households = len(grid.valid)
        village = rng.choice(len(self.village_hex), n_households, p=self.places.village_weight)
        elders = (grid.valid & (grid.age >= 60)).any(axis=1)
        migrant = ~elders & (rng.random(n_households) < MIGRANT_HOUSEHOLDS)
        area = np.where(migrant, rng.integers(1, len(OUTSIDE_AREAS) + 1, n_households), 0)
        surname = _surnames(rng, grid)

        at = np.nonzero(grid.valid)  # (household, slot) of each person, household by household
        position = np.full(grid.valid.shape, -1, dtype=np.int64)
        position[at] = np.arange(people)
        hh, age, male = at[0], grid.age[at], grid.male[at]
        home = village[hh]
        local = area[hh] == 0
        birth = self.reference - 1 - np.floor(age * 365.25).astype("timedelta64[D]")

        hh_hex = ids.hex_ids(
            *ids.uuid7_bits(rng, self.base_ms + self.households + np.arange(n_households))
        )
        hi, lo = ids.uuid7_bits(rng, self.base_ms + self.people + np.arange(people))
        resident_hex = ids.hex_ids(hi, lo)
        permanent = ~local | (rng.random(people) >= _steps(age, AWAY))
        htn, dm = draw_chronic(rng, age)
        names, initials = full_names(
            rng, surname[at], male, birth.astype("datetime64[Y]").astype(np.int64) + 1970
        )
        registered = writer.timestamps(np.full(people, self.base_ms))
        tables = {
            "households": self._households(village, hh_hex),
            "residents": {
                "id": resident_hex,
                "name": names,
                "name_initials": initials,
                "sex": np.where(male, "male", "female").tolist(),
                "birth_date": np.datetime_as_string(birth).tolist(),
                "id_number": self._id_numbers(rng, area[hh], birth, male, age),
                "ehealth_card_no": self._ehealth_cards(number, people),
                "phone": self._phones(rng, age),
                "household_id": np.array(hh_hex)[hh].tolist(),
                "relation": np.take(RELATIONS, grid.relation[at]).tolist(),
                "residence_village_id": self.village_hex[home].tolist(),
                "hukou_village_id": np.where(local, self.village_hex[home], None).tolist(),
                "permanent": writer.flags(permanent),
                "insurance_type": self._insurance(rng, age, local, home),
                "created_at": registered,
                "updated_at": registered,
            },
            "guardianships": self._guardianships(grid, position, age, resident_hex),
            "conditions": condition_rows(
                rng,
                self.reference,
                self.base_ms,
                resident_hex,
                age,
                {HYPERTENSION_CODE: htn, DIABETES_CODE: dm},
                self.center_hex[home].tolist(),
            ),
        }
        self.people += people
        self.households += n_households
        population = Population(
            hi, lo, age.astype(np.float32), male, home.astype(np.int32), permanent, htn, dm, birth
        )
        return tables, population

    def _households(self, village: np.ndarray, hh_hex: list[str]) -> Columns:
        """Household rows; house numbers count up per village across chunks."""
        order = np.argsort(village, kind="stable")
        sorted_village = village[order]
        starts = np.searchsorted(sorted_village, sorted_village, side="left")
        number = np.empty(len(village), dtype=np.int64)
        number[order] = np.arange(len(village)) - starts + 1
        number += self.house_numbers[village]
        self.house_numbers += np.bincount(village, minlength=len(self.house_numbers))
        names = self.places.village_names
        return {
            "id": hh_hex,
            "village_id": self.village_hex[village].tolist(),
            "address": [
                f"{names[v]}{n}号" for v, n in zip(village.tolist(), number.tolist(), strict=True)
            ],
        }

    def _id_numbers(
        self,
        rng: np.random.Generator,
        area: np.ndarray,
        birth: np.ndarray,
        male: np.ndarray,
        age: np.ndarray,
    ) -> list[str | None]:
        """ID numbers; about a third of infants are not yet registered and have none."""
        has = ~((age < 1) & (rng.random(len(age)) < INFANTS_WITHOUT_ID))
        issued = iter(self.id_numbers.issue(area[has], birth[has], male[has]))
        return [next(issued) if h else None for h in has.tolist()]

    def _ehealth_cards(self, number: int, people: int) -> list[str | None]:
        """电子健康卡号 (64 hex digits) for most residents, from a stream of their own."""
        rng = ids.stream(self.seed, ids.CARDS, number)
        digits = rng.integers(0, 256, size=(people, 32), dtype=np.uint8).tobytes().hex().upper()
        has = (rng.random(people) < EHEALTH_CARDS).tolist()
        return [digits[64 * i : 64 * i + 64] if h else None for i, h in enumerate(has)]

    def _phones(self, rng: np.random.Generator, age: np.ndarray) -> list[str | None]:
        has = rng.random(len(age)) < _steps(age, PHONE)
        counters = self.phone_count + np.arange(int(has.sum()))
        self.phone_count += len(counters)
        numbers = iter(self.phones.numbers(counters))
        return [next(numbers) if h else None for h in has.tolist()]

    def _insurance(
        self, rng: np.random.Generator, age: np.ndarray, local: np.ndarray, village: np.ndarray
    ) -> list[str]:
        urban = self.places.village_is_community[village]
        employee = np.where(urban, _steps(age, EMPLOYEE, 2), _steps(age, EMPLOYEE, 1))
        employee = np.where(local, employee, np.where(age >= ADULT, MIGRANT_EMPLOYEE, 0.0))
        uninsured = np.where(local, LOCAL_UNINSURED, MIGRANT_UNINSURED)
        u = rng.random(len(age))
        kind = np.where(u < uninsured, "none", "urban_rural")
        return np.where((u >= uninsured) & (u < uninsured + employee), "employee", kind).tolist()

    @staticmethod
    def _guardianships(
        grid: Grid, position: np.ndarray, age: np.ndarray, resident_hex: list[str]
    ) -> Columns:
        """Each minor's parents in the household are his guardians."""
        guardians, wards = [], []
        for link in (grid.father, grid.mother):
            hh, slot = np.nonzero(link >= 0)
            child = position[hh, slot]
            parent = position[hh, link[hh, slot]]
            minor = age[child] < ADULT
            guardians.append(parent[minor])
            wards.append(child[minor])
        guardian, ward = np.concatenate(guardians), np.concatenate(wards)
        return {
            "guardian_id": [resident_hex[g] for g in guardian.tolist()],
            "ward_id": [resident_hex[w] for w in ward.tolist()],
            "relation": ["parent"] * len(ward),
        }
