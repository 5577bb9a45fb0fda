"""Chronic conditions on the problem list: hypertension (I10) and type 2 diabetes (E11.900).

Prevalence rises with age along logistic curves tuned so that about a quarter of adults carry
hypertension and a tenth diabetes, diabetes being more common among the hypertensive.
"""

from __future__ import annotations

import numpy as np

from yigongti.synth import ids

HYPERTENSION_CODE = "I10"
DIABETES_CODE = "E11.900"

# (ceiling, midpoint, spread) of the logistic prevalence curve by age, adults only.
HYPERTENSION = (0.69, 60.0, 10.0)
DIABETES = (0.26, 60.0, 9.0)
DIABETES_IF_HYPERTENSIVE = 1.6
DIABETES_OTHERWISE = 0.7

ADULT = 18
# Diagnoses of the last twenty years, never before the age of 25 (or birth plus 18 years).
MAX_YEARS_SINCE_ONSET = 20.0
EARLIEST_ONSET_AGE = 25.0


def _logistic(age: np.ndarray, curve: tuple[float, float, float]) -> np.ndarray:
    ceiling, midpoint, spread = curve
    return ceiling / (1 + np.exp(-(age - midpoint) / spread))


def draw_chronic(rng: np.random.Generator, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Who has hypertension and who has diabetes, among people of these ages."""
    adult = age >= ADULT
    htn = adult & (rng.random(len(age)) < _logistic(age, HYPERTENSION))
    lift = np.where(htn, DIABETES_IF_HYPERTENSIVE, DIABETES_OTHERWISE)
    dm = adult & (rng.random(len(age)) < _logistic(age, DIABETES) * lift)
    return htn, dm


def condition_rows(
    rng: np.random.Generator,
    reference: np.datetime64,
    record_ms: int,
    resident_hex: list[str],
    age: np.ndarray,
    flags: dict[str, np.ndarray],
    institution_hex: list[str],
) -> dict[str, list[object]]:
    """Rows of ``conditions`` for residents flagged per ICD-10 code, recorded at their center.

    ``institution_hex`` names each resident's township or community center.
    """
    people = np.concatenate([np.flatnonzero(f) for f in flags.values()])
    codes = np.repeat(list(flags), [int(f.sum()) for f in flags.values()])
    # Years before the reference day; a few days' margin keeps every onset at 18 or later.
    span = np.clip(age[people] - EARLIEST_ONSET_AGE, 0.1, MAX_YEARS_SINCE_ONSET)
    span = np.minimum(span, age[people] - ADULT - 0.02)
    days = np.maximum(np.ceil(rng.random(len(people)) * span * 365.25), 1)
    onset = reference - days.astype("timedelta64[D]")
    hi, lo = ids.uuid7_bits(rng, np.full(len(people), record_ms))
    return {
        "id": ids.hex_ids(hi, lo),
        "resident_id": [resident_hex[p] for p in people.tolist()],
        "code": codes.tolist(),
        "onset_date": np.datetime_as_string(onset).tolist(),
        "institution_id": [institution_hex[p] for p in people.tolist()],
    }
