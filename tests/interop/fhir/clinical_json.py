"""FHIR JSON of the shared record's resources, as a third-party client would send them.

Each function gives a valid resource about ``patient_id``; a test changes one element to state
a rule about it. What is already stored is arranged with the synthetic county's builders.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from fhir.resources.R4B import get_fhir_model_class

from yigongti import clinical
from yigongti.interop.fhir import systems
from yigongti.kernel import now


def hours_ago(hours: float) -> str:
    """An instant ``hours`` before now, as FHIR text."""
    return (now() - timedelta(hours=hours)).isoformat()


def patient_ref(patient_id: uuid.UUID | str) -> dict:
    """A reference to a Patient."""
    return {"reference": f"Patient/{patient_id}"}


def encounter(patient_id: uuid.UUID | str, code: str = "AMB", diagnosis: str = "I10") -> dict:
    """A finished outpatient visit two hours ago for hypertension."""
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": systems.ACT_CODE, "code": code},
        "subject": patient_ref(patient_id),
        "period": {"start": hours_ago(2), "end": hours_ago(1.5)},
        "reasonCode": [{"coding": [{"system": systems.ICD10, "code": diagnosis}]}],
    }


def condition(patient_id: uuid.UUID | str, code: str = "E11.900") -> dict:
    """A diagnosis of type 2 diabetes with onset on 2024-03-01."""
    return {
        "resourceType": "Condition",
        "subject": patient_ref(patient_id),
        "code": {"coding": [{"system": systems.ICD10, "code": code}]},
        "onsetDateTime": "2024-03-01",
    }


def glucose(patient_id: uuid.UUID | str, value: float = 7.2, unit: str = "mmol/L") -> dict:
    """A fasting glucose result (LOINC 14771-0) an hour ago."""
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": systems.OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": systems.LOINC, "code": "14771-0"}]},
        "subject": patient_ref(patient_id),
        "effectiveDateTime": hours_ago(1),
        "valueQuantity": {"value": value, "unit": unit, "system": systems.UCUM, "code": unit},
    }


def blood_pressure(patient_id: uuid.UUID | str, systolic: float, diastolic: float) -> dict:
    """A blood-pressure panel (85354-9) with its two components, half an hour ago."""

    def part(code: str, value: float) -> dict:
        quantity = {"value": value, "unit": "mm[Hg]", "system": systems.UCUM, "code": "mm[Hg]"}
        return {
            "code": {"coding": [{"system": systems.LOINC, "code": code}]},
            "valueQuantity": quantity,
        }

    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": systems.LOINC, "code": "85354-9"}]},
        "subject": patient_ref(patient_id),
        "effectiveDateTime": hours_ago(0.5),
        "component": [part("8480-6", systolic), part("8462-4", diastolic)],
    }


def lab_report(patient_id: uuid.UUID | str) -> dict:
    """A CBC report (58410-2) with hemoglobin and leukocytes as contained results."""

    def result(ident: str, code: str, value: float, unit: str) -> dict:
        return {
            "resourceType": "Observation",
            "id": ident,
            "status": "final",
            "code": {"coding": [{"system": systems.LOINC, "code": code}]},
            "effectiveDateTime": hours_ago(3),
            "valueQuantity": {"value": value, "system": systems.UCUM, "code": unit},
        }

    return {
        "resourceType": "DiagnosticReport",
        "contained": [result("hb", "718-7", 132, "g/L"), result("wbc", "6690-2", 11.2, "10*9/L")],
        "status": "final",
        "category": [{"coding": [{"system": systems.DIAGNOSTIC_SECTION, "code": "LAB"}]}],
        "code": {"coding": [{"system": systems.LOINC, "code": "58410-2"}]},
        "subject": patient_ref(patient_id),
        "effectiveDateTime": hours_ago(3),
        "conclusion": "白细胞轻度升高",
        "result": [{"reference": "#hb"}, {"reference": "#wbc"}],
    }


def immunization(patient_id: uuid.UUID | str, occurred: str, vaccine: str = "HepB") -> dict:
    """A first dose of a programme vaccine."""
    return {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": clinical.VACCINE_SYSTEM, "code": vaccine}]},
        "patient": patient_ref(patient_id),
        "occurrenceDateTime": occurred,
        "lotNumber": "B2025011",
        "protocolApplied": [{"doseNumberPositiveInt": 1}],
    }


def prescription(patient_id: uuid.UUID | str, days: int = 28, unit: str = "d") -> dict:
    """Amlodipine (ATC C08CA01), one tablet a day for ``days`` days."""
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": clinical.MEDICATION_SYSTEM, "code": "C08CA01"}]
        },
        "subject": patient_ref(patient_id),
        "authoredOn": hours_ago(1),
        "dosageInstruction": [{"text": "每日一次，每次一片"}],
        "dispenseRequest": {
            "quantity": {"value": days, "unit": "tablet"},
            "expectedSupplyDuration": {
                "value": days,
                "unit": unit,
                "system": systems.UCUM,
                "code": unit,
            },
        },
    }


def referral(patient_id: uuid.UUID | str, performer_id: uuid.UUID | str) -> dict:
    """An up-referral request to an institution, for hypertension."""
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": systems.SNOMED, "code": "3457005"}]}],
        "code": {"text": "心内科会诊"},
        "subject": patient_ref(patient_id),
        "authoredOn": hours_ago(1),
        "performer": [{"reference": f"Organization/{performer_id}"}],
        "reasonCode": [{"coding": [{"system": systems.ICD10, "code": "I10"}]}],
    }


def assert_valid_r4b(resource: dict) -> None:
    """The resource validates against its FHIR R4B model."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
