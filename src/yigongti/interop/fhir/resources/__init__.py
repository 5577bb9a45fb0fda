"""One module per FHIR resource type; importing this package registers them all."""

from yigongti.interop.fhir.resources import (  # noqa: F401 - each registers by import
    appointment,
    care_team,
    condition,
    diagnostic_report,
    encounter,
    everything,
    group,
    immunization,
    location,
    medication_request,
    observation,
    organization,
    patient,
    patient_match,
    practitioner,
    practitioner_role,
    schedule,
    service_request,
    slot,
)
