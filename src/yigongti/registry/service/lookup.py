"""Structured lookup of residents: by identifier, name, sex, birth date or phone together.

The resident search box (``search_residents``) takes one free term; standards faces (FHIR
Patient search, record linkage) need the fields apart and combined. Same scope, same audit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti.db import page
from yigongti.kernel import mask_id_number, mask_phone
from yigongti.registry.models import Resident
from yigongti.registry.service.residents import MAX_PAGE, ResidentView, _view, q_name
from yigongti.registry.service.scope import resident_filter
from yigongti.security import Actor, audit, roles

SORTS = {"name": Resident.name, "birth_date": Resident.birth_date, "id": Resident.id}


@dataclass(frozen=True)
class ResidentQuery:
    """Filters combined with AND; ``None`` leaves a filter out. Names match by prefix."""

    ids: tuple[uuid.UUID, ...] | None = None
    id_number: str | None = None
    name: str | None = None  # Chinese characters by prefix, Latin letters as pinyin initials
    sex: str | None = None
    born_from: date | None = None
    born_to: date | None = None  # inclusive
    phone: str | None = None
    ehealth_card_no: str | None = None
    village_id: uuid.UUID | None = None  # residence village or urban community
    sort: tuple[tuple[str, bool], ...] = (("name", False),)  # (field, descending)


def find_residents(
    session: Session,
    actor: Actor,
    query: ResidentQuery,
    *,
    reveal: bool = False,
    reason: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[int, list[ResidentView]]:
    """Residents in the actor's scope matching every filter of ``query``, with the total."""
    if reveal:
        actor.require(roles.RESIDENT_REVEAL)
    statement = select(Resident).where(resident_filter(session, actor, reason), *_where(query))
    order = [SORTS[f].desc() if d else SORTS[f] for f, d in query.sort if f in SORTS]
    statement = statement.order_by(*order, Resident.id)
    total, rows = page(session, statement, min(limit, MAX_PAGE), offset)
    audit.record(
        session,
        actor,
        "search",
        "resident",
        reason=reason,
        detail=f"{_described(query)} hits={total}" + (" reveal" if reveal else ""),
    )
    if reveal:
        for row in rows:
            audit.record(session, actor, "reveal", "resident", row.id, person_id=row.id)
    return total, [_view(r, reveal) for r in rows]


def _where(query: ResidentQuery) -> list:
    clauses = []
    if query.ids is not None:
        clauses.append(Resident.id.in_(query.ids))
    if query.id_number is not None:
        clauses.append(Resident.id_number == query.id_number.upper())
    if query.name:
        term = q_name(query.name.strip())
        clauses.append(
            Resident.name_initials.startswith(term.upper(), autoescape=True)
            if term.isascii()
            else Resident.name.startswith(term, autoescape=True)
        )
    if query.sex is not None:
        clauses.append(Resident.sex == query.sex)
    if query.born_from is not None:
        clauses.append(Resident.birth_date >= query.born_from)
    if query.born_to is not None:
        clauses.append(Resident.birth_date <= query.born_to)
    if query.phone is not None:
        clauses.append(Resident.phone == query.phone)
    if query.ehealth_card_no is not None:
        clauses.append(Resident.ehealth_card_no == query.ehealth_card_no.upper())
    if query.village_id is not None:
        clauses.append(Resident.residence_village_id == query.village_id)
    return clauses


def _described(query: ResidentQuery) -> str:
    """The query for the audit row, identifiers masked."""
    parts = []
    for key, value in vars(query).items():
        if value is None or key == "sort":
            continue
        if key in ("id_number", "ehealth_card_no"):
            value = mask_id_number(value)
        elif key == "phone":
            value = mask_phone(value)
        elif key == "ids":
            value = len(value)
        parts.append(f"{key}={value}")
    return " ".join(parts)
