"""The shared resident record: conditions, encounters and fee lines, observations and diagnostic
reports, immunizations, medication and service requests, from every institution.

Use cases take ``(session, actor, ...)``, check permission and scope, audit every read and change
of a person's record, and return frozen ``<Thing>View`` dataclasses. Code tables (LOINC
observations and reports, programme vaccines, ATC medicines) are on the face too.
"""

from yigongti.clinical.codes import (
    MEDICATION_SYSTEM,
    OBSERVATION_SYSTEM,
    VACCINE_SYSTEM,
    medication_catalog,
    observation_catalog,
    report_catalog,
    vaccine_catalog,
)
from yigongti.clinical.service import *  # noqa: F403 - the service face is the package face
from yigongti.clinical.service import __all__ as _service_names

__all__ = [
    "MEDICATION_SYSTEM",
    "OBSERVATION_SYSTEM",
    "VACCINE_SYSTEM",
    "medication_catalog",
    "observation_catalog",
    "report_catalog",
    "vaccine_catalog",
    *_service_names,
]
