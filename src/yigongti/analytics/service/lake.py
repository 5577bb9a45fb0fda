"""Use cases of the data center: the lake. Institutions push files, operators run the export.

Who may do what: pushing needs ``lake:load``; an actor whose role is not county-wide (scope
``county`` or ``with_reason``) pushes only for its own institution and sees only its own
institution's files. The export needs ``lake:export``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, select
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.analytics.lake.export import DatasetExport, ExportReport, Progress, export_lake
from yigongti.analytics.lake.store import Lake
from yigongti.analytics.lake.upload import LoadResult, RowError, load_file, uploadable_dataset
from yigongti.analytics.models import LakeFile
from yigongti.db import page
from yigongti.kernel import Forbidden, NotFound, invalid_field
from yigongti.security import Actor, audit, roles

__all__ = [
    "DatasetExport",
    "ExportReport",
    "Lake",
    "LakeFileQuery",
    "LoadResult",
    "RowError",
    "lake_file",
    "lake_files",
    "load_lake_file",
    "run_export",
]


def _county_wide(actor: Actor) -> bool:
    return actor.role_def.scope in (roles.COUNTY, roles.WITH_REASON)


def _push_target(
    session: Session, actor: Actor, institution_id: uuid.UUID | None, by_institution: bool
) -> uuid.UUID | None:
    """The institution a push is for: the one named, or the actor's own; checked."""
    target = institution_id or actor.institution_id
    if target is None:
        if by_institution:
            raise invalid_field(
                "institution_id",
                "Name the institution whose file this is (institution_id)",
                "请指明文件所属机构（institution_id）",
            )
        if not _county_wide(actor):
            raise Forbidden(
                en="Your account belongs to no institution, so it may not push files",
                zh="您的账号不属于任何机构，不能上传文件",
            )
        return None
    if not _county_wide(actor) and target != actor.institution_id:
        raise Forbidden(
            en="You may push files only for your own institution",
            zh="只能为本机构上传文件",
        )
    registry.get_institution(session, target)
    return target


def load_lake_file(
    session: Session,
    actor: Actor,
    lake: Lake,
    *,
    dataset: str,
    filename: str,
    data: bytes,
    institution_id: uuid.UUID | None = None,
) -> LoadResult:
    """Push a CSV or Parquet file of ``dataset`` for an institution into the lake.

    All or nothing: the result's file is ``loaded`` (every row in the lake) or ``rejected``
    (nothing in the lake; its report says why, line by line). The same bytes pushed again
    return the first push's record with ``duplicate`` set and change nothing.
    ``institution_id`` defaults to the actor's institution.
    """
    actor.require(roles.LAKE_LOAD)
    ds = uploadable_dataset(dataset)
    target = _push_target(session, actor, institution_id, ds.by_institution)
    result = load_file(
        session,
        lake,
        actor.username,
        dataset=ds.name,
        filename=filename,
        data=data,
        institution_id=target,
    )
    outcome = "duplicate" if result.duplicate else result.file.status
    audit.record(
        session,
        actor,
        "load",
        "lake_file",
        result.file.id,
        detail=f"{ds.name} {outcome}: {result.file.rows} rows, {result.file.rejected_rows} bad",
    )
    return result


def run_export(
    session: Session,
    actor: Actor,
    lake: Lake,
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> ExportReport:
    """Export the operational database into the lake (only the months that changed).

    The watermarks are written through ``session``, which the caller commits after the lake's
    own commit. ``full`` rewrites every month.
    """
    actor.require(roles.LAKE_EXPORT)
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    report = export_lake(engine, lake, session=session, full=full, progress=progress)
    audit.record(
        session,
        actor,
        "export",
        "lake",
        detail=f"{report.rows} rows in {report.files} files" + (" (full)" if full else ""),
    )
    return report


@dataclass(frozen=True)
class LakeFileQuery:
    """Which pushed files to list: by dataset, institution and status; one page of them."""

    dataset: str | None = None
    institution_id: uuid.UUID | None = None
    status: str | None = None
    limit: int = 50
    offset: int = 0


def _visible(actor: Actor) -> list[ColumnElement[bool]]:
    actor.require(roles.LAKE_LOAD)
    if _county_wide(actor):
        return []
    return [LakeFile.institution_id == actor.institution_id]


def lake_files(session: Session, actor: Actor, query: LakeFileQuery) -> tuple[int, list[LakeFile]]:
    """Files pushed into the lake, newest first, with the count of all that match."""
    conditions = _visible(actor)
    if query.dataset:
        conditions.append(LakeFile.dataset == query.dataset)
    if query.institution_id:
        conditions.append(LakeFile.institution_id == query.institution_id)
    if query.status:
        conditions.append(LakeFile.status == query.status)
    statement = (
        select(LakeFile).where(*conditions).order_by(LakeFile.loaded_at.desc(), LakeFile.id.desc())
    )
    return page(session, statement, query.limit, query.offset)


def lake_file(session: Session, actor: Actor, file_id: uuid.UUID) -> LakeFile:
    """One pushed file with its report; ``NotFound`` if there is none in the actor's scope."""
    found = session.scalar(select(LakeFile).where(LakeFile.id == file_id, *_visible(actor)))
    if found is None:
        raise NotFound(en="No such file in the lake's records", zh="数据湖记录中无此文件")
    return found
