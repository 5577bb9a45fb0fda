"""The resident's record as a whole: his problem list and encounters, fees, county counts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from yigongti.clinical.models import Condition, Encounter, FeeLine
from yigongti.db import page
from yigongti.kernel import SHANGHAI, NotFound, local
from yigongti.registry import get_institution, register_patient_source, visible_resident
from yigongti.security import Actor, audit, roles


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
    statement = select(Encounter).where(where).order_by(Encounter.started_at.desc())
    total, rows = page(session, statement, limit, offset)
    audit.record(session, actor, "read", "encounter", person_id=resident.id, reason=reason)
    return total, [
        EncounterSummary(
            e.id, e.kind, e.institution_id, e.started_at, e.diagnosis_code, e.total_fen
        )
        for e in rows
    ]


def fee_breakdown(
    session: Session, actor: Actor, encounter_id: uuid.UUID, *, reason: str | None = None
) -> dict[str, int]:
    """An encounter's fees by category, in fen, for anyone who may see its patient."""
    encounter = session.get(Encounter, encounter_id)
    if encounter is None:
        raise NotFound(en="No such encounter", zh="就诊记录不存在")
    visible_resident(session, actor, encounter.resident_id, reason)
    rows = session.execute(
        select(FeeLine.category, func.sum(FeeLine.amount_fen))
        .where(FeeLine.encounter_id == encounter_id)
        .group_by(FeeLine.category)
    ).all()
    audit.record(
        session,
        actor,
        "read",
        "fee_lines",
        encounter_id,
        person_id=encounter.resident_id,
        reason=reason,
    )
    return {category: int(total) for category, total in rows}


def encounters_by_tier(
    session: Session, actor: Actor, year: int | None = None
) -> tuple[int | None, dict[str, int]]:
    """County-wide encounters of a calendar year (China time) by institution tier.

    Aggregate readers only; no person is named, so nothing is audited. Without ``year`` the
    latest year that has encounters is counted; it is returned with the counts (``None`` and
    no counts when there are no encounters at all).
    """
    actor.require(roles.AGGREGATE_READ)
    if year is None:
        latest = session.scalar(select(func.max(Encounter.started_at)))
        if latest is None:
            return None, {}
        year = local(latest).year
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    end = datetime(year + 1, 1, 1, tzinfo=SHANGHAI)
    rows = session.execute(
        select(Encounter.institution_id, func.count())
        .where(Encounter.started_at >= start, Encounter.started_at < end)
        .group_by(Encounter.institution_id)
    ).all()
    counts: dict[str, int] = {}
    for institution_id, count in rows:
        # Through the registry's face: a county has a few hundred institutions at most.
        tier = get_institution(session, institution_id).tier
        counts[tier] = counts.get(tier, 0) + count
    return year, counts
