"""What the master patient index needs of the resident index: candidates by blocking keys,
the county's place names, and the mark of a merged resident.

No scope check here: the master patient index is county-wide and checks its own permissions
(``empi:link``, ``empi:merge``) and audits what it shows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload

from yigongti.kernel import NotFound
from yigongti.registry.models import Resident, Town, Village


@dataclass(frozen=True)
class BlockingKeys:
    """Values a resident must share (any one of them) to be a match candidate."""

    birth_date: date | None = None
    phone: str | None = None
    id_number: str | None = None
    id_prefix: str | None = None  # area code and birth date (first 14 characters)
    initials: str | None = None
    sex: str | None = None


def match_candidates_by_keys(
    session: Session, keys: BlockingKeys, limit: int = 300
) -> list[Resident]:
    """Unmerged residents sharing any blocking key, with their village and town loaded."""
    clauses = []
    if keys.birth_date:
        clauses.append(Resident.birth_date == keys.birth_date)
    if keys.phone:
        clauses.append(Resident.phone == keys.phone)
    if keys.id_number:
        clauses.append(Resident.id_number == keys.id_number)
    if keys.id_prefix:
        # A range, not LIKE, so both backends use the unique index on id_number.
        clauses.append(Resident.id_number.between(keys.id_prefix, keys.id_prefix + "Z"))
    if keys.initials and keys.sex:
        clauses.append(and_(Resident.name_initials == keys.initials, Resident.sex == keys.sex))
    if not clauses:
        return []
    statement = (
        select(Resident)
        .options(joinedload(Resident.residence_village).joinedload(Village.town))
        .where(or_(*clauses), Resident.merged_into_id.is_(None))
        .limit(limit)
    )
    return list(session.scalars(statement).unique())


def county_places(session: Session) -> list[tuple[str, str, uuid.UUID]]:
    """(town name, village name, village id) of every village, by code."""
    rows = session.execute(
        select(Town.name, Village.name, Village.id)
        .join(Village, Village.town_id == Town.id)
        .order_by(Village.code)
    )
    return [(t, v, i) for t, v, i in rows]


def mark_merged(session: Session, resident_id: uuid.UUID, into: uuid.UUID | None) -> None:
    """Mark a resident as merged into another (``None`` undoes the mark); nothing is deleted."""
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound(en="No such resident", zh="居民不存在")
    resident.merged_into_id = into
    session.flush()
