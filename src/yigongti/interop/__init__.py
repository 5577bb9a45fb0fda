"""The standards faces: FHIR R4 (``fhir/``), bulk data (``bulk/``), the patient index (``empi/``)."""
