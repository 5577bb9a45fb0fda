"""Bulk jobs: open one, run it in a thread of its own, report its progress, cancel it.

A job belongs to the account that started it: another account (even an administrator) gets a
404 for its status and files, as if it did not exist. The job's thread opens its own
sessions and commits batch by batch; it beats a heartbeat with every batch, so a job whose
server died shows as failed instead of running for ever.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yigongti.db import unit_of_work
from yigongti.interop.bulk.models import BulkJob
from yigongti.kernel import NotFound, now
from yigongti.security import Actor

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=5)  # no heartbeat for this long: the job's thread is gone
RETRY_AFTER_SECONDS = 2
_WAIT_FOR_KICK_OFF_SECONDS = 30.0
RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"


def bulk_dir(data_dir: Path) -> Path:
    """Where bulk files live: ``<data dir>/bulk``."""
    return data_dir / "bulk"


def job_dir(data_dir: Path, job_id: uuid.UUID) -> Path:
    """The directory of one job's files."""
    return bulk_dir(data_dir) / str(job_id)


def open_job(
    session: Session,
    actor: Actor,
    kind: str,
    request: str,
    parameters: dict,
    unit: str,
) -> BulkJob:
    """A new running job owned by ``actor`` (flushed, not committed: the caller's unit is)."""
    at = now()
    job = BulkJob(
        kind=kind,
        owner_id=actor.user_id,
        owner_name=actor.username,
        request=request,
        parameters=parameters,
        status=RUNNING,
        done=0,
        total=0,
        unit=unit,
        created_at=at,
        heartbeat=at,
    )
    session.add(job)
    session.flush()
    return job


def own_job(session: Session, actor: Actor, job_id: uuid.UUID) -> BulkJob:
    """The actor's job ``job_id``; ``NotFound`` when absent or someone else's."""
    job = session.get(BulkJob, job_id)
    if job is None or (job.owner_id, job.owner_name) != (actor.user_id, actor.username):
        raise NotFound(en=f"No bulk job {job_id}", zh=f"批量任务 {job_id} 不存在")
    if job.status == RUNNING and now() - job.heartbeat > STALE_AFTER:
        job.status = FAILED
        job.failure = "The server stopped while the job ran; start it again"
        job.finished_at = now()
    return job


@dataclass(frozen=True)
class JobStatus:
    """What a poll of the status URL answers."""

    status: str
    progress: str
    manifest: dict | None
    failure: str | None


def status_of(session: Session, actor: Actor, job_id: uuid.UUID) -> JobStatus:
    """The progress or the result of the actor's job."""
    job = own_job(session, actor, job_id)
    progress = f"{job.done}/{job.total} {job.unit}" if job.total else f"{job.done} {job.unit}"
    return JobStatus(job.status, progress, job.manifest, job.failure)


def cancel_job(session: Session, actor: Actor, job_id: uuid.UUID, data_dir: Path) -> None:
    """Cancel a running job (it stops after its current batch) or delete a finished one's files.

    What an import committed before the cancel stays committed (batches are whole); its map
    lets the same file be imported again later without duplicates.
    """
    job = own_job(session, actor, job_id)
    if job.status == CANCELLED:
        raise NotFound(en=f"Bulk job {job_id} was cancelled", zh=f"批量任务 {job_id} 已取消")
    job.status = CANCELLED
    job.finished_at = now()
    if job.kind == "export":
        shutil.rmtree(job_dir(data_dir, job.id), ignore_errors=True)


def job_file(session: Session, actor: Actor, data_dir: Path, job_id: uuid.UUID, name: str) -> Path:
    """The path of one output file of the actor's finished job; ``NotFound`` otherwise."""
    job = own_job(session, actor, job_id)
    path = job_dir(data_dir, job.id) / name
    if job.status != DONE or "/" in name or name.startswith(".") or not path.is_file():
        raise NotFound(en=f"No file {name} in bulk job {job_id}", zh=f"批量任务中无文件 {name}")
    return path


def advance(session: Session, job_id: uuid.UUID, done: int, total: int | None = None) -> bool:
    """Record progress and beat the heartbeat; False when the job was cancelled meanwhile."""
    job = session.get(BulkJob, job_id, populate_existing=True)
    if job is None or job.status != RUNNING:
        return False
    job.done = done
    if total is not None:
        job.total = total
    job.heartbeat = now()
    return True


def finish(session: Session, job_id: uuid.UUID, manifest: dict) -> None:
    """Mark the job done with its manifest (unless it was cancelled meanwhile)."""
    job = session.get(BulkJob, job_id, populate_existing=True)
    if job is not None and job.status == RUNNING:
        job.status = DONE
        job.manifest = manifest
        job.finished_at = now()
        job.heartbeat = job.finished_at


def _fail(engine: Engine, job_id: uuid.UUID, reason: str) -> None:
    with unit_of_work(engine) as session:
        job = session.get(BulkJob, job_id)
        if job is not None and job.status == RUNNING:
            job.status = FAILED
            job.failure = reason[:2000]
            job.finished_at = now()


def _committed(engine: Engine, job_id: uuid.UUID) -> bool:
    """Wait until the kick-off's unit of work has committed the job (False if it never does)."""
    deadline = time.monotonic() + _WAIT_FOR_KICK_OFF_SECONDS
    while time.monotonic() < deadline:
        with Session(engine) as session:
            if session.get(BulkJob, job_id) is not None:
                return True
        time.sleep(0.05)
    return False


def run_in_background(engine: Engine, job_id: uuid.UUID, work: Callable[[], None]) -> None:
    """Run ``work`` in a thread once the job is committed; an escaping error fails the job."""

    def body() -> None:
        if not _committed(engine, job_id):
            return
        try:
            work()
        except Exception as error:  # the job must end failed, whatever went wrong
            log.exception("bulk job %s failed", job_id)
            _fail(engine, job_id, f"{type(error).__name__}: {error}")

    threading.Thread(target=body, name=f"bulk-{job_id}", daemon=True).start()
