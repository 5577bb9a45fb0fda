"""Service requests: referrals, imaging and lab orders, procedures; record, read, search, and
complete (naming the encounter it led to) or revoke."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from yigongti.clinical.codes import (
    REQUEST_INTENTS,
    SERVICE_CATEGORIES,
    observation_catalog,
    report_catalog,
)
from yigongti.clinical.models import ServiceRequest
from yigongti.clinical.service.common import (
    audit_change,
    audit_read,
    checked_choice,
    checked_diagnosis,
    checked_encounter,
    checked_institution,
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
from yigongti.registry import department_catalog
from yigongti.security import Actor

SERVICE_STATUSES: dict[str, tuple[str, ...]] = {
    "active": ("completed", "revoked", "entered-in-error"),
    "completed": ("entered-in-error",),
    "revoked": ("entered-in-error",),
    "entered-in-error": (),
}


@dataclass(frozen=True)
class NewServiceRequest:
    """A request for a service. ``code``: for a referral the department (诊疗科目) asked for,
    for imaging or lab a LOINC code of the catalog; ``text`` says it in words (one of the two is
    needed). ``reason_code``: ICD-10."""

    resident_id: uuid.UUID
    category: str  # referral | imaging | lab | procedure
    authored_at: datetime
    code: str | None = None
    text: str | None = None
    reason_code: str | None = None
    performer_institution_id: uuid.UUID | None = None
    encounter_id: uuid.UUID | None = None
    requester_institution_id: uuid.UUID | None = None
    requester_id: uuid.UUID | None = None
    intent: str = "order"


@dataclass(frozen=True)
class ServiceRequestView:
    """A service request of the shared record; ``fulfilled_by_id`` is the encounter it led to."""

    id: uuid.UUID
    resident_id: uuid.UUID
    encounter_id: uuid.UUID | None
    requester_institution_id: uuid.UUID
    requester_id: uuid.UUID | None
    performer_institution_id: uuid.UUID | None
    category: str
    code: str | None
    text: str | None
    reason_code: str | None
    status: str
    intent: str
    authored_at: datetime
    fulfilled_by_id: uuid.UUID | None


def _check_code(category: str, code: str | None) -> None:
    if code is None:
        return
    if category == "referral":
        known = code in department_catalog()
    elif category in ("imaging", "lab"):
        known = code in report_catalog() or code in observation_catalog()
    else:
        known = True  # procedures: no catalog yet; the code is kept as given
    if not known:
        raise invalid_field(
            "code",
            f"Unknown {category} code {code!r}",
            f"{category} 编码 {code!r} 无效",
        )


def record_service_request(
    session: Session, actor: Actor, new: NewServiceRequest
) -> ServiceRequestView:
    """Request a service for a resident in the actor's scope from the actor's institution."""
    resident_id = writable_resident(session, actor, new.resident_id)
    institution_id = recording_institution(actor, new.requester_institution_id, session)
    checked_choice(new.category, SERVICE_CATEGORIES, "category")
    checked_choice(new.intent, REQUEST_INTENTS, "intent")
    _check_code(new.category, new.code)
    text = (new.text or "").strip() or None
    if new.code is None and text is None:
        raise invalid_field(
            "code", "Say what is requested (code or text)", "请填写申请项目（编码或文字）"
        )
    checked_time(new.authored_at, "authored_at")
    performer = (
        checked_institution(session, new.performer_institution_id, "performer_institution_id")
        if new.performer_institution_id
        else None
    )
    if new.category == "referral" and performer is None:
        raise invalid_field(
            "performer_institution_id", "A referral names where it goes", "转诊须填写转入机构"
        )
    row = ServiceRequest(
        resident_id=resident_id,
        encounter_id=checked_encounter(session, new.encounter_id, resident_id, "encounter_id"),
        requester_institution_id=institution_id,
        requester_id=checked_practitioner(
            session, actor, new.requester_id, institution_id, "requester_id"
        ),
        performer_institution_id=performer,
        category=new.category,
        code=new.code,
        text=text,
        reason_code=checked_diagnosis(new.reason_code, "reason_code", required=False),
        status="active",
        intent=new.intent,
        authored_at=new.authored_at,
    )
    session.add(row)
    session.flush()
    audit_change(session, actor, "create", "service_request", row, f"category={row.category}")
    return view_of(ServiceRequestView, row)


def get_service_request(
    session: Session, actor: Actor, request_id: uuid.UUID, reason: str | None = None
) -> ServiceRequestView:
    """One service request whose resident the actor may see; ``NotFound`` otherwise."""
    what = ("service request", "申请单")
    row = visible_row(session, actor, ServiceRequest, request_id, what, reason)
    audit_read(session, actor, "service_request", row, reason)
    return view_of(ServiceRequestView, row)


def search_service_requests(
    session: Session,
    actor: Actor,
    *,
    resident_id: uuid.UUID | None = None,
    code: str | None = None,
    category: str | None = None,
    status: str | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
    encounter_id: uuid.UUID | None = None,
    performer_institution_id: uuid.UUID | None = None,
    fulfilled_by_id: uuid.UUID | None = None,
    sort: str = "-date",
    limit: int = 20,
    offset: int = 0,
    reason: str | None = None,
) -> tuple[int, list[ServiceRequestView]]:
    """Service requests in the actor's scope by resident, code, category, status, authored date,
    encounter (where it was requested), performer and the encounter it led to
    (``fulfilled_by_id``); sorted by authored time."""
    where = period(ServiceRequest.authored_at, date_from, date_to)
    if code is not None:
        where.append(ServiceRequest.code == code)
    if category is not None:
        checked_choice(category, SERVICE_CATEGORIES, "category")
        where.append(ServiceRequest.category == category)
    if status is not None:
        checked_choice(status, tuple(SERVICE_STATUSES), "status")
        where.append(ServiceRequest.status == status)
    if encounter_id is not None:
        where.append(ServiceRequest.encounter_id == encounter_id)
    if performer_institution_id is not None:
        where.append(ServiceRequest.performer_institution_id == performer_institution_id)
    if fulfilled_by_id is not None:
        where.append(ServiceRequest.fulfilled_by_id == fulfilled_by_id)
    total, rows = scoped_search(
        session,
        actor,
        ServiceRequest,
        ServiceRequest.authored_at,
        where,
        object_type="service_request",
        resident_id=resident_id,
        sort=sort,
        limit=limit,
        offset=offset,
        reason=reason,
        detail=filters_text(resident=resident_id, code=code, category=category, status=status),
    )
    return total, [view_of(ServiceRequestView, r) for r in rows]


def update_service_request(
    session: Session,
    actor: Actor,
    request_id: uuid.UUID,
    *,
    status: str,
    fulfilled_by_id: uuid.UUID | None = None,
) -> ServiceRequestView:
    """Complete a request (optionally naming the encounter it led to), revoke it, or mark it
    entered in error."""
    what = ("service request", "申请单")
    row = visible_row(session, actor, ServiceRequest, request_id, what)
    writable_resident(session, actor, row.resident_id)
    target = checked_transition(row.status, status, SERVICE_STATUSES)
    if fulfilled_by_id is not None:
        if target != "completed":
            raise invalid_field(
                "fulfilled_by_id",
                "Only a completed request names its encounter",
                "仅已完成的申请可关联就诊",
            )
        row.fulfilled_by_id = checked_encounter(
            session, fulfilled_by_id, row.resident_id, "fulfilled_by_id"
        )
    row.status = target
    session.flush()
    audit_change(session, actor, "update", "service_request", row, f"status={status}")
    return view_of(ServiceRequestView, row)
