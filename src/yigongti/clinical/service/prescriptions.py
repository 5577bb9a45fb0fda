"""Medication requests (prescriptions) of chronic-disease medicines, with the long-prescription
rule (长处方): over 30 days' supply, at most 12 weeks, only for a resident whose problem list
holds a condition the medicine treats.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti.clinical.codes import max_long_prescription_days, medication_catalog
from yigongti.clinical.models import Condition, MedicationRequest
from yigongti.clinical.service.common import (
    audit_change,
    audit_read,
    checked_choice,
    checked_encounter,
    checked_practitioner,
    checked_time,
    checked_transition,
    filters_text,
    period,
    recording_institution,
    scoped_search,
    view_of,
    visible_row,
    writable_resident,
)
from yigongti.kernel import invalid_field
from yigongti.security import Actor

ORDINARY_DAYS = 30  # beyond this a prescription is a long prescription
MEDICATION_STATUSES: dict[str, tuple[str, ...]] = {
    "active": ("completed", "stopped", "cancelled", "entered-in-error"),
    "completed": ("entered-in-error",),
    "stopped": ("entered-in-error",),
    "cancelled": ("entered-in-error",),
    "entered-in-error": (),
}


@dataclass(frozen=True)
class NewMedicationRequest:
    """A prescription of one medicine (ATC code of the catalog) for ``days_supply`` days."""

    resident_id: uuid.UUID
    medication_code: str
    dosage_text: str
    quantity: int
    days_supply: int
    authored_at: datetime
    encounter_id: uuid.UUID | None = None
    institution_id: uuid.UUID | None = None
    prescriber_id: uuid.UUID | None = None


@dataclass(frozen=True)
class MedicationRequestView:
    """A prescription of the shared record; ``long_prescription`` when over 30 days. Its FHIR
    request intent is always ``order``."""

    id: uuid.UUID
    resident_id: uuid.UUID
    encounter_id: uuid.UUID | None
    institution_id: uuid.UUID
    prescriber_id: uuid.UUID | None
    medication_code: str
    medication_name: str
    dosage_text: str
    quantity: int
    quantity_unit: str
    days_supply: int
    long_prescription: bool
    status: str
    intent: str
    authored_at: datetime


def _view(row: MedicationRequest) -> MedicationRequestView:
    return view_of(MedicationRequestView, row, intent="order")


def _check_supply(session: Session, resident_id: uuid.UUID, code: str, days: int) -> bool:
    """Whether the supply is a long prescription; refused when the rule does not allow it."""
    longest = max_long_prescription_days()
    if not 1 <= days <= longest:
        raise invalid_field(
            "days_supply",
            f"Days of supply: 1 to {longest} (12 weeks for a long prescription)",
            f"用药天数须为 1 至 {longest} 天（长处方最长12周）",
        )
    if days <= ORDINARY_DAYS:
        return False
    treats = medication_catalog()[code]["conditions"]
    held = session.scalar(
        select(Condition.id).where(Condition.resident_id == resident_id, Condition.code.in_(treats))
    )
    if held is None:
        raise invalid_field(
            "days_supply",
            f"A long prescription (over {ORDINARY_DAYS} days) is for a stable chronic patient: "
            f"the resident's problem list has none of {', '.join(treats)}",
            f"长处方（超过{ORDINARY_DAYS}天）仅适用于病情稳定的慢病患者："
            f"该居民的诊断中无 {'、'.join(treats)}",
        )
    return True


def record_medication_request(
    session: Session, actor: Actor, new: NewMedicationRequest
) -> MedicationRequestView:
    """Prescribe for a resident in the actor's scope at the actor's institution."""
    resident_id = writable_resident(session, actor, new.resident_id)
    institution_id = recording_institution(actor, new.institution_id, session)
    drug = medication_catalog().get(new.medication_code)
    if drug is None:
        raise invalid_field(
            "medication_code",
            f"Unknown medicine {new.medication_code!r}: use an ATC code of the catalog",
            f"药品编码 {new.medication_code!r} 无效：请使用目录中的 ATC 编码",
        )
    if not new.dosage_text.strip():
        raise invalid_field("dosage_text", "Say how to take it", "请填写用法用量")
    if new.quantity < 1:
        raise invalid_field("quantity", "Quantity: 1 or more", "数量至少为 1")
    checked_time(new.authored_at, "authored_at")
    long = _check_supply(session, resident_id, new.medication_code, new.days_supply)
    row = MedicationRequest(
        resident_id=resident_id,
        encounter_id=checked_encounter(session, new.encounter_id, resident_id, "encounter_id"),
        institution_id=institution_id,
        prescriber_id=checked_practitioner(
            session, actor, new.prescriber_id, institution_id, "prescriber_id"
        ),
        medication_code=new.medication_code,
        medication_name=drug["zh"],
        dosage_text=new.dosage_text.strip(),
        quantity=new.quantity,
        quantity_unit=drug["unit"],
        days_supply=new.days_supply,
        long_prescription=long,
        status="active",
        authored_at=new.authored_at,
    )
    session.add(row)
    session.flush()
    audit_change(session, actor, "create", "medication_request", row, f"code={row.medication_code}")
    return _view(row)


def get_medication_request(
    session: Session, actor: Actor, request_id: uuid.UUID, reason: str | None = None
) -> MedicationRequestView:
    """One prescription whose resident the actor may see; ``NotFound`` otherwise."""
    row = visible_row(
        session, actor, MedicationRequest, request_id, ("prescription", "处方"), reason
    )
    audit_read(session, actor, "medication_request", row, reason)
    return _view(row)


def search_medication_requests(
    session: Session,
    actor: Actor,
    *,
    resident_id: uuid.UUID | None = None,
    code: str | None = None,
    status: str | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
    encounter_id: uuid.UUID | None = None,
    long_prescription: bool | None = None,
    sort: str = "-date",
    limit: int = 20,
    offset: int = 0,
    reason: str | None = None,
) -> tuple[int, list[MedicationRequestView]]:
    """Prescriptions in the actor's scope by resident, ATC ``code``, status, authored date,
    encounter and long prescription; sorted by authored time (``-date`` newest first)."""
    where = period(MedicationRequest.authored_at, date_from, date_to)
    if code is not None:
        where.append(MedicationRequest.medication_code == code)
    if status is not None:
        checked_choice(status, tuple(MEDICATION_STATUSES), "status")
        where.append(MedicationRequest.status == status)
    if encounter_id is not None:
        where.append(MedicationRequest.encounter_id == encounter_id)
    if long_prescription is not None:
        where.append(MedicationRequest.long_prescription.is_(long_prescription))
    total, rows = scoped_search(
        session,
        actor,
        MedicationRequest,
        MedicationRequest.authored_at,
        where,
        object_type="medication_request",
        resident_id=resident_id,
        sort=sort,
        limit=limit,
        offset=offset,
        reason=reason,
        detail=filters_text(resident=resident_id, code=code, status=status),
    )
    return total, [_view(r) for r in rows]


def update_medication_request(
    session: Session, actor: Actor, request_id: uuid.UUID, *, status: str
) -> MedicationRequestView:
    """Complete, stop or cancel an active prescription, or mark it entered in error."""
    row = visible_row(session, actor, MedicationRequest, request_id, ("prescription", "处方"))
    writable_resident(session, actor, row.resident_id)
    row.status = checked_transition(row.status, status, MEDICATION_STATUSES)
    session.flush()
    audit_change(session, actor, "update", "medication_request", row, f"status={status}")
    return _view(row)
