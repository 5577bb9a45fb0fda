"""The append-only, hash-chained audit log.

Services call :func:`record` for every read or change of a person's identity or health data.
Entries wait in the session and are written in the same transaction as the work they record,
so a rolled-back request leaves no trace. On PostgreSQL they are written to ``audit_pending``
without any lock, and chained into ``audit_events`` right after the commit by
:func:`chain_pending`, one chainer at a time, in batches (the database function
``audit_chain_batch`` hashes and moves each batch); the chain never holds a request's commit.
On SQLite, whose writers are serial anyway, each transaction chains its own entries before it
commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, event, func, select, text
from sqlalchemy.orm import Session

from yigongti.db.bulk import insert_values
from yigongti.kernel import now
from yigongti.security.actor import Actor
from yigongti.security.models import AuditEvent, AuditPending

log = logging.getLogger("yigongti.audit")

GENESIS = "0" * 64
_PENDING = "audit_pending"  # entries recorded in the session, not yet written
_UNCHAINED = "audit_unchained"  # the session wrote entries to audit_pending
_LOCK_KEY = 7_170_001  # pg advisory lock id of the chainer


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


def pending_written(session: Session) -> None:
    """The database wrote entries to ``audit_pending`` in this transaction (a stored function,
    e.g. ``booking_book``): have them chained after commit, as :func:`record`'s are."""
    if not _chains_at_commit(session):
        session.info[_UNCHAINED] = True


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


def _chains_at_commit(session: Session) -> bool:
    # SQLite transactions start with BEGIN IMMEDIATE: writers are serial already, so each
    # chains its own entries before it commits, at no cost to the others.
    return session.get_bind().dialect.name != "postgresql"


def _append_chained(
    write: Callable[[list[dict[str, object]]], None], last: Row[Any] | None, pending: list[dict]
) -> None:
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    rows = []
    for fields in pending:
        seq += 1
        row = {"seq": seq, "prev_hash": prev, **fields}
        row["hash"] = entry_hash(row)
        rows.append(row)
        prev = row["hash"]
    write(rows)


_LAST = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    if _chains_at_commit(session):
        last = session.execute(_LAST).first()
        _append_chained(lambda rows: session.add_all(AuditEvent(**r) for r in rows), last, pending)
        session.flush()
    else:
        insert_values(session, AuditPending.__table__, pending)  # after the work (flushed)
        session.info[_UNCHAINED] = True


@event.listens_for(Session, "after_commit")
def _chain_committed(session: Session) -> None:
    if not session.info.pop(_UNCHAINED, False):
        return
    engine = session.get_bind().engine
    if wake_chainer(engine):
        return
    try:
        chain_pending(engine)
    except Exception:  # the work is committed; its entries wait for the next chainer
        log.exception("chaining the audit log failed; entries wait in audit_pending")


CHAIN_DELAY = 0.2  # seconds a woken chainer waits for more commits before it chains


class _Chainer:
    """A thread that chains pending entries whenever a commit wakes it, and every second."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.woken = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name="audit-chainer", daemon=True)

    def wake(self) -> None:
        self.woken.set()

    def stop(self) -> None:
        self.stopping = True
        self.woken.set()
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        while not self.stopping:
            if self.woken.wait(timeout=1.0) and not self.stopping:
                # Let a burst's commits gather: one batch for many instead of one for each.
                time.sleep(CHAIN_DELAY)
            self.woken.clear()
            try:
                chain_pending(self.engine)
            except Exception:  # logged; the next wake-up tries again
                log.exception("chaining the audit log failed; entries wait in audit_pending")


_chainers: weakref.WeakKeyDictionary[Engine, _Chainer] = weakref.WeakKeyDictionary()


def wake_chainer(engine: Engine) -> bool:
    """Have the server's chainer chain committed entries now; ``False`` if none runs (then
    the caller chains them with :func:`chain_pending`)."""
    chainer = _chainers.get(engine)
    if chainer is not None:
        chainer.wake()
    return chainer is not None


@contextmanager
def chaining_in_background(engine: Engine) -> Iterator[None]:
    """While open, commits on ``engine`` leave their entries to a chainer thread.

    For servers: a request then spends nothing on the chain after its commit. Entries are
    chained moments later (the thread wakes at each commit); the last are chained on closing.
    """
    chainer = _chainers[engine] = _Chainer(engine)
    chainer.thread.start()
    try:
        yield
    finally:
        _chainers.pop(engine, None)
        chainer.stop()
        chain_pending(engine)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_UNCHAINED, None)


def chain_pending(engine: Engine, batch: int = 1_000) -> int:
    """Move committed entries from ``audit_pending`` into the chain, oldest first; how many.

    One chainer at a time, under a PostgreSQL advisory lock that is tried, never waited for:
    a request whose try fails returns at once, because the holder looks for new entries again
    after letting go of the lock, and so chains every entry committed before it let go. No
    lock is held across any request's work or commit. SQLite chains at commit (nothing waits).
    """
    if engine.dialect.name != "postgresql":
        return 0
    chained = 0
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        while _at_once(connection, select(func.pg_try_advisory_lock(_LOCK_KEY))):
            try:
                connection.execution_options(isolation_level="READ COMMITTED")
                while moved := _chain_batch(connection, batch):
                    chained += moved
            finally:
                connection.execution_options(isolation_level="AUTOCOMMIT")
                _at_once(connection, select(func.pg_advisory_unlock(_LOCK_KEY)))
            # Entries committed while the lock was held, whose own try failed, are ours.
            if _at_once(connection, select(AuditPending.id).limit(1)) is None:
                break
    return chained


def _at_once(connection: Connection, statement: Select[Any]) -> Any:
    """One statement on an autocommit connection, ending SQLAlchemy's implicit transaction."""
    try:
        return connection.scalar(statement)
    finally:
        connection.commit()


def _chain_batch(connection: Connection, batch: int) -> int:
    # The database reads, hashes, moves and deletes the batch itself (migration 0010): the
    # same canonical JSON as entry_hash, without a row crossing into Python.
    with connection.begin():
        return connection.scalar(_CHAIN_BATCH, {"batch": batch}) or 0


_CHAIN_BATCH = text("SELECT audit_chain_batch(CAST(:batch AS integer))")


def count_pending(session: Session) -> int:
    """How many committed audit entries wait to be chained."""
    return session.scalar(select(func.count()).select_from(AuditPending)) or 0


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
