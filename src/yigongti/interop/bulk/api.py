"""The Bulk Data status and file URLs: ``/fhir/bulk-status/<job>`` and ``/fhir/bulk-files/...``.

Polling answers 202 with ``X-Progress`` and ``Retry-After`` while the job runs, 200 with the
manifest when it is done; ``DELETE`` cancels. Files are served only to the job's owner.
"""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from yigongti.interop.bulk.service import jobs
from yigongti.interop.fhir.errors import fhir_error
from yigongti.web.deps import ActorDep, SessionDep

router = APIRouter(prefix="/fhir", include_in_schema=False)
NDJSON = "application/fhir+ndjson"


def _job_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise fhir_error(
            404, "not-found", f"No bulk job {text}", f"批量任务 {text} 不存在"
        ) from None


@router.get("/bulk-status/{job}")
def bulk_status(job: str, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """The job's progress (202) or its manifest (200)."""
    found = jobs.status_of(session, actor, _job_id(job))
    if found.status == jobs.RUNNING:
        return Response(
            status_code=202,
            headers={"X-Progress": found.progress, "Retry-After": str(jobs.RETRY_AFTER_SECONDS)},
        )
    if found.status == jobs.CANCELLED:
        raise fhir_error(404, "not-found", f"Bulk job {job} was cancelled", "批量任务已取消")
    if found.status == jobs.FAILED:
        raise fhir_error(
            500,
            "exception",
            f"The bulk job failed: {found.failure}",
            f"批量任务失败：{found.failure}",
        )
    body = json.dumps(found.manifest, ensure_ascii=False).encode()
    return Response(body, 200, media_type="application/json")


@router.delete("/bulk-status/{job}")
def cancel_bulk_job(job: str, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """Cancel the job (or delete a finished export's files): 202."""
    jobs.cancel_job(session, actor, _job_id(job), request.app.state.settings.data_dir)
    return Response(status_code=202)


@router.get("/bulk-files/{job}/{name}")
def bulk_file(
    job: str, name: str, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """One output (or error) file of the owner's finished job, as NDJSON."""
    path = jobs.job_file(session, actor, request.app.state.settings.data_dir, _job_id(job), name)
    return FileResponse(path, media_type=NDJSON)
