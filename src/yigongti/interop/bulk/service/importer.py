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

import multiprocessing
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import orjson
from sqlalchemy import Engine, event, update
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.db import unit_of_work
from yigongti.db.bulk import insert_values
from yigongti.interop.bulk.models import ImportedResource
from yigongti.interop.bulk.service import jobs
from yigongti.interop.bulk.service.lines import (
    MAX_LINE_BYTES,
    Candidate,
    Key,
    MapRow,
    Rejected,
    candidate,
    imported,
    references,
    rewritten,
)
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import FhirError, Issue, from_domain, operation_outcome
from yigongti.interop.fhir.resource import RESOURCE_TYPES, ResourceType
from yigongti.kernel import DomainError, now, uuid7
from yigongti.security import Actor, audit

BATCH_LINES = 500
CHECK_AHEAD_FROM = 6  # batches: a shorter file is not worth starting a second process
# With two cores or fewer the second process competes with this one and the database (measured
# slower on a shared two-core machine): lines are then checked here unless asked otherwise.
SPARE_CORES_ABOVE = 2
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
    """How an import runs: the source its ids belong to, the longest line, the batch size, and
    from how many batches on a second process checks lines ahead."""

    source: str
    max_line_bytes: int = MAX_LINE_BYTES
    batch_lines: int = BATCH_LINES
    check_ahead_from: int | None = None  # None: CHECK_AHEAD_FROM with cores to spare, else never


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

    def merge(self, batch: _Batch, lines: int) -> None:
        """Add a committed batch's counts."""
        self.lines += lines
        self.created.update(batch.created)
        self.updated.update(batch.updated)
        self.unchanged += batch.unchanged
        self.rejected += len(batch.rejected)


@dataclass(frozen=True)
class _Line:
    number: int
    offset: int
    length: int


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
    batches = [batch for group in groups for batch in _chunks(group, options.batch_lines)]
    with path.open("rb") as stream, _Checker(options, len(batches)) as checker:
        ahead = _lines_of(stream, batches[0]) if batches else []
        for index in range(len(batches)):
            lines = ahead
            ahead = _lines_of(stream, batches[index + 1]) if index + 1 < len(batches) else []
            checked = checker.checked(index, lines, ahead)
            done = _committed_batch(engine, actor, base_url, job_id, checked, options, tally, total)
            if done is None:
                return {}
            tally.merge(done, len(lines))
            _append_outcomes(errors_path, done.rejected)
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


def _lines_of(stream: BinaryIO, batch: list[_Line]) -> list[tuple[int, bytes]]:
    return [(line.number, _read(stream, line)) for line in batch]


Checked = list[Candidate | tuple[int, list[Issue]]]


def checked_lines(lines: list[tuple[int, bytes]], max_line_bytes: int) -> Checked:
    """Each line as a candidate (JSON, R4B model, keyed), or its number and the issues that
    reject it."""
    out: Checked = []
    for number, raw in lines:
        try:
            out.append(candidate(number, raw, max_line_bytes))
        except Rejected as error:
            out.append((number, error.issues))
    return out


def _checked_in_worker(lines: list[tuple[int, bytes]], max_line_bytes: int) -> Checked:
    """``checked_lines`` in the checking process (whose resource types register first)."""
    from yigongti.interop.fhir import resources  # noqa: F401 - registers every type

    return checked_lines(lines, max_line_bytes)


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Checker:
    """Checks each batch's lines; for a long file, on a machine with cores to spare, a second
    process checks the next batch's lines while this one writes the current batch (the same
    checks, on another core).

    Until the second process has answered once (it starts cold), a batch it has not checked
    yet is checked here; should it fail, every batch is checked here.
    """

    def __init__(self, options: ImportOptions, batches: int) -> None:
        self.max_line_bytes = options.max_line_bytes
        self.pool: ProcessPoolExecutor | None = None
        start = options.check_ahead_from
        if start is None and _cores() > SPARE_CORES_ABOVE:
            start = CHECK_AHEAD_FROM
        if start is not None and batches >= start:
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self.future: Future[Checked] | None = None
        self.future_index = -1
        self.warm = False

    def __enter__(self) -> _Checker:
        return self

    def __exit__(self, *_: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def checked(
        self, index: int, lines: list[tuple[int, bytes]], ahead: list[tuple[int, bytes]]
    ) -> Checked:
        """Batch ``index``'s lines checked; the next batch's (``ahead``) given to the worker."""
        result = None
        future = self.future
        if future is not None and self.future_index == index and (self.warm or future.done()):
            self.future = None
            try:
                result = future.result()
                self.warm = True
            except Exception:  # a broken worker: everything is checked here from now on
                self._stop()
        if result is None:
            result = checked_lines(lines, self.max_line_bytes)
        if self.future is not None and self.future.done():
            self.future = None  # answered for a batch already checked here
        if self.pool is not None and self.future is None and ahead:
            try:
                self.future = self.pool.submit(_checked_in_worker, ahead, self.max_line_bytes)
                self.future_index = index + 1
            except Exception:  # the worker could not start or died
                self._stop()
        return result

    def _stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = None


class _Unsafe(Exception):
    """A refused line left writes in the session: the batch is redone line by line."""


@dataclass
class _Batch:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: int = 0
    rejected: list[tuple[int, list[Issue]]] = field(default_factory=list)


def _committed_batch(
    engine: Engine,
    actor: Actor,
    base_url: str,
    job_id: uuid.UUID,
    checked: Checked,
    options: ImportOptions,
    tally: Tally,
    total: int,
) -> _Batch | None:
    """One batch in one unit of work; None when the job was cancelled.

    First without a savepoint per line (a refused line normally writes nothing: services
    check before they write); if a refused line did leave writes behind, the whole batch is
    rolled back and redone with a savepoint around each line.
    """
    for careful in (False, True):
        try:
            with unit_of_work(engine) as session:
                if not jobs.advance(session, job_id, tally.lines, total):
                    return None
                ctx = Context(session, actor, base_url)
                return _import_batch(ctx, checked, options, job_id, careful=careful)
        except _Unsafe:
            continue
    raise AssertionError("a careful batch does not raise _Unsafe")


def _import_batch(
    ctx: Context,
    checked: Checked,
    options: ImportOptions,
    job_id: uuid.UUID,
    *,
    careful: bool,
) -> _Batch:
    batch = _Batch()
    candidates = [c for c in checked if isinstance(c, Candidate)]
    batch.rejected.extend(c for c in checked if not isinstance(c, Candidate))
    wanted = {c.key for c in candidates}
    for c in candidates:
        references(c.resource, wanted)
    known = imported(ctx.session, options.source, wanted)
    targets = {k: r.resource_id for k, r in known.items()}
    work: list[tuple[Candidate, dict, MapRow | None]] = []
    patients: set[uuid.UUID] = set()
    first_line: dict[Key, int] = {}
    for c in candidates:
        existing = known.get(c.key)
        if existing is not None and existing.content_hash == c.content_hash:
            batch.unchanged += 1
            continue
        try:
            if c.key in first_line:
                raise Rejected([_duplicate(c, first_line[c.key])])
            first_line[c.key] = c.number
            work.append((c, rewritten(c.resource, targets, patients), existing))
        except Rejected as error:
            batch.rejected.append((c.number, error.issues))
    new_rows: list[dict] = []
    # Held for the batch so the session's identity map answers each record's institution check.
    _home = _institution(ctx)
    with registry.residents_in_scope(ctx.session, ctx.actor, patients, ctx.reason):
        if not careful:
            work = _created_together(ctx, work, batch, new_rows, options.source, job_id)
        for c, body, existing in work:
            try:
                _write_line(ctx, c, body, existing, careful, new_rows, options.source, job_id)
            except FhirError as error:
                batch.rejected.append((c.number, error.issues))
                continue
            except DomainError as error:
                batch.rejected.append((c.number, from_domain(error, c.kind).issues))
                continue
            (batch.created if existing is None else batch.updated)[c.kind] += 1
    insert_values(ctx.session, ImportedResource.__table__, new_rows)  # type: ignore[arg-type]
    batch.rejected.sort(key=lambda r: r[0])
    return batch


def _created_together(
    ctx: Context,
    work: list[tuple[Candidate, dict, MapRow | None]],
    batch: _Batch,
    new_rows: list[dict],
    source: str,
    job_id: uuid.UUID,
) -> list[tuple[Candidate, dict, MapRow | None]]:
    """Create the new resources of types with a batched path (``create_many``) in one call per
    type; what is left (updates, types without it) for one by one."""
    left = []
    by_kind: dict[str, list[tuple[Candidate, dict]]] = {}
    for c, body, existing in work:
        if (
            existing is None
            and type(RESOURCE_TYPES[c.kind]).create_many is not ResourceType.create_many
        ):
            by_kind.setdefault(c.kind, []).append((c, body))
        else:
            left.append((c, body, existing))
    for kind, items in by_kind.items():
        before = _footprint(ctx.session)
        try:
            results = RESOURCE_TYPES[kind].create_many(ctx, [body for _, body in items]) or []
        except (FhirError, DomainError) as error:
            if _footprint(ctx.session) != before:
                raise _Unsafe from None
            issues = (
                error.issues if isinstance(error, FhirError) else from_domain(error, kind).issues
            )
            batch.rejected.extend((c.number, issues) for c, _ in items)
            continue
        for (c, _), result in zip(items, results, strict=True):
            if isinstance(result, FhirError):
                batch.rejected.append((c.number, result.issues))
            else:
                new_rows.append(_map_row(c, result, source, job_id))
                batch.created[kind] += 1
    return left


def _map_row(c: Candidate, resource_id: uuid.UUID, source: str, job_id: uuid.UUID) -> dict:
    return {
        "id": uuid7(),
        "source": source,
        "resource_type": c.kind,
        "source_id": c.source_id,
        "resource_id": resource_id,
        "content_hash": c.content_hash,
        "job_id": job_id,
        "imported_at": now(),
    }


def _institution(ctx: Context) -> object | None:
    if ctx.actor.institution_id is None:
        return None
    try:
        return registry.get_institution(ctx.session, ctx.actor.institution_id)
    except DomainError:
        return None


def _duplicate(c: Candidate, first: int) -> Issue:
    return Issue(
        "duplicate",
        f"{c.kind}/{c.source_id} appears again (first on line {first}); send one line per id",
        f"{c.kind}/{c.source_id} 重复出现（首次在第 {first} 行）",
        "id",
    )


def _write_line(
    ctx: Context,
    c: Candidate,
    body: dict,
    existing: MapRow | None,
    careful: bool,
    new_rows: list[dict],
    source: str,
    job_id: uuid.UUID,
) -> None:
    """Create (or update) one line's resource through its mapping."""
    mapping = RESOURCE_TYPES[c.kind]
    if careful:
        with ctx.session.begin_nested(), audit.provisional(ctx.session):
            _apply(ctx, mapping, c, body, existing, new_rows, source, job_id)
        return
    before = _footprint(ctx.session)
    try:
        _apply(ctx, mapping, c, body, existing, new_rows, source, job_id)
    except (FhirError, DomainError):
        if _footprint(ctx.session) != before:
            raise _Unsafe from None
        raise


def _apply(
    ctx: Context,
    mapping: ResourceType,
    c: Candidate,
    body: dict,
    existing: MapRow | None,
    new_rows: list[dict],
    source: str,
    job_id: uuid.UUID,
) -> None:
    if existing is not None:
        mapping.update(ctx, existing.resource_id, {**body, "id": str(existing.resource_id)})
        ctx.session.execute(
            update(ImportedResource)
            .where(ImportedResource.id == existing.id)
            .values(content_hash=c.content_hash, imported_at=now())
        )
        return
    new_rows.append(_map_row(c, mapping.create(ctx, body), source, job_id))


_FLUSHES = "bulk_import_flushes"


@event.listens_for(Session, "after_flush")
def _count_flush(session: Session, _context: object) -> None:
    if _FLUSHES in session.info:
        session.info[_FLUSHES] += 1


def _footprint(session: Session) -> tuple[int, ...]:
    """What a line may leave behind: pending objects, flushes and queued audit entries."""
    flushes = session.info.setdefault(_FLUSHES, 0)
    pending = audit.pending_count(session)
    return (len(session.new), len(session.dirty), len(session.deleted), flushes, pending)


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
