"""FHIR Bulk Data: ``$import`` of NDJSON and ``$export`` (system, Patient, Group) to NDJSON.

Importing this package registers the operations with the FHIR API; ``router`` serves the
status and file URLs. The bench runs ``run_import`` itself, the function the endpoint's job
thread runs.
"""

from yigongti.interop.bulk.api import router
from yigongti.interop.bulk.service import operations as _operations  # noqa: F401 - registers
from yigongti.interop.bulk.service.exporter import ExportRequest, run_export
from yigongti.interop.bulk.service.importer import ImportOptions, Tally, run_import
from yigongti.interop.bulk.service.jobs import job_dir, open_job, status_of

BULK_IMPORT_PATH = "/fhir/$import"

__all__ = [
    "BULK_IMPORT_PATH",
    "ExportRequest",
    "ImportOptions",
    "Tally",
    "job_dir",
    "open_job",
    "router",
    "run_export",
    "run_import",
    "status_of",
]
