"""The append-only, hash-chained audit log.

Services call :func:`record` for every read or change of a person's identity or health data.
Entries wait in the session and are chained just before commit under a lock, so the chain
follows commit order and a rolled-back request leaves no trace.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from yigongti.kernel import now
from yigongti.security.actor import Actor
from yigongti.security.models import AuditEvent

GENESIS = "0" * 64
_PENDING = "audit_pending"
_LOCK_KEY = 7_170_001  # pg advisory lock id of the chain


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object = None,
    *,
    person_id: uuid.UUID | None = None,
    reason: str | None = None,
    detail: str | None = None,
) -> None:
    """Queue an audit entry; it is written in the same transaction as the work it records."""
    session.info.setdefault(_PENDING, []).append(
        {
            "at": now(),
            "actor_id": actor.user_id,
            "actor_name": actor.username,
            "actor_role": actor.role,
            "person_id": person_id,
            "action": action,
            "object_type": object_type,
            "object_id": None if object_id is None else str(object_id),
            "client": actor.client,
            "reason": reason,
            "detail": detail,
        }
    )


def entry_hash(fields: dict[str, object]) -> str:
    """SHA-256 over the canonical JSON of an entry's fields (``hash`` itself excluded)."""
    canonical = {k: _plain(v) for k, v in sorted(fields.items()) if k != "hash"}
    payload = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return value.hex
    return value


def _lock_chain(session: Session) -> None:
    # SQLite transactions start with BEGIN IMMEDIATE and already hold the write lock.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    _lock_chain(session)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    for fields in pending:
        seq += 1
        row = {"seq": seq, "prev_hash": prev, **fields}
        row["hash"] = entry_hash(row)
        session.add(AuditEvent(**row))
        prev = row["hash"]
    session.flush()


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain does not hold, and why."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit row {self.seq}: {self.problem}"


_COLUMNS = [c.key for c in AuditEvent.__table__.columns]


def verify_chain(session: Session, batch: int = 10_000) -> Iterator[ChainBreak]:
    """Recompute the chain and yield every break: a changed, deleted or inserted row."""
    expected_seq, prev = 1, GENESIS
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            fields = {c: getattr(row, c) for c in _COLUMNS}
            if row.seq != expected_seq:
                missing = (
                    f"{expected_seq}"
                    if row.seq == expected_seq + 1
                    else (f"{expected_seq}..{row.seq - 1}")
                )
                yield ChainBreak(row.seq, f"row(s) {missing} deleted before it")
            elif row.prev_hash != prev:
                yield ChainBreak(row.seq, "previous-hash link broken (row inserted or replaced)")
            if entry_hash(fields) != row.hash:
                yield ChainBreak(row.seq, "content changed after it was written")
            prev, expected_seq, last_seq = row.hash, row.seq + 1, row.seq
        session.expunge_all()


def count_events(session: Session) -> int:
    """How many audit rows the log holds."""
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def pending_count(session: Session) -> int:
    """How many audit entries the session has queued and not yet written."""
    return len(session.info.get(_PENDING, ()))


@contextmanager
def provisional(session: Session) -> Iterator[None]:
    """Audit entries queued inside the block are dropped if it raises.

    For work undone by a savepoint (one entry of a FHIR batch) while the transaction goes on:
    the log must not record a change that was rolled back.
    """
    mark = len(session.info.setdefault(_PENDING, []))
    try:
        yield
    except BaseException:
        del session.info.get(_PENDING, [])[mark:]
        raise
