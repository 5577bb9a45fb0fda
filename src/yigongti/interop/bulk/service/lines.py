"""One NDJSON line of an import: parsed, validated, keyed, its references made ours."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from yigongti.interop.bulk.models import ImportedResource
from yigongti.interop.fhir.errors import FhirError, Issue
from yigongti.interop.fhir.resource import RESOURCE_TYPES
from yigongti.interop.fhir.validation import validate

MAX_LINE_BYTES = 1_000_000
Key = tuple[str, str]  # (resource type, source id)


class Rejected(Exception):
    """A line that cannot be imported, with the issues to report."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues[0].en if issues else "rejected")
        self.issues = issues


@dataclass
class Candidate:
    """A line that passed JSON and R4B validation, keyed by its source id and content hash."""

    number: int
    kind: str
    resource: dict
    source_id: str
    content_hash: str

    @property
    def key(self) -> Key:
        """(type, source id)."""
        return (self.kind, self.source_id)


def candidate(number: int, raw: bytes, max_line_bytes: int = MAX_LINE_BYTES) -> Candidate:
    """The line as a candidate; ``Rejected`` when it is too long, not JSON or not valid FHIR."""
    line = raw.strip()
    if len(line) > max_line_bytes:
        raise Rejected(
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
        raise Rejected(
            [Issue("structure", f"Not valid JSON: {error}", f"不是有效的 JSON：{error}")]
        ) from None
    if not isinstance(resource, dict):
        raise Rejected([Issue("structure", "A line must be a JSON object", "每行应为 JSON 对象")])
    kind = resource.get("resourceType")
    try:
        validate(resource)
    except FhirError as error:
        raise Rejected(error.issues) from None
    mapping = RESOURCE_TYPES.get(kind)
    if mapping is None or not mapping.writable:
        raise Rejected(
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
    source_id = str(resource.get("id") or f"sha256:{digest}")
    if len(source_id) > 80:
        raise Rejected([Issue("value", "id: at most 80 characters", "id 最多 80 个字符", "id")])
    return Candidate(number, kind, resource, source_id, digest)


@dataclass(frozen=True)
class MapRow:
    """An earlier import's map row: (type, source id) -> our id, with the line's hash."""

    id: uuid.UUID
    resource_id: uuid.UUID
    content_hash: str


_MAP_COLUMNS = (
    ImportedResource.resource_type,
    ImportedResource.source_id,
    ImportedResource.id,
    ImportedResource.resource_id,
    ImportedResource.content_hash,
)

# PostgreSQL: the keys as two arrays joined to the map, each key one probe of the (source,
# type, source id) index whatever plan a prepared statement settles on. A list of ids in
# ``IN`` became, once psycopg prepared the statement, a filter over every row of the type:
# each batch then cost more than the last.
_IMPORTED_PG = text(
    "SELECT m.resource_type, m.source_id, m.id, m.resource_id, m.content_hash"
    " FROM unnest(CAST(:kinds AS text[]), CAST(:ids AS text[])) AS k(kind, sid)"
    " JOIN bulk_imported_resources AS m"
    " ON m.source = :source AND m.resource_type = k.kind AND m.source_id = k.sid"
).columns(*_MAP_COLUMNS)


def imported(session: Session, source: str, keys: set[Key]) -> dict[Key, MapRow]:
    """The map rows of earlier imports from ``source`` for these (type, source id) keys."""
    if not keys:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        ordered = sorted(keys)
        rows = session.execute(
            _IMPORTED_PG,
            {"source": source, "kinds": [k for k, _ in ordered], "ids": [i for _, i in ordered]},
        )
    else:
        by_type: dict[str, set[str]] = {}
        for kind, sid in keys:
            by_type.setdefault(kind, set()).add(sid)
        wanted = or_(
            *(
                and_(ImportedResource.resource_type == kind, ImportedResource.source_id.in_(ids))
                for kind, ids in sorted(by_type.items())
            )
        )
        rows = session.execute(
            select(*_MAP_COLUMNS).where(ImportedResource.source == source, wanted)
        )
    return {
        (kind, sid): MapRow(row_id, resource_id, digest)
        for kind, sid, row_id, resource_id, digest in rows
        if (kind, sid) in keys
    }


def references(value: object, found: set[Key]) -> set[Key]:
    """Every relative ``Type/id`` reference in a resource, added to ``found``."""
    if isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str) and reference.count("/") == 1:
            kind, ident = reference.split("/")
            found.add((kind, ident))
        for item in value.values():
            if isinstance(item, (dict, list)):
                references(item, found)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                references(item, found)
    return found


class _Unresolved(Exception):
    """A reference neither imported nor ours: the line is looked at again for the message."""


def rewritten(
    resource: dict, targets: dict[Key, uuid.UUID], patients: set[uuid.UUID] | None = None
) -> dict:
    """The resource without id and meta, its references to imported resources made ours (a
    new object; what holds no reference to rewrite is shared with ``resource``).

    A reference neither imported nor one of our ids (a UUID) rejects the line. Our ids of the
    Patients it refers to (imported, or given by our id) are added to ``patients``.
    """
    body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
    found: set[uuid.UUID] = set()
    try:
        out = _made_ours(body, targets, found)
    except _Unresolved:
        _with_targets(body, targets, resource["resourceType"])  # raises with the element's path
        raise AssertionError("an unresolved reference is found again") from None
    if patients is not None:
        patients |= found
    return out  # type: ignore[return-value]


def _made_ours(value: object, targets: dict[Key, uuid.UUID], patients: set[uuid.UUID]) -> object:
    """``_with_targets`` without the paths (only a refusal needs them): the common case.

    Copy on write: an object or list with no reference to rewrite below it is returned as it
    is (shared with the line's resource, which nothing changes), the others as new copies.
    """
    if isinstance(value, dict):
        out = _children_made_ours(value, value.items(), targets, patients)
        reference = value.get("reference")
        if isinstance(reference, str) and reference.count("/") == 1:
            kind, ident = reference.split("/")
            target = targets.get((kind, ident))
            if target is not None:
                if out is None:
                    out = dict(value)
                out["reference"] = f"{kind}/{target}"
                if kind == "Patient":
                    patients.add(target)
            elif _is_uuid(ident):
                if kind == "Patient":
                    patients.add(uuid.UUID(ident))
            else:
                raise _Unresolved
        return value if out is None else out
    if isinstance(value, list):
        items = _children_made_ours(value, enumerate(value), targets, patients)
        return value if items is None else items
    return value


def _children_made_ours(
    value: Any,
    children: Iterable[tuple[Any, object]],
    targets: dict[Key, uuid.UUID],
    patients: set[uuid.UUID],
) -> Any:
    """A copy of ``value`` (an object or a list) with its rewritten children, or ``None`` when
    no child below it holds a reference to rewrite."""
    out = None
    for key, item in children:
        if isinstance(item, (dict, list)):
            made = _made_ours(item, targets, patients)
            if made is not item:
                if out is None:
                    out = type(value)(value)
                out[key] = made
    return out


def _with_targets(value: object, targets: dict[Key, uuid.UUID], path: str) -> object:
    if isinstance(value, dict):
        out = {k: _with_targets(v, targets, f"{path}.{k}") for k, v in value.items()}
        reference = value.get("reference")
        if isinstance(reference, str) and reference.count("/") == 1:
            kind, ident = reference.split("/")
            if (kind, ident) in targets:
                out["reference"] = f"{kind}/{targets[kind, ident]}"
            elif not _is_uuid(ident):
                raise Rejected(
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
