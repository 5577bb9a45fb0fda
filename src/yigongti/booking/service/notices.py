"""Notices to residents: a cancelled clinic, with the booking it ended."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.booking.models import Notice as NoticeRow
from yigongti.security import Actor, audit


@dataclass(frozen=True)
class Notice:
    """A message to a resident, in both languages."""

    id: uuid.UUID
    kind: str
    zh: str
    en: str
    booking_id: uuid.UUID | None
    created_at: datetime
    read: bool


def notices_of(
    session: Session, actor: Actor, resident_id: uuid.UUID, *, limit: int = 20
) -> list[Notice]:
    """The resident's notices, newest first (for himself, his guardian, or staff in scope)."""
    resident = registry.visible_resident(session, actor, resident_id)
    rows = session.scalars(
        select(NoticeRow)
        .where(NoticeRow.resident_id == resident.id)
        .order_by(NoticeRow.created_at.desc())
        .limit(min(limit, 100))
    ).all()
    audit.record(session, actor, "read", "notice", person_id=resident.id)
    return [
        Notice(n.id, n.kind, n.zh, n.en, n.booking_id, n.created_at, n.read_at is not None)
        for n in rows
    ]
