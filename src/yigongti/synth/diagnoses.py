"""What patients come with, and which department sees them.

Diagnoses are drawn per kind of visit and age group from the ICD-10 codes of
``registry/data/icd10.json``; each code names the departments that treat it, tried in order.
"""

from __future__ import annotations

import numpy as np

from yigongti.registry.codes import icd10
from yigongti.synth.institutions import ALL_DEPARTMENTS, Network

CODES = tuple(icd10())
CODE_INDEX = {code: i for i, code in enumerate(CODES)}
CHILD, ADULT, ELDER = range(3)  # age groups: under 15, 15-64, 65 and over

# visit stream -> age group -> {code: weight}
MIX: dict[str, tuple[dict[str, float], ...]] = {
    "acute": (
        {"J06.900": 35, "J20.900": 12, "R50.900": 15, "H10.900": 5, "K02.900": 8,
         "L30.900": 7, "K29.700": 3, "Z00.000": 10, "J18.900": 3, "N39.000": 2},
        {"J06.900": 20, "J20.900": 6, "K29.700": 12, "M54.500": 12, "M17.900": 4,
         "N39.000": 5, "H10.900": 4, "L30.900": 6, "K02.900": 7, "R50.900": 4, "Z00.000": 12,
         "I25.100": 2, "J44.900": 2, "K80.200": 2},
        {"J06.900": 12, "J20.900": 7, "K29.700": 10, "M54.500": 10, "M17.900": 12,
         "J44.900": 8, "I25.100": 10, "I63.900": 4, "N39.000": 4, "H10.900": 4, "L30.900": 3,
         "K02.900": 4, "Z00.000": 8, "R50.900": 2, "K80.200": 2},
    ),
    "emergency": (
        {"R50.900": 35, "J06.900": 20, "J18.900": 15, "J20.900": 10, "K35.800": 8,
         "K29.700": 7, "L30.900": 5},
        {"K35.800": 10, "R50.900": 12, "J06.900": 10, "I25.100": 10, "I63.900": 5,
         "S72.000": 3, "K80.200": 8, "M54.500": 10, "N39.000": 6, "K29.700": 12,
         "J18.900": 6, "I10": 8},
        {"I63.900": 15, "I25.100": 18, "J18.900": 15, "J44.900": 12, "S72.000": 10,
         "R50.900": 6, "K80.200": 6, "I10": 10, "K29.700": 8},
    ),
    "inpatient": (
        {"J18.900": 55, "J20.900": 20, "K35.800": 15, "R50.900": 10},
        {"K35.800": 15, "K80.200": 18, "J18.900": 12, "I25.100": 12, "I63.900": 10,
         "M54.500": 8, "S72.000": 5, "E11.900": 6, "I10": 4, "M17.900": 5, "N39.000": 5},
        {"I63.900": 20, "I25.100": 18, "J18.900": 16, "J44.900": 14, "S72.000": 8,
         "M17.900": 6, "K80.200": 6, "E11.900": 6, "I10": 6},
    ),
}  # fmt: skip

# code -> departments that treat it, in order of preference (catalog codes)
DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "I10": ("03",), "E11.900": ("03",), "J06.900": ("03",), "J20.900": ("03",),
    "J18.900": ("03",), "J44.900": ("03",), "K29.700": ("03", "50"), "K80.200": ("04", "03"),
    "K35.800": ("04",), "I25.100": ("03",), "I63.900": ("03", "21"), "M54.500": ("21", "50", "04"),
    "M17.900": ("04", "21", "50"), "N39.000": ("03",), "S72.000": ("04",), "O80.000": ("05",),
    "H10.900": ("10",), "L30.900": ("13",), "K02.900": ("12",), "R50.900": ("03",),
    "Z00.000": ("01",),
}  # fmt: skip
PAEDIATRIC = frozenset(
    {"J06.900", "J20.900", "J18.900", "R50.900", "K29.700", "N39.000", "L30.900"}
)
FALLBACK = ("02", "03")
ADULT_SEEN, CHILD_SEEN, EMERGENCY_SEEN = range(3)  # how the department is chosen


def age_group(age: np.ndarray) -> np.ndarray:
    """CHILD, ADULT or ELDER for each age."""
    return np.digitize(age, [15, 65]).astype(np.int8)


def _cumulative(stream: str) -> np.ndarray:
    table = np.zeros((3, len(CODES)))
    for group, weights in enumerate(MIX[stream]):
        for code, weight in weights.items():
            table[group, CODE_INDEX[code]] = weight
    table /= table.sum(axis=1, keepdims=True)
    return np.cumsum(table, axis=1)


CUMULATIVE = {stream: _cumulative(stream) for stream in MIX}


def draw(rng: np.random.Generator, stream: str, group: np.ndarray) -> np.ndarray:
    """Code indices for visits of ``stream`` by patients of these age groups."""
    cumulative = CUMULATIVE[stream][group]
    picks = (rng.random(len(group))[:, None] > cumulative).sum(axis=1)
    return np.minimum(picks, len(CODES) - 1)


def department_table(network: Network) -> np.ndarray:
    """(how seen, institution, code) -> department index, -1 where the house has none at all."""
    position = {code: p for p, code in enumerate(ALL_DEPARTMENTS)}
    n_inst = len(network.ids)
    table = np.full((3, n_inst, len(CODES)), -1, dtype=np.int32)
    for how in (ADULT_SEEN, CHILD_SEEN, EMERGENCY_SEEN):
        for c, code in enumerate(CODES):
            chain = DEPARTMENTS[code]
            if how == CHILD_SEEN and code in PAEDIATRIC:
                chain = ("07", *chain)
            if how == EMERGENCY_SEEN:
                chain = ("20", *chain)
            chain = chain + FALLBACK
            for inst in range(n_inst):
                row = network.department_of[inst]
                found = [row[position[d]] for d in chain if row[position[d]] >= 0]
                present = row[row >= 0]
                if found or len(present):
                    table[how, inst, c] = found[0] if found else present[0]
    return table
