"""Code tables of the clinical record, loaded from ``clinical/data``: observations and reports
(LOINC with UCUM units), vaccines (the national immunization programme) and medicines (WHO ATC).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

OBSERVATION_CATEGORIES = ("vital-signs", "laboratory", "exam")
REPORT_CATEGORIES = ("LAB", "RAD", "ECG", "US", "PAT")
SERVICE_CATEGORIES = ("referral", "imaging", "lab", "procedure")
ENCOUNTER_KINDS = ("outpatient", "emergency", "inpatient")
# FHIR request-intent codes a service or medication request may carry.
REQUEST_INTENTS = (
    "proposal",
    "plan",
    "directive",
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
)
# v3 ActReason codes for a vaccine dose not given.
NOT_DONE_REASONS = ("IMMUNE", "MEDPREC", "OSTOCK", "PATOBJ")


def _load(name: str) -> dict[str, Any]:
    return json.loads(resources.files("yigongti.clinical").joinpath(f"data/{name}").read_text())


@cache
def observation_catalog() -> dict[str, dict[str, Any]]:
    """LOINC observation codes: code -> {zh, en, category, kind, unit, bounds, normal, critical}."""
    return _load("observations.json")["observations"]


@cache
def report_catalog() -> dict[str, dict[str, str]]:
    """LOINC codes of diagnostic reports: code -> {zh, en, category}."""
    return _load("observations.json")["reports"]


@cache
def vaccine_catalog() -> dict[str, dict[str, Any]]:
    """Vaccines by programme short name: code -> {zh, en, cvx, programme, schedule | doses}."""
    return _load("vaccines.json")["vaccines"]


@cache
def medication_catalog() -> dict[str, dict[str, Any]]:
    """Chronic-disease medicines by ATC code: code -> {zh, en, unit, conditions}."""
    return _load("medications.json")["medications"]


@cache
def max_long_prescription_days() -> int:
    """The longest supply a long prescription may give (12 weeks)."""
    return int(_load("medications.json")["max_long_days"])


OBSERVATION_SYSTEM = "http://loinc.org"
VACCINE_SYSTEM = "urn:yigongti:vaccine"
MEDICATION_SYSTEM = "http://www.whocc.no/atc"


def doses_of(vaccine: str) -> int:
    """How many doses of a vaccine a resident may have on record."""
    entry = vaccine_catalog()[vaccine]
    return len(entry["schedule"]) if "schedule" in entry else int(entry["doses"])
