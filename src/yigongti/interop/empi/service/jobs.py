"""Backlog linkage as a job in the background of the server, with its progress to poll."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.interop.empi.service.linking import link_backlog, waiting_count
from yigongti.kernel import Forbidden, NotFound, now
from yigongti.security import Actor, audit, roles


@dataclass
class BacklogJob:
    """One institution's backlog run: how far it got, and how it ended."""

    id: uuid.UUID
    institution_id: uuid.UUID
    started_by: str
    total: int
    done: int = 0
    state: str = "running"  # running | finished | failed
    linked: int = 0
    review: int = 0
    new: int = 0
    error: str | None = None
    started_at: object = field(default_factory=now)


_jobs: dict[uuid.UUID, BacklogJob] = {}
_lock = threading.Lock()


def start_backlog(
    engine: Engine, session: Session, actor: Actor, institution_id: uuid.UUID
) -> BacklogJob:
    """Start linking an institution's waiting records in a background thread.

    County-wide roles may start any institution's backlog; others only their own.
    """
    actor.require(roles.EMPI_LINK)
    registry.get_institution(session, institution_id)
    if actor.role_def.scope not in (roles.COUNTY,) and actor.institution_id != institution_id:
        raise Forbidden(
            en="You may link only your own institution's backlog", zh="只能关联本机构的积压记录"
        )
    job = BacklogJob(
        uuid.uuid4(), institution_id, actor.username, waiting_count(session, institution_id)
    )
    audit.record(
        session, actor, "link_backlog", "institution", institution_id, detail=f"waiting={job.total}"
    )
    with _lock:
        _jobs[job.id] = job
    threading.Thread(target=_run, args=(engine, actor, job), daemon=True).start()
    return job


def _run(engine: Engine, actor: Actor, job: BacklogJob) -> None:
    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    try:
        report = link_backlog(engine, actor, job.institution_id, progress)
        job.linked, job.review, job.new = report.linked, report.review, report.new
        job.state = "finished"
    except Exception as error:  # the job reports any failure to whoever polls
        job.state, job.error = "failed", str(error)[:200]


def backlog_job(actor: Actor, job_id: uuid.UUID) -> BacklogJob:
    """A backlog job's progress."""
    actor.require(roles.EMPI_LINK)
    with _lock:
        job = _jobs.get(job_id)
    if job is None:
        raise NotFound(en="No such backlog job", zh="该批量关联任务不存在")
    return job
