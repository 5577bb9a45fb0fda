"""The standards faces: FHIR, bulk import and export, and the master patient index."""
