"""The standards faces: FHIR R4 (``fhir/``), bulk data and the master patient index (``empi/``)."""
