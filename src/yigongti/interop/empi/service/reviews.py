"""The review queue: records the linker could not decide, shown to a clerk beside the
candidate (identifiers masked), and the clerk's decision.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.interop.empi.model import trained_model
from yigongti.interop.empi.models import Review, SourceRecord
from yigongti.interop.empi.service.linking import register_from, set_link
from yigongti.interop.empi.service.records import gazetteer, record_features, resident_features
from yigongti.kernel import Conflict, NotFound, mask_id_number, mask_phone, now
from yigongti.registry.models import Resident
from yigongti.security import Actor, audit, roles


@dataclass(frozen=True)
class PersonSide:
    """One side of a review: what a record or a resident says, ID number and phone masked."""

    name: str
    sex: str | None
    birth_date: date | None
    id_number: str | None
    phone: str | None
    address: str | None


@dataclass(frozen=True)
class ReviewView:
    """An open review: the incoming record and the candidate side by side."""

    id: uuid.UUID
    source_record_id: uuid.UUID
    institution_id: uuid.UUID
    mrn: str | None
    candidate_id: uuid.UUID | None
    probability: float
    reason: str
    opened_at: datetime
    record: PersonSide
    candidate: PersonSide | None
    agreements: dict[str, str]


def open_reviews(
    session: Session, actor: Actor, *, limit: int = 20, offset: int = 0
) -> tuple[int, list[ReviewView]]:
    """Open reviews the actor may decide: all county-wide, else those of his institution or
    of candidates in his scope; oldest first."""
    actor.require(roles.EMPI_REVIEW)
    statement = (
        select(Review, SourceRecord)
        .join(SourceRecord, SourceRecord.id == Review.source_record_id)
        .where(Review.status == "open", _scope(session, actor))
        .order_by(Review.opened_at, Review.id)
    )
    rows = session.execute(statement).all()
    places = gazetteer(session)
    views = []
    for review, source in rows[offset : offset + min(limit, 100)]:
        candidate = session.get(Resident, review.candidate_id) if review.candidate_id else None
        agreements = (
            trained_model()
            .score(record_features(source, places), resident_features(candidate))
            .agreements
            if candidate
            else {}
        )
        views.append(_view(review, source, candidate, agreements))
        audit.record(
            session,
            actor,
            "read",
            "empi_review",
            review.id,
            person_id=review.candidate_id,
        )
    return len(rows), views


def _scope(session: Session, actor: Actor) -> ColumnElement[bool]:
    if actor.role_def.scope in (roles.COUNTY, roles.WITH_REASON):
        return true()
    visible = select(Resident.id).where(registry.resident_filter(session, actor))
    return or_(
        SourceRecord.institution_id == actor.institution_id, Review.candidate_id.in_(visible)
    )


def _view(
    review: Review, source: SourceRecord, candidate: Resident | None, agreements: dict[str, str]
) -> ReviewView:
    record_side = PersonSide(
        source.name,
        source.sex,
        source.birth_date,
        mask_id_number(source.id_number),
        mask_phone(source.phone),
        source.address,
    )
    candidate_side = None
    if candidate is not None:
        village = candidate.residence_village
        candidate_side = PersonSide(
            candidate.name,
            candidate.sex,
            candidate.birth_date,
            mask_id_number(candidate.id_number),
            mask_phone(candidate.phone),
            f"{village.town.name}{village.name}",
        )
    return ReviewView(
        id=review.id,
        source_record_id=source.id,
        institution_id=source.institution_id,
        mrn=source.mrn,
        candidate_id=review.candidate_id,
        probability=review.probability,
        reason=review.reason,
        opened_at=review.opened_at,
        record=record_side,
        candidate=candidate_side,
        agreements=agreements,
    )


def decide_review(
    session: Session, actor: Actor, review_id: uuid.UUID, *, same_as: uuid.UUID | None
) -> uuid.UUID:
    """A clerk's decision: the record is ``same_as`` this resident, or (``None``) a different
    person, who becomes a new resident. Returns the resident the record is now linked to."""
    actor.require(roles.EMPI_REVIEW)
    review = session.get(Review, review_id)
    if review is None:
        raise NotFound(en="No such review", zh="该待审记录不存在")
    if review.status != "open":
        raise Conflict(en="This review is already decided", zh="该记录已审核")
    source = session.get(SourceRecord, review.source_record_id)
    assert source is not None
    if same_as is not None:
        resident = registry.resident_record(session, same_as)
        if resident.merged_into_id is not None:
            raise Conflict(
                en="That resident was merged into another; choose the surviving one",
                zh="该居民已被合并，请选择保留的居民",
            )
        set_link(session, actor, source, resident.id, "review", f"clerk: same person ({review.id})")
        resident_id = resident.id
    else:
        resident_id = register_from(session, actor, source, gazetteer(session))
        set_link(session, actor, source, resident_id, "review", f"clerk: new person ({review.id})")
    review.status = "decided"
    review.decision = "same" if same_as is not None else "different"
    review.decided_by = actor.username
    review.decided_at = now()
    session.flush()
    audit.record(
        session,
        actor,
        "decide",
        "empi_review",
        review.id,
        person_id=resident_id,
        detail=f"decision={review.decision}",
    )
    return resident_id
