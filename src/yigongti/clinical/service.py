"""Use cases of the shared resident record: a resident's conditions and encounters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from yigongti.clinical.models import Condition, Encounter, FeeLine
from yigongti.kernel import NotFound
from yigongti.registry import register_patient_source, visible_resident
from yigongti.security import Actor, audit


def _treated_here(actor: Actor) -> Select[tuple[uuid.UUID]] | None:
    """Residents with an encounter at the actor's institution are his institution's patients."""
    if actor.institution_id is None:
        return None
    return select(Encounter.resident_id).where(Encounter.institution_id == actor.institution_id)


register_patient_source(_treated_here)


@dataclass(frozen=True)
class EncounterSummary:
    """An encounter as listed in the resident's record."""

    id: uuid.UUID
    kind: str
    institution_id: uuid.UUID
    started_at: datetime
    diagnosis_code: str
    total_fen: int


def conditions_of(
    session: Session, actor: Actor, resident_id: uuid.UUID, *, reason: str | None = None
) -> list[Condition]:
    """The resident's problem list (chronic diagnoses), oldest first."""
    resident = visible_resident(session, actor, resident_id, reason)
    audit.record(session, actor, "read", "condition", person_id=resident.id, reason=reason)
    return list(
        session.scalars(
            select(Condition)
            .where(Condition.resident_id == resident.id)
            .order_by(Condition.onset_date)
        )
    )


def encounters_of(
    session: Session,
    actor: Actor,
    resident_id: uuid.UUID,
    *,
    reason: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[int, list[EncounterSummary]]:
    """The resident's encounters across all institutions, newest first, with the total."""
    resident = visible_resident(session, actor, resident_id, reason)
    where = Encounter.resident_id == resident.id
    total = session.scalar(select(func.count()).select_from(Encounter).where(where)) or 0
    rows = session.scalars(
        select(Encounter)
        .where(where)
        .order_by(Encounter.started_at.desc())
        .limit(limit)
        .offset(offset)
    )
    audit.record(session, actor, "read", "encounter", person_id=resident.id, reason=reason)
    return total, [
        EncounterSummary(
            e.id, e.kind, e.institution_id, e.started_at, e.diagnosis_code, e.total_fen
        )
        for e in rows
    ]


def fee_breakdown(session: Session, actor: Actor, encounter_id: uuid.UUID) -> dict[str, int]:
    """An encounter's fees by category, in fen, for a resident or doctor who may see it."""
    encounter = session.get(Encounter, encounter_id)
    if encounter is None:
        raise NotFound(en="No such encounter", zh="就诊记录不存在")
    visible_resident(session, actor, encounter.resident_id)
    rows = session.execute(
        select(FeeLine.category, func.sum(FeeLine.amount_fen))
        .where(FeeLine.encounter_id == encounter_id)
        .group_by(FeeLine.category)
    ).all()
    if encounter is not None:
        audit.record(
            session, actor, "read", "fee_lines", encounter_id, person_id=encounter.resident_id
        )
    return {category: int(total) for category, total in rows}
