"""What the master patient index needs of the resident index: candidates by blocking keys,
the county's place names, and the mark of a merged resident.

No scope check here: the master patient index is county-wide and checks its own permissions
(``empi:link``, ``empi:merge``) and audits what it shows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select
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


CANDIDATE_LIMIT = 300  # the most candidates one record is scored against
KEYS_PER_QUERY = 200  # records whose keys one blocking query of a batch asks for


def match_candidates_by_keys(
    session: Session, keys: BlockingKeys, limit: int = CANDIDATE_LIMIT
) -> list[Resident]:
    """Unmerged residents sharing any blocking key, with their village and town loaded."""
    clauses = _key_clauses(keys)
    if not clauses:
        return []
    statement = (
        select(Resident)
        .options(joinedload(Resident.residence_village).joinedload(Village.town))
        .where(or_(*clauses), Resident.merged_into_id.is_(None))
        .limit(limit)
    )
    return list(session.scalars(statement).unique())


def _key_clauses(keys: BlockingKeys) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
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
    return clauses


@dataclass(frozen=True)
class CandidateRow:
    """What the master patient index compares of a resident (no village or town loaded)."""

    id: uuid.UUID
    name: str
    sex: str
    birth_date: date
    id_number: str | None
    phone: str | None
    name_initials: str
    residence_village_id: uuid.UUID


_ROW_COLUMNS = (
    Resident.id,
    Resident.name,
    Resident.sex,
    Resident.birth_date,
    Resident.id_number,
    Resident.phone,
    Resident.name_initials,
    Resident.residence_village_id,
)


class CandidateIndex:
    """A batch's blocking in memory: the unmerged residents sharing any key of any of its
    records, found with one query per ``KEYS_PER_QUERY`` records, indexed by key.

    ``matching`` answers for one record's keys what ``match_candidates_by_keys`` would (the
    same conditions, at most ``limit``); residents the batch registers join with ``add``.
    """

    def __init__(self) -> None:
        self._by: dict[str, dict[object, dict[uuid.UUID, CandidateRow]]] = {
            k: {} for k in ("birth_date", "phone", "id_number", "id_prefix", "initials")
        }

    @classmethod
    def of(cls, session: Session, keys: list[BlockingKeys]) -> CandidateIndex:
        """The index of every resident any of ``keys`` would find."""
        index = cls()
        for start in range(0, len(keys), KEYS_PER_QUERY):
            clauses = [c for k in keys[start : start + KEYS_PER_QUERY] for c in _key_clauses(k)]
            if not clauses:
                continue
            rows = session.execute(
                select(*_ROW_COLUMNS).where(or_(*clauses), Resident.merged_into_id.is_(None))
            )
            for row in rows:
                index.add(CandidateRow(*row))
        return index

    def add(self, row: CandidateRow) -> None:
        """Index a resident under each of his keys."""
        self._by["birth_date"].setdefault(row.birth_date, {})[row.id] = row
        if row.phone:
            self._by["phone"].setdefault(row.phone, {})[row.id] = row
        if row.id_number:
            self._by["id_number"].setdefault(row.id_number, {})[row.id] = row
            self._by["id_prefix"].setdefault(row.id_number[:14], {})[row.id] = row
        self._by["initials"].setdefault((row.name_initials, row.sex), {})[row.id] = row

    def matching(self, keys: BlockingKeys, limit: int = CANDIDATE_LIMIT) -> list[CandidateRow]:
        """The residents sharing any of ``keys``, as ``match_candidates_by_keys`` finds them."""
        found: dict[uuid.UUID, CandidateRow] = {}
        for kind, value in (
            ("birth_date", keys.birth_date),
            ("phone", keys.phone),
            ("id_number", keys.id_number),
            ("id_prefix", keys.id_prefix),
            ("initials", (keys.initials, keys.sex) if keys.initials and keys.sex else None),
        ):
            if not value:
                continue
            for row in self._by[kind].get(value, {}).values():
                if kind == "id_prefix" and not _in_prefix_range(row.id_number, keys.id_prefix):
                    continue
                found.setdefault(row.id, row)
        return list(found.values())[:limit]


def _in_prefix_range(number: str | None, prefix: str | None) -> bool:
    """``prefix <= number <= prefix + "Z"``, the blocking query's range on the ID number."""
    return bool(number and prefix and prefix <= number <= prefix + "Z")


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
