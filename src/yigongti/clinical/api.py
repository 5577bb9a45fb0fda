"""JSON API of the shared resident record."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from yigongti import clinical
from yigongti.clinical.schemas import ConditionOut, EncounterOut
from yigongti.kernel.paging import Page
from yigongti.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["record"])
Reason = Annotated[str | None, Query(max_length=200)]


@router.get("/residents/{resident_id}/conditions", response_model=list[ConditionOut])
def conditions(
    resident_id: uuid.UUID, session: SessionDep, actor: ActorDep, reason: Reason = None
) -> list[ConditionOut]:
    """The resident's chronic diagnoses."""
    return [
        ConditionOut.model_validate(c)
        for c in clinical.conditions_of(session, actor, resident_id, reason=reason)
    ]


@router.get("/residents/{resident_id}/encounters", response_model=Page[EncounterOut])
def encounters(
    resident_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    reason: Reason = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Page[EncounterOut]:
    """The resident's encounters at every institution, newest first."""
    total, rows = clinical.encounters_of(
        session, actor, resident_id, reason=reason, limit=limit, offset=offset
    )
    return Page(
        total=total,
        limit=limit,
        offset=offset,
        items=[EncounterOut.model_validate(e) for e in rows],
    )


@router.get("/encounters/{encounter_id}/fees", response_model=dict[str, int])
def fees(
    encounter_id: uuid.UUID, session: SessionDep, actor: ActorDep, reason: Reason = None
) -> dict[str, int]:
    """An encounter's fees by category, in fen."""
    return clinical.fee_breakdown(session, actor, encounter_id, reason=reason)
