"""Immunizations: vaccine doses given (or not given) to a resident; record, read, search, correct.

Vaccines are the national immunization programme's and a few common others
(``clinical/data/vaccines.json``, coded by the programme's short names with CVX beside them).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from yigongti.clinical.codes import NOT_DONE_REASONS, doses_of, vaccine_catalog
from yigongti.clinical.models import Immunization
from yigongti.clinical.service.common import (
    audit_change,
    audit_read,
    checked_choice,
    checked_practitioner,
    checked_transition,
    filters_text,
    period,
    recording_institution,
    scoped_search,
    view_of,
    visible_row,
    writable_resident,
)
from yigongti.kernel import invalid_field, now
from yigongti.registry import resident_record
from yigongti.security import Actor

IMMUNIZATION_STATUSES: dict[str, tuple[str, ...]] = {
    "completed": ("entered-in-error",),
    "not-done": ("entered-in-error",),
    "entered-in-error": (),
}


@dataclass(frozen=True)
class NewImmunization:
    """A dose to record; a dose not given (``not-done``) says why (v3 ActReason code)."""

    resident_id: uuid.UUID
    vaccine_code: str
    dose_number: int
    occurred_on: date
    lot_number: str | None = None
    status: str = "completed"
    status_reason: str | None = None  # IMMUNE | MEDPREC | OSTOCK | PATOBJ, when not done
    institution_id: uuid.UUID | None = None
    practitioner_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ImmunizationView:
    """A vaccine dose of the shared record."""

    id: uuid.UUID
    resident_id: uuid.UUID
    institution_id: uuid.UUID
    practitioner_id: uuid.UUID | None
    vaccine_code: str
    dose_number: int
    occurred_on: date
    lot_number: str | None
    status: str
    status_reason: str | None
    recorded_at: datetime


def record_immunization(session: Session, actor: Actor, new: NewImmunization) -> ImmunizationView:
    """Record a vaccine dose of a resident in the actor's scope at the actor's institution."""
    resident_id = writable_resident(session, actor, new.resident_id)
    institution_id = recording_institution(actor, new.institution_id, session)
    if new.vaccine_code not in vaccine_catalog():
        raise invalid_field(
            "vaccine_code",
            f"Unknown vaccine {new.vaccine_code!r}: use a code of the programme's vaccine list",
            f"疫苗编码 {new.vaccine_code!r} 无效：请使用免疫规划疫苗目录中的编码",
        )
    most = doses_of(new.vaccine_code)
    if not 1 <= new.dose_number <= most:
        raise invalid_field(
            "dose_number",
            f"{new.vaccine_code} has doses 1 to {most}",
            f"{new.vaccine_code} 的剂次为 1 至 {most}",
        )
    born = resident_record(session, resident_id).birth_date
    if not born <= new.occurred_on <= now().date():
        raise invalid_field(
            "occurred_on",
            "The date lies between the resident's birth and today",
            "接种日期须在出生日期与今天之间",
        )
    checked_choice(new.status, ("completed", "not-done"), "status")
    if new.status == "not-done":
        checked_choice(new.status_reason or "", NOT_DONE_REASONS, "status_reason")
    elif new.status_reason is not None:
        raise invalid_field(
            "status_reason", "Only a dose not given has a reason", "仅未接种的剂次填写原因"
        )
    row = Immunization(
        resident_id=resident_id,
        institution_id=institution_id,
        practitioner_id=checked_practitioner(
            session, actor, new.practitioner_id, institution_id, "practitioner_id"
        ),
        vaccine_code=new.vaccine_code,
        dose_number=new.dose_number,
        occurred_on=new.occurred_on,
        lot_number=(new.lot_number or "").strip() or None,
        status=new.status,
        status_reason=new.status_reason,
        recorded_at=now(),
    )
    session.add(row)
    session.flush()
    audit_change(session, actor, "create", "immunization", row, f"vaccine={row.vaccine_code}")
    return view_of(ImmunizationView, row)


def get_immunization(
    session: Session, actor: Actor, immunization_id: uuid.UUID, reason: str | None = None
) -> ImmunizationView:
    """One dose whose resident the actor may see; ``NotFound`` otherwise."""
    what = ("immunization", "接种记录")
    row = visible_row(session, actor, Immunization, immunization_id, what, reason)
    audit_read(session, actor, "immunization", row, reason)
    return view_of(ImmunizationView, row)


def search_immunizations(
    session: Session,
    actor: Actor,
    *,
    resident_id: uuid.UUID | None = None,
    code: str | None = None,
    status: str | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
    sort: str = "-date",
    limit: int = 20,
    offset: int = 0,
    reason: str | None = None,
) -> tuple[int, list[ImmunizationView]]:
    """Doses in the actor's scope by resident, vaccine ``code``, status and date (China-time
    days); sorted by date (``-date`` newest first), with the total."""
    where = period(Immunization.occurred_on, date_from, date_to, by_day=True)
    if code is not None:
        where.append(Immunization.vaccine_code == code)
    if status is not None:
        checked_choice(status, tuple(IMMUNIZATION_STATUSES), "status")
        where.append(Immunization.status == status)
    total, rows = scoped_search(
        session,
        actor,
        Immunization,
        Immunization.occurred_on,
        where,
        object_type="immunization",
        resident_id=resident_id,
        sort=sort,
        limit=limit,
        offset=offset,
        reason=reason,
        detail=filters_text(resident=resident_id, code=code, status=status),
    )
    return total, [view_of(ImmunizationView, r) for r in rows]


def update_immunization(
    session: Session, actor: Actor, immunization_id: uuid.UUID, *, status: str
) -> ImmunizationView:
    """Mark a dose recorded in error (``entered-in-error``)."""
    what = ("immunization", "接种记录")
    row = visible_row(session, actor, Immunization, immunization_id, what)
    writable_resident(session, actor, row.resident_id)
    row.status = checked_transition(row.status, status, IMMUNIZATION_STATUSES)
    session.flush()
    audit_change(session, actor, "update", "immunization", row, f"status={status}")
    return view_of(ImmunizationView, row)
