"""Merging two residents found to be one person, and undoing it exactly.

Nothing is deleted: the merged resident is marked (``merged_into_id``), each of his source
records is re-pointed with a link-history row naming the merge, and an undo moves back exactly
the records the merge moved (those a clerk has re-linked since stay where the clerk put them).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.interop.empi.models import LinkChange, Merge, SourceRecord
from yigongti.interop.empi.service.linking import set_link
from yigongti.kernel import Conflict, NotFound, invalid_field, now
from yigongti.security import Actor, audit, roles

MIN_REASON = 4


@dataclass(frozen=True)
class MergeView:
    """A merge and how many records it moved."""

    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    reason: str
    merged_by: str
    merged_at: datetime
    undone_at: datetime | None
    records_moved: int


def merge_residents(
    session: Session, actor: Actor, survivor_id: uuid.UUID, merged_id: uuid.UUID, reason: str
) -> MergeView:
    """Merge ``merged`` into ``survivor``: his records now point to the survivor."""
    actor.require(roles.EMPI_MERGE)
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise invalid_field(
            "reason",
            f"State why (at least {MIN_REASON} characters)",
            f"请填写合并理由（至少{MIN_REASON}个字）",
        )
    if survivor_id == merged_id:
        raise invalid_field(
            "merged_id", "A resident cannot be merged into himself", "不能与自身合并"
        )
    survivor = registry.resident_record(session, survivor_id)
    merged = registry.resident_record(session, merged_id)
    if survivor.merged_into_id is not None or merged.merged_into_id is not None:
        raise Conflict(en="One of the residents is already merged", zh="其中一位居民已被合并")
    merge = Merge(
        survivor_id=survivor.id, merged_id=merged.id, merged_by=actor.username, reason=reason[:200]
    )
    session.add(merge)
    session.flush()
    sources = session.scalars(
        select(SourceRecord).where(SourceRecord.resident_id == merged.id).order_by(SourceRecord.id)
    ).all()
    for source in sources:
        set_link(
            session, actor, source, survivor.id, source.link_method or "manual", "merge", merge.id
        )
    registry.mark_merged(session, merged.id, survivor.id)
    for person in (survivor.id, merged.id):
        audit.record(
            session, actor, "merge", "empi_merge", merge.id, person_id=person, reason=reason
        )
    return _view(merge, len(sources))


def unmerge(session: Session, actor: Actor, merge_id: uuid.UUID) -> MergeView:
    """Undo a merge: the merged resident is himself again, with the records the merge moved."""
    actor.require(roles.EMPI_MERGE)
    merge = session.get(Merge, merge_id)
    if merge is None:
        raise NotFound(en="No such merge", zh="该合并记录不存在")
    if merge.undone_at is not None:
        raise Conflict(en="This merge is already undone", zh="该合并已撤销")
    moved = session.scalars(
        select(LinkChange).where(LinkChange.merge_id == merge.id, LinkChange.why == "merge")
    ).all()
    restored = 0
    for change in moved:
        source = session.get(SourceRecord, change.source_record_id)
        assert source is not None
        if source.resident_id == merge.survivor_id:
            set_link(session, actor, source, merge.merged_id, change.method, "unmerge", merge.id)
            restored += 1
    registry.mark_merged(session, merge.merged_id, None)
    merge.undone_at = now()
    merge.undone_by = actor.username
    session.flush()
    for person in (merge.survivor_id, merge.merged_id):
        audit.record(session, actor, "unmerge", "empi_merge", merge.id, person_id=person)
    return _view(merge, restored)


def _view(merge: Merge, moved: int) -> MergeView:
    return MergeView(
        id=merge.id,
        survivor_id=merge.survivor_id,
        merged_id=merge.merged_id,
        reason=merge.reason,
        merged_by=merge.merged_by,
        merged_at=merge.merged_at,
        undone_at=merge.undone_at,
        records_moved=moved,
    )
