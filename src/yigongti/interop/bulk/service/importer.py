"""``$import``: NDJSON lines through the resource mappings' own create, batch by batch.

Every line is checked as a FHIR client's create would be: JSON, the R4B model, then the
mapping's create (our code systems, the domain service's rules, permission and scope, the
audit row). References to resources of the same file or of earlier imports from the same
source (``Patient/<source id>``) are rewritten to our ids; references to our own ids stay.

Lines are taken in dependency order (organisations and patients before encounters, encounters
before observations), each kind in file order. A batch commits whole with its map rows and its
progress, so a crash leaves committed batches and nothing half-applied; importing the file
again skips what is already there.

Re-import: each created resource is recorded as (source, type, source id) -> our id with the
SHA-256 of its line. The same line again is skipped as unchanged; a changed line updates the
resource through the mapping's update (which may refuse, e.g. a Patient's name: the line is
then rejected with the reason). A line without an ``id`` is keyed by its content hash.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from yigongti.db import unit_of_work
from yigongti.interop.bulk.models import ImportedResource
from yigongti.interop.bulk.service import jobs
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import FhirError, Issue, from_domain, operation_outcome
from yigongti.interop.fhir.resource import RESOURCE_TYPES
from yigongti.interop.fhir.validation import validate
from yigongti.kernel import DomainError, now
from yigongti.security import Actor, audit

BATCH_LINES = 500
ERRORS_FILE = "errors.ndjson"
# Kinds others refer to come first; the rest after, in file order.
_RANK = {
    "Organization": 0,
    "Location": 1,
    "Practitioner": 2,
    "PractitionerRole": 3,
    "Patient": 4,
    "CareTeam": 5,
    "Encounter": 6,
}
_LATER = 7
_TYPE = re.compile(rb'"resourceType"\s*:\s*"([A-Za-z]+)"')


@dataclass(frozen=True)
class ImportOptions:
    """How an import runs: the source its ids belong to, the longest line, the batch size."""

    source: str
    max_line_bytes: int = 1_000_000
    batch_lines: int = BATCH_LINES


@dataclass
class Tally:
    """What an import did so far."""

    lines: int = 0
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: int = 0
    rejected: int = 0

    def as_dict(self) -> dict:
        """The counts for the manifest."""
        return {
            "lines": self.lines,
            "created": sum(self.created.values()),
            "updated": sum(self.updated.values()),
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "createdByType": dict(sorted(self.created.items())),
        }


@dataclass(frozen=True)
class _Line:
    number: int
    offset: int
    length: int


@dataclass
class _Candidate:
    number: int
    kind: str
    resource: dict
    source_id: str
    content_hash: str


class _Rejected(Exception):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues[0].en if issues else "rejected")
        self.issues = issues


def scan(path: Path) -> list[list[_Line]]:
    """The non-blank lines of an NDJSON file, grouped by dependency rank (cheap: no parsing)."""
    ranks: dict[int, list[_Line]] = {}
    offset = 0
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if raw.strip():
                found = _TYPE.search(raw, 0, 4096)
                rank = _RANK.get(found.group(1).decode(), _LATER) if found else _LATER
                ranks.setdefault(rank, []).append(_Line(number, offset, len(raw)))
            offset += len(raw)
    return [ranks[r] for r in sorted(ranks)]


def run_import(
    engine: Engine,
    actor: Actor,
    job_id: uuid.UUID,
    path: Path,
    options: ImportOptions,
    base_url: str,
) -> dict:
    """Import the NDJSON file at ``path`` as ``actor``; the manifest (also stored on the job)."""
    groups = scan(path)
    total = sum(len(g) for g in groups)
    errors_path = path.parent / ERRORS_FILE
    errors_path.write_bytes(b"")
    tally = Tally()
    with unit_of_work(engine) as session:
        jobs.advance(session, job_id, 0, total)
    with path.open("rb") as stream:
        for group in groups:
            for batch in _chunks(group, options.batch_lines):
                lines = [(line.number, _read(stream, line)) for line in batch]
                with unit_of_work(engine) as session:
                    if not jobs.advance(session, job_id, tally.lines, total):
                        return {}
                    ctx = Context(session, actor, base_url)
                    rejected = _import_batch(ctx, lines, options, job_id, tally)
                tally.lines += len(lines)
                _append_outcomes(errors_path, rejected)
    manifest = _manifest(base_url, job_id, tally)
    with unit_of_work(engine) as session:
        jobs.advance(session, job_id, tally.lines, total)
        jobs.finish(session, job_id, manifest)
    return manifest


def _chunks(lines: list[_Line], size: int) -> Iterator[list[_Line]]:
    for start in range(0, len(lines), size):
        yield lines[start : start + size]


def _read(stream: BinaryIO, line: _Line) -> bytes:
    stream.seek(line.offset)
    return stream.read(line.length)


def _import_batch(
    ctx: Context,
    lines: list[tuple[int, bytes]],
    options: ImportOptions,
    job_id: uuid.UUID,
    tally: Tally,
) -> list[tuple[int, list[Issue]]]:
    """One batch in the caller's unit of work; the rejected lines with their issues."""
    rejected: list[tuple[int, list[Issue]]] = []
    candidates: list[_Candidate] = []
    for number, raw in lines:
        try:
            candidates.append(_candidate(number, raw, options.max_line_bytes))
        except _Rejected as error:
            rejected.append((number, error.issues))
    known = _known(ctx.session, options.source, candidates)
    for candidate in candidates:
        key = (candidate.kind, candidate.source_id)
        existing = known.get(key)
        if existing is not None and existing.content_hash == candidate.content_hash:
            tally.unchanged += 1
            continue
        try:
            body = _rewritten(candidate.resource, known, ctx.session, options.source)
            with ctx.session.begin_nested(), audit.provisional(ctx.session):
                if existing is None:
                    known[key] = _create(ctx, candidate, body, options.source, job_id)
                    tally.created[candidate.kind] += 1
                else:
                    _update(ctx, candidate, body, existing)
                    tally.updated[candidate.kind] += 1
        except _Rejected as error:
            rejected.append((candidate.number, error.issues))
        except FhirError as error:
            rejected.append((candidate.number, error.issues))
        except DomainError as error:
            rejected.append((candidate.number, from_domain(error, candidate.kind).issues))
    tally.rejected += len(rejected)
    return sorted(rejected, key=lambda r: r[0])


def _candidate(number: int, raw: bytes, max_line_bytes: int) -> _Candidate:
    line = raw.strip()
    if len(line) > max_line_bytes:
        raise _Rejected(
            [
                Issue(
                    "too-costly",
                    f"Line {number} is {len(line)} bytes, over the limit of {max_line_bytes}",
                    f"第 {number} 行长 {len(line)} 字节，超过 {max_line_bytes} 字节上限",
                )
            ]
        )
    try:
        resource = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise _Rejected(
            [Issue("structure", f"Not valid JSON: {error}", f"不是有效的 JSON：{error}")]
        ) from None
    if not isinstance(resource, dict):
        raise _Rejected([Issue("structure", "A line must be a JSON object", "每行应为 JSON 对象")])
    kind = resource.get("resourceType")
    try:
        validate(resource)
    except FhirError as error:
        raise _Rejected(error.issues) from None
    mapping = RESOURCE_TYPES.get(kind)
    if mapping is None or not mapping.writable:
        raise _Rejected(
            [
                Issue(
                    "not-supported",
                    f"{kind} cannot be imported here; see /fhir/metadata",
                    f"本服务器不接受导入 {kind}",
                    "resourceType",
                )
            ]
        )
    digest = hashlib.sha256(line).hexdigest()
    source_id = resource.get("id") or f"sha256:{digest}"
    return _Candidate(number, kind, resource, str(source_id), digest)


def _known(
    session: Session, source: str, candidates: list[_Candidate]
) -> dict[tuple[str, str], ImportedResource]:
    """The map rows of the batch's own lines, by (type, source id)."""
    if not candidates:
        return {}
    wanted = {(c.kind, c.source_id) for c in candidates}
    rows = session.scalars(
        select(ImportedResource).where(
            ImportedResource.source == source,
            ImportedResource.source_id.in_({sid for _, sid in wanted}),
        )
    )
    return {
        (r.resource_type, r.source_id): r for r in rows if (r.resource_type, r.source_id) in wanted
    }


def _rewritten(
    resource: dict,
    known: dict[tuple[str, str], ImportedResource],
    session: Session,
    source: str,
) -> dict:
    """The resource without id and meta, its references to imported resources made ours."""
    wanted: set[tuple[str, str]] = set()
    _collect(resource, wanted)
    targets = {k: r.resource_id for k, r in known.items() if k in wanted}
    missing = wanted - targets.keys()
    if missing:
        rows = session.execute(
            select(
                ImportedResource.resource_type,
                ImportedResource.source_id,
                ImportedResource.resource_id,
            ).where(
                ImportedResource.source == source,
                ImportedResource.source_id.in_({sid for _, sid in missing}),
            )
        )
        targets.update({(t, s): i for t, s, i in rows if (t, s) in missing})
    body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
    return _with_targets(body, targets, resource["resourceType"])


def _collect(value: object, found: set[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str) and reference.count("/") == 1:
            kind, ident = reference.split("/")
            found.add((kind, ident))
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)


def _with_targets(value: object, targets: dict[tuple[str, str], uuid.UUID], path: str) -> object:
    if isinstance(value, dict):
        out = {k: _with_targets(v, targets, f"{path}.{k}") for k, v in value.items()}
        reference = value.get("reference")
        if isinstance(reference, str) and reference.count("/") == 1:
            kind, ident = reference.split("/")
            if (kind, ident) in targets:
                out["reference"] = f"{kind}/{targets[kind, ident]}"
            elif not _is_uuid(ident):
                raise _Rejected(
                    [
                        Issue(
                            "not-found",
                            f"{path}: {reference} is neither in this file (nor an earlier import "
                            "from the same source) nor a resource of this server",
                            f"{path}：{reference} 既不在本文件（或同一来源此前的导入）中，"
                            "也不是本服务器的资源",
                            f"{path}.reference",
                        )
                    ]
                )
        return out
    if isinstance(value, list):
        return [_with_targets(v, targets, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _create(
    ctx: Context, candidate: _Candidate, body: dict, source: str, job_id: uuid.UUID
) -> ImportedResource:
    new_id = RESOURCE_TYPES[candidate.kind].create(ctx, body)
    row = ImportedResource(
        source=source,
        resource_type=candidate.kind,
        source_id=candidate.source_id,
        resource_id=new_id,
        content_hash=candidate.content_hash,
        job_id=job_id,
        imported_at=now(),
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row


def _update(ctx: Context, candidate: _Candidate, body: dict, row: ImportedResource) -> None:
    RESOURCE_TYPES[candidate.kind].update(
        ctx, row.resource_id, {**body, "id": str(row.resource_id)}
    )
    row.content_hash = candidate.content_hash
    row.imported_at = now()
    ctx.session.flush()


def _append_outcomes(path: Path, rejected: list[tuple[int, list[Issue]]]) -> None:
    if not rejected:
        return
    with path.open("ab") as stream:
        for number, issues in rejected:
            stream.write(orjson.dumps(_line_outcome(number, issues)) + b"\n")


def _line_outcome(number: int, issues: list[Issue]) -> dict:
    """An OperationOutcome about one line: its number leads every issue's diagnostics."""
    outcome = operation_outcome(
        [
            Issue(i.code, f"line {number}: {i.en}", f"第 {number} 行：{i.zh}", i.expression)
            for i in issues
        ]
    )
    outcome["extension"] = [{"url": LINE_EXTENSION, "valueInteger": number}]
    return outcome


LINE_EXTENSION = "https://yigongti.org/fhir/StructureDefinition/ndjson-line"


def _manifest(base_url: str, job_id: uuid.UUID, tally: Tally) -> dict:
    counts = tally.as_dict()
    errors = (
        [
            {
                "type": "OperationOutcome",
                "url": f"{base_url}/bulk-files/{job_id}/{ERRORS_FILE}",
                "count": tally.rejected,
            }
        ]
        if tally.rejected
        else []
    )
    return {
        "transactionTime": now().isoformat(),
        "request": f"{base_url}/$import",
        "requiresAccessToken": True,
        "output": [
            {"type": kind, "count": count}
            for kind, count in sorted((tally.created + tally.updated).items())
        ],
        "error": errors,
        "extension": counts,
    }
