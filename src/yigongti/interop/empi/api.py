"""JSON API of the master patient index: link and match records, the review queue, merges,
and backlog linkage with progress."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from yigongti.interop import empi
from yigongti.interop.empi.schemas import (
    BacklogIn,
    BacklogJobOut,
    CandidateOut,
    DecisionIn,
    DecisionOut,
    LinkOutcomeOut,
    MergeIn,
    MergeOut,
    PatientRecordIn,
    ReviewOut,
    ReviewPage,
)
from yigongti.web.deps import ActorDep, SessionDep

router = APIRouter(prefix="/empi", tags=["empi"])
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.post("/records", response_model=LinkOutcomeOut)
def link_record(body: PatientRecordIn, session: SessionDep, actor: ActorDep) -> LinkOutcomeOut:
    """Store an institution's record (re-sending an MRN updates it) and link it to a resident."""
    outcome = empi.link_record(session, actor, empi.PatientRecord(**body.model_dump()))
    return LinkOutcomeOut.model_validate(outcome)


@router.post("/match", response_model=list[CandidateOut])
def match(
    body: PatientRecordIn, session: SessionDep, actor: ActorDep, limit: Limit = 10
) -> list[CandidateOut]:
    """The residents most likely to be the record's person, best first."""
    found = empi.match_candidates(
        session, actor, empi.PatientRecord(**body.model_dump()), limit=limit
    )
    return [CandidateOut.model_validate(c) for c in found]


@router.get("/reviews", response_model=ReviewPage)
def reviews(
    session: SessionDep, actor: ActorDep, limit: Limit = 20, offset: Offset = 0
) -> ReviewPage:
    """Open reviews: each record beside its candidate, identifiers masked."""
    total, items = empi.open_reviews(session, actor, limit=limit, offset=offset)
    return ReviewPage(total=total, items=[ReviewOut.model_validate(r) for r in items])


@router.post("/reviews/{review_id}/decision", response_model=DecisionOut)
def decide(
    review_id: uuid.UUID, body: DecisionIn, session: SessionDep, actor: ActorDep
) -> DecisionOut:
    """Same person as a resident, or a different person (a new resident)."""
    resident_id = empi.decide_review(session, actor, review_id, same_as=body.same_as)
    return DecisionOut(resident_id=resident_id)


@router.post("/merges", response_model=MergeOut, status_code=201)
def merge(body: MergeIn, session: SessionDep, actor: ActorDep) -> MergeOut:
    """Merge two residents found to be one person."""
    done = empi.merge_residents(session, actor, body.survivor_id, body.merged_id, body.reason)
    return MergeOut.model_validate(done)


@router.post("/merges/{merge_id}/undo", response_model=MergeOut)
def undo_merge(merge_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> MergeOut:
    """Undo a merge exactly."""
    return MergeOut.model_validate(empi.unmerge(session, actor, merge_id))


@router.post("/backlogs", response_model=BacklogJobOut, status_code=202)
def start_backlog(
    body: BacklogIn, request: Request, session: SessionDep, actor: ActorDep
) -> BacklogJobOut:
    """Start linking every waiting record of an institution; poll the job for progress."""
    job = empi.start_backlog(request.app.state.engine, session, actor, body.institution_id)
    return BacklogJobOut.model_validate(job)


@router.get("/backlogs/{job_id}", response_model=BacklogJobOut)
def backlog(job_id: uuid.UUID, actor: ActorDep) -> BacklogJobOut:
    """A backlog job's progress."""
    return BacklogJobOut.model_validate(empi.backlog_job(actor, job_id))
