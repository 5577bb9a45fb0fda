"""The standards faces: FHIR R4 (``fhir/``), bulk data (``bulk/``), patient index (``empi/``)."""
