"""One module per FHIR resource type; importing this package registers them all."""

from yigongti.interop.fhir.resources import (  # noqa: F401 - each registers by import
    condition,
    diagnostic_report,
    encounter,
    everything,
    group,
    immunization,
    medication_request,
    observation,
    patient,
    service_request,
)
