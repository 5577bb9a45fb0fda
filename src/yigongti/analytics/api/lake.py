"""JSON API of the data center: the lake. HIS push files; operators run the export."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from yigongti import analytics
from yigongti.analytics.schemas import ExportReportOut, LakeFileDetailOut, LakeFileOut
from yigongti.kernel import invalid_field
from yigongti.kernel.paging import Page
from yigongti.web.deps import ActorDep, SessionDep
from yigongti.web.errors import PROBLEM, TYPE_BASE

if TYPE_CHECKING:
    from yigongti.analytics.models import LakeFile

router = APIRouter(tags=["analytics"])

PUSH_TYPES = ("text/csv", "application/vnd.apache.parquet", "application/octet-stream")
_BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
_PUSH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes: CSV (UTF-8) or Parquet, as docs/lake.md describes",
        "content": {media: _BINARY for media in PUSH_TYPES},
    }
}
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


async def _body(request: Request) -> bytes:
    """The raw request body (read in the event loop; the endpoint runs in a worker thread)."""
    return await request.body()


def _lake(request: Request) -> analytics.Lake:
    return analytics.Lake(request.app.state.settings.lake_dir)


RawBody = Annotated[bytes, Depends(_body)]
LakeDep = Annotated[analytics.Lake, Depends(_lake)]


def _summary(file: LakeFile, duplicate: bool = False) -> LakeFileOut:
    return LakeFileOut.model_validate(file).model_copy(update={"duplicate": duplicate})


def _rejection(result: analytics.LoadResult) -> JSONResponse:
    """The 422 problem of a rejected file, with its report line by line."""
    file = result.file
    errors = [analytics.RowError(**entry) for entry in file.report]  # type: ignore[arg-type]
    first = errors[0]  # a rejected file has at least one problem on record
    body = {
        "type": TYPE_BASE + "rejected-file",
        "title": "Rejected",
        "status": 422,
        "detail": f"File rejected, nothing was loaded: {file.rejected_rows} bad row(s); "
        f"first problem: {first.message('en')}",
        "detail_zh": f"文件被拒收，未载入任何数据：{file.rejected_rows} 行有误；"
        f"首个问题：{first.message('zh')}",
        "errors": [
            {"field": e.column or "file", "message": e.message("en"), "message_zh": e.message("zh")}
            for e in errors
        ],
        "file_id": str(file.id),
        "duplicate": result.duplicate,
        "rejected_rows": file.rejected_rows,
        "report": file.report,
    }
    return JSONResponse(body, status_code=422, media_type=PROBLEM)


@router.post(
    "/lake/{dataset}/files",
    response_model=LakeFileOut,
    status_code=201,
    responses={200: {"model": LakeFileOut, "description": "The same bytes were pushed before"}},
    openapi_extra=_PUSH_BODY,
)
def push_file(
    request: Request,
    response: Response,
    dataset: Annotated[str, Path(max_length=20)],
    filename: Annotated[str, Query(min_length=1, max_length=200)],
    data: RawBody,
    session: SessionDep,
    actor: ActorDep,
    lake: LakeDep,
    institution_id: uuid.UUID | None = None,
) -> Any:
    """Push a CSV or Parquet file of ``dataset`` for an institution (all rows or none).

    201: loaded; 200 with ``duplicate``: the same bytes were pushed before; 422: rejected,
    with ``report`` naming each bad line and column.
    """
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in PUSH_TYPES:
        raise invalid_field(
            "content-type",
            f"Send the file as one of: {', '.join(PUSH_TYPES)}",
            f"文件的 Content-Type 须为：{'、'.join(PUSH_TYPES)}",
        )
    result = analytics.load_lake_file(
        session,
        actor,
        lake,
        dataset=dataset,
        filename=filename,
        data=data,
        institution_id=institution_id,
    )
    if not result.loaded:
        return _rejection(result)
    if result.duplicate:
        response.status_code = 200
    return _summary(result.file, result.duplicate)


@router.get("/lake/files", response_model=Page[LakeFileOut])
def list_files(
    session: SessionDep,
    actor: ActorDep,
    dataset: Annotated[str | None, Query(max_length=20)] = None,
    institution_id: uuid.UUID | None = None,
    status: Literal["loaded", "rejected"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[LakeFileOut]:
    """Files pushed into the lake, newest first."""
    query = analytics.LakeFileQuery(dataset, institution_id, status, limit, offset)
    total, rows = analytics.lake_files(session, actor, query)
    return Page(total=total, limit=limit, offset=offset, items=[_summary(f) for f in rows])


@router.get("/lake/files/{file_id}", response_model=LakeFileDetailOut)
def get_file(file_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> LakeFileDetailOut:
    """One pushed file with its report."""
    return LakeFileDetailOut.model_validate(analytics.lake_file(session, actor, file_id))


@router.post("/lake/export", response_model=ExportReportOut)
def export_now(
    session: SessionDep,
    actor: ActorDep,
    lake: LakeDep,
    full: Annotated[bool, Query(description="Rewrite every month, changed or not")] = False,
) -> ExportReportOut:
    """Export the database into the lake now: the months that changed since the last run."""
    return ExportReportOut.model_validate(analytics.run_export(session, actor, lake, full=full))
