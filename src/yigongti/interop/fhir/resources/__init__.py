"""One module per FHIR resource type; importing this package registers them all."""

from yigongti.interop.fhir.resources import group, patient  # noqa: F401 - registers by import
