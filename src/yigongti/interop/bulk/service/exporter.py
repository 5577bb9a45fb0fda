"""``$export``: every resource the caller may see, as one NDJSON file per type.

The export pages through each resource mapping's own ``search`` (200 a page, sorted, so the
pages do not overlap), so the domain services decide what the caller sees and audit each
page as any search; the job adds one ``export`` audit row per file (type, count, job).

Levels: system (every type the server serves), ``Patient`` (the Patient compartment: Patient
and every type that refers to a Patient), ``Group/<id>`` (the compartment of the group's
members; a Group is a village or urban community, see ``groups.py``).

``_since``: a resource is left out when the FHIR version log shows its last change before
the instant; records never written through FHIR have no known change time and are included.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson
from sqlalchemy import Engine

from yigongti.db import unit_of_work
from yigongti.interop.bulk.service import groups, jobs
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.resource import RESOURCE_TYPES
from yigongti.interop.fhir.search import MAX_COUNT, parse_query
from yigongti.interop.fhir.versions import with_meta
from yigongti.kernel import now
from yigongti.security import Actor, audit


@dataclass(frozen=True)
class ExportRequest:
    """What to export: types in order, since when, and for which group (None: everyone)."""

    types: tuple[str, ...]
    since: datetime | None = None
    group_id: uuid.UUID | None = None
    reason: str | None = None


def compartment_types() -> tuple[str, ...]:
    """Patient and every served type with a reference search parameter to Patient."""
    return tuple(
        name
        for name, kind in sorted(RESOURCE_TYPES.items())
        if name == "Patient"
        or any(p.type == "reference" and p.target == "Patient" for p in kind.search_params)
    )


def run_export(
    engine: Engine,
    actor: Actor,
    job_id: uuid.UUID,
    request: ExportRequest,
    data_dir: Path,
    base_url: str,
    kick_off_url: str,
) -> dict:
    """Write the export's files; the manifest (also stored on the job)."""
    directory = jobs.job_dir(data_dir, job_id)
    directory.mkdir(parents=True, exist_ok=True)
    transaction_time = now()
    members = _members(engine, actor, request, base_url)
    output, done = [], 0
    for type_name in request.types:
        path = directory / f"{type_name}.ndjson"
        count = _export_type(engine, actor, job_id, request, type_name, path, members, base_url)
        if count is None:
            return {}
        done += count
        if count:
            url = f"{base_url}/bulk-files/{job_id}/{path.name}"
            output.append({"type": type_name, "url": url, "count": count})
        else:
            path.unlink()
    manifest = {
        "transactionTime": transaction_time.isoformat(),
        "request": kick_off_url,
        "requiresAccessToken": True,
        "output": output,
        "error": [],
    }
    with unit_of_work(engine) as session:
        jobs.advance(session, job_id, done)
        jobs.finish(session, job_id, manifest)
    return manifest


def _members(
    engine: Engine, actor: Actor, request: ExportRequest, base_url: str
) -> set[str] | None:
    if request.group_id is None:
        return None
    with unit_of_work(engine) as session:
        ctx = Context(session, actor, base_url, request.reason)
        return groups.member_ids(ctx, request.group_id)


def _export_type(
    engine: Engine,
    actor: Actor,
    job_id: uuid.UUID,
    request: ExportRequest,
    type_name: str,
    path: Path,
    members: set[str] | None,
    base_url: str,
) -> int | None:
    """Page through one type into ``path``; the count written, None when cancelled."""
    kind = RESOURCE_TYPES[type_name]
    offset = written = 0
    with path.open("wb") as stream:
        while True:
            with unit_of_work(engine) as session:
                ctx = Context(session, actor, base_url, request.reason)
                items = [("_count", str(MAX_COUNT)), ("_getpagesoffset", str(offset))]
                query = parse_query(type_name, kind.search_params, kind.sorts, items)
                total, page = kind.search(ctx, query)
                kept = [r for r in page if _wanted(ctx, r, request, members)]
                stream.writelines(orjson.dumps(r) + b"\n" for r in kept)
                written += len(kept)
                offset += len(page)
                last = not page or offset >= total
                if last and written:
                    audit.record(
                        session,
                        actor,
                        "export",
                        type_name.lower(),
                        job_id,
                        reason=request.reason,
                        detail=f"bulk $export: {written} {type_name} to {path.name}",
                    )
                if not jobs.advance(session, job_id, offset):
                    return None
            if last:
                return written


def _wanted(ctx: Context, resource: dict, request: ExportRequest, members: set[str] | None) -> bool:
    if members is not None and not _concerns(resource, members):
        return False
    if request.since is not None:
        updated = (with_meta(ctx.session, resource).get("meta") or {}).get("lastUpdated")
        if updated is not None and datetime.fromisoformat(updated) < request.since:
            return False
    return True


def _concerns(resource: dict, members: set[str]) -> bool:
    """Whether the resource is a member Patient or refers to one."""
    if resource["resourceType"] == "Patient":
        return resource["id"] in members
    kind = RESOURCE_TYPES[resource["resourceType"]]
    return any(
        reference.removeprefix("Patient/") in members
        for reference in kind.references(resource)
        if reference.startswith("Patient/")
    )
