"""The bench's NDJSON: new residents of the synthetic county, their visits and measurements.

Lines carry the source system's own ids (``p1``, ``e1``, ``o1``) and refer to each other by
them (``Patient/p1``), as a HIS export would; the import rewrites them to our ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from yigongti.interop.fhir import systems
from yigongti.interop.fhir.resources.patient import VILLAGE_EXTENSION
from yigongti.kernel import SHANGHAI, make_resident_id
from yigongti.synth.names import draw_surnames, full_names

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DIAGNOSES = ("I10", "E11.900", "J06.900", "J20.900", "K29.700", "M54.500", "R50.900")
# LOINC code, UCUM unit, category, plausible (low, high)
MEASURES = (
    ("8867-4", "/min", "vital-signs", (58, 96)),
    ("29463-7", "kg", "vital-signs", (45, 85)),
    ("8310-5", "Cel", "vital-signs", (36.1, 37.2)),
    ("14771-0", "mmol/L", "laboratory", (4.2, 6.0)),
)
SHARES = (0.1, 0.3, 0.6)  # Patients, Encounters, Observations


def patient_resource(
    source_id: str, name: str, id_number: str, village_id: uuid.UUID, phone: str | None = None
) -> dict:
    """A Patient as a HIS would send it: ID number, name, residence village."""
    patient = {
        "resourceType": "Patient",
        "id": source_id,
        "identifier": [{"system": systems.ID_NUMBER, "value": id_number}],
        "name": [{"text": name}],
        "address": [{"extension": [{"url": VILLAGE_EXTENSION, "valueString": str(village_id)}]}],
    }
    if phone:
        patient["telecom"] = [{"system": "phone", "value": phone, "use": "mobile"}]
    return patient


def encounter_resource(
    source_id: str,
    patient: str,
    institution_id: uuid.UUID,
    started: datetime,
    diagnosis: str = "J06.900",
) -> dict:
    """A finished outpatient visit of ``patient`` (a reference text, ``Patient/<id>``)."""
    return {
        "resourceType": "Encounter",
        "id": source_id,
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "AMB"},
        "subject": {"reference": patient},
        "period": {
            "start": started.isoformat(),
            "end": (started + timedelta(minutes=15)).isoformat(),
        },
        "reasonCode": [{"coding": [{"system": systems.ICD10, "code": diagnosis}]}],
        "serviceProvider": {"reference": f"Organization/{institution_id}"},
    }


def observation_resource(
    source_id: str,
    patient: str,
    encounter: str | None,
    effective: datetime,
    measure: tuple = MEASURES[0],
    value: float = 72,
) -> dict:
    """A final measurement of ``patient`` taken at ``encounter`` (reference texts)."""
    code, unit, category, _ = measure
    observation = {
        "resourceType": "Observation",
        "id": source_id,
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
        "code": {"coding": [{"system": systems.LOINC, "code": code}]},
        "subject": {"reference": patient},
        "effectiveDateTime": effective.isoformat(),
        "valueQuantity": {"value": value, "unit": unit, "system": systems.UCUM, "code": unit},
    }
    if encounter:
        observation["encounter"] = {"reference": encounter}
    return observation


@dataclass(frozen=True)
class MixPlan:
    """How many of each kind a mix of ``total`` resources holds."""

    patients: int
    encounters: int
    observations: int

    @classmethod
    def of(cls, total: int) -> MixPlan:
        """10% Patients, 30% Encounters, the rest Observations (at least one Patient)."""
        patients = max(1, round(total * SHARES[0]))
        encounters = min(total - patients, round(total * SHARES[1]))
        return cls(patients, encounters, total - patients - encounters)


def county_mix(
    total: int,
    seed: int,
    county_code: str,
    villages: list[uuid.UUID],
    institution_id: uuid.UUID,
    taken_ids: set[str],
) -> Iterator[dict]:
    """``total`` resources: new residents of the county's villages, then visits, then measures."""
    rng = np.random.default_rng(seed)
    plan = MixPlan.of(total)
    births = [
        date(1940, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 29_000, plan.patients)
    ]
    male = rng.random(plan.patients) < 0.5
    names, _ = full_names(
        rng, draw_surnames(rng, plan.patients), male, np.array([b.year for b in births])
    )
    for i in range(plan.patients):
        id_number = _free_id_number(county_code, births[i], bool(male[i]), taken_ids)
        village = villages[int(rng.integers(0, len(villages)))]
        yield patient_resource(f"p{i}", names[i], id_number, village)
    start = datetime(2025, 1, 6, 8, 0, tzinfo=SHANGHAI)
    starts = [
        start + timedelta(minutes=int(m)) for m in rng.integers(0, 300 * 24 * 60, plan.encounters)
    ]
    for j, started in enumerate(starts):
        diagnosis = DIAGNOSES[int(rng.integers(0, len(DIAGNOSES)))]
        yield encounter_resource(
            f"e{j}", f"Patient/p{j % plan.patients}", institution_id, started, diagnosis
        )
    for k in range(plan.observations):
        j = k % max(1, plan.encounters)
        measure = MEASURES[int(rng.integers(0, len(MEASURES)))]
        low, high = measure[3]
        value = round(float(rng.uniform(low, high)), 1)
        yield observation_resource(
            f"o{k}",
            f"Patient/p{j % plan.patients}",
            f"Encounter/e{j}" if plan.encounters else None,
            (starts[j] if plan.encounters else start) + timedelta(minutes=10),
            measure,
            value,
        )


def _free_id_number(county_code: str, birth: date, male: bool, taken: set[str]) -> str:
    for sequence in range(1 if male else 2, 1000, 2):
        number = make_resident_id(county_code, birth, sequence)
        if number not in taken:
            taken.add(number)
            return number
    raise ValueError(f"no free ID number for {birth}")
