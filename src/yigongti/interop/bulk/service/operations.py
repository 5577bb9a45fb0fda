"""The kick-off of ``$export`` (system, Patient, Group) and ``$import`` (system level).

Both answer ``202 Accepted`` with ``Content-Location`` naming the status URL
(``/fhir/bulk-status/<job>``) and run in a thread of their own. ``$import`` takes the NDJSON
in the request body (``Content-Type: application/fhir+ndjson``, up to the route's body limit);
files named in a Parameters resource are not fetched. ``source=<system>`` names whose ids the
lines carry (default: the importing account), so re-importing the same file finds its map.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import Engine

from yigongti import registry
from yigongti.interop.bulk.service import exporter, importer, jobs
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import fhir_error, invalid
from yigongti.interop.fhir.resource import (
    RESOURCE_TYPES,
    Answer,
    OperationCall,
    parse_id,
    register_operation,
)
from yigongti.security import roles

NDJSON_TYPES = ("application/fhir+ndjson", "application/ndjson", "ndjson")
_ACCEPTED = ("application/fhir+json", "application/json", "*/*", "")
_EXPORT_PARAMS = {"_outputFormat", "_type", "_since"}
INPUT_FILE = "input.ndjson"


@register_operation(
    "export",
    methods=("GET",),
    doc="Bulk Data export of every type the caller may see (Prefer: respond-async; _type, "
    "_since, _outputFormat=application/fhir+ndjson); poll the Content-Location.",
)
def export_system(ctx: Context, call: OperationCall) -> Answer:
    """``GET /fhir/$export``."""
    return _kick_off_export(ctx, call, tuple(sorted(RESOURCE_TYPES)), None, "$export")


@register_operation(
    "export",
    resource_type="Patient",
    methods=("GET",),
    doc="Bulk Data export of the Patient compartment of every patient the caller may see.",
)
def export_patients(ctx: Context, call: OperationCall) -> Answer:
    """``GET /fhir/Patient/$export``."""
    return _kick_off_export(ctx, call, exporter.compartment_types(), None, "Patient/$export")


@register_operation(
    "export",
    resource_type="Group",
    instance=True,
    methods=("GET",),
    doc="Bulk Data export of a village's residents (a Group) and their compartment.",
)
def export_group(ctx: Context, call: OperationCall) -> Answer:
    """``GET /fhir/Group/<id>/$export``."""
    group_id = parse_id("Group", call.resource_id or "")
    ctx.actor.require(roles.BULK_EXPORT)
    registry.get_village(ctx.session, group_id)
    path = f"Group/{group_id}/$export"
    return _kick_off_export(ctx, call, exporter.compartment_types(), group_id, path)


@register_operation(
    "import",
    methods=("POST",),
    doc="Bulk import of NDJSON in the body (Content-Type: application/fhir+ndjson, "
    "Prefer: respond-async, optional source=<system>); every line validated and created "
    "through its resource's mapping; rejected lines reported; re-import adds no duplicates.",
)
def import_ndjson(ctx: Context, call: OperationCall) -> Answer:
    """``POST /fhir/$import``."""
    ctx.actor.require(roles.BULK_IMPORT)
    _require_async(call)
    if call.content_type not in NDJSON_TYPES:
        raise fhir_error(
            415,
            "not-supported",
            f"$import takes NDJSON in the body (Content-Type: application/fhir+ndjson), "
            f"not '{call.content_type or 'nothing'}'",
            "$import 请以 NDJSON 提交（Content-Type: application/fhir+ndjson）",
        )
    if not call.raw_body.strip():
        raise invalid("The NDJSON body is empty", "NDJSON 请求体为空")
    params = dict(call.items)
    source = params.get("source") or ctx.actor.username
    if len(source) > 200:
        raise invalid("source: at most 200 characters", "source 最多 200 个字符", "source")
    data_dir = _data_dir(ctx)
    request = f"{ctx.base_url}/$import" + (f"?{urlencode(call.items)}" if call.items else "")
    job = jobs.open_job(ctx.session, ctx.actor, "import", request, {"source": source}, "lines")
    path = jobs.job_dir(data_dir, job.id) / INPUT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(call.raw_body)
    engine, actor, job_id = _engine(ctx), ctx.actor, job.id
    options = importer.ImportOptions(source=source)
    base_url = ctx.base_url

    def work() -> None:
        try:
            importer.run_import(engine, actor, job_id, path, options, base_url)
        finally:
            path.unlink(missing_ok=True)  # personal data: kept no longer than the job runs

    jobs.run_in_background(engine, job_id, work)
    return _accepted(ctx, job_id)


def _kick_off_export(
    ctx: Context,
    call: OperationCall,
    allowed: tuple[str, ...],
    group_id: uuid.UUID | None,
    path: str,
) -> Answer:
    ctx.actor.require(roles.BULK_EXPORT)
    _require_async(call)
    accept = call.headers.get("accept", "").split(";")[0].strip()
    if accept not in _ACCEPTED:
        raise invalid(
            f"Accept must be application/fhir+json, not '{accept}'",
            "Accept 应为 application/fhir+json",
            "Accept",
        )
    params = dict(call.items)
    unknown = sorted(set(params) - _EXPORT_PARAMS)
    if unknown:
        raise invalid(
            f"$export does not support {', '.join(unknown)}",
            f"$export 不支持参数 {', '.join(unknown)}",
            unknown[0],
        )
    output_format = params.get("_outputFormat", "application/fhir+ndjson")
    if output_format not in NDJSON_TYPES:
        raise invalid(
            f"_outputFormat '{output_format}' is not offered; use application/fhir+ndjson",
            f"不支持输出格式 '{output_format}'，请用 application/fhir+ndjson",
            "_outputFormat",
        )
    request = exporter.ExportRequest(
        types=_types(params.get("_type"), allowed),
        since=_since(params.get("_since")),
        group_id=group_id,
        reason=ctx.reason,
    )
    kick_off = f"{ctx.base_url}/{path}" + (f"?{urlencode(call.items)}" if call.items else "")
    parameters = {
        "types": list(request.types),
        "since": request.since.isoformat() if request.since else None,
        "group": str(group_id) if group_id else None,
    }
    job = jobs.open_job(ctx.session, ctx.actor, "export", kick_off, parameters, "resources")
    engine, actor, job_id, data_dir = _engine(ctx), ctx.actor, job.id, _data_dir(ctx)
    jobs.run_in_background(
        engine,
        job_id,
        lambda: exporter.run_export(
            engine, actor, job_id, request, data_dir, ctx.base_url, kick_off
        ),
    )
    return _accepted(ctx, job_id)


def _require_async(call: OperationCall) -> None:
    if "respond-async" not in call.headers.get("prefer", ""):
        raise invalid(
            "Bulk data operations run asynchronously: send 'Prefer: respond-async'",
            "批量数据操作为异步执行，请求头须带 Prefer: respond-async",
            "Prefer",
        )


def _types(text: str | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not text:
        return allowed
    wanted = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    refused = [t for t in wanted if t not in allowed]
    if refused or not wanted:
        raise invalid(
            f"_type: {', '.join(refused) or 'nothing'} cannot be exported here "
            f"(offered: {', '.join(allowed)})",
            f"_type：不能导出 {', '.join(refused)}",
            "_type",
        )
    return wanted


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise invalid(
            f"_since must be an instant with a time zone (e.g. 2026-01-01T00:00:00+08:00), "
            f"not '{text}'",
            "_since 应为带时区的时刻",
            "_since",
        )
    return instant


def _accepted(ctx: Context, job_id: uuid.UUID) -> Answer:
    return Answer(202, None, {"Content-Location": f"{ctx.base_url}/bulk-status/{job_id}"})


def _engine(ctx: Context) -> Engine:
    bind = ctx.session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _data_dir(ctx: Context) -> Path:
    return ctx.data_dir or Path("ygt-data")
