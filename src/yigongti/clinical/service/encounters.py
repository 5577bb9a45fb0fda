"""Encounters and conditions: record, read and search them, in scope and audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from yigongti.clinical.codes import ENCOUNTER_KINDS
from yigongti.clinical.models import Condition, Encounter
from yigongti.clinical.service.common import (
    audit_change,
    audit_created,
    audit_read,
    checked_choice,
    checked_diagnosis,
    checked_institution,
    checked_practitioner,
    checked_time,
    filters_text,
    period,
    recording_institution,
    scoped_search,
    view_of,
    view_of_values,
    visible_row,
    writable_resident,
)
from yigongti.db.bulk import insert_values
from yigongti.kernel import DomainError, invalid_field, uuid7
from yigongti.registry import get_institution
from yigongti.security import Actor

ENCOUNTER_STATUSES = ("in-progress", "finished")  # finished once it has ended


@dataclass(frozen=True)
class NewEncounter:
    """What it takes to record an encounter; the institution defaults to the actor's."""

    resident_id: uuid.UUID
    kind: str  # outpatient | emergency | inpatient
    started_at: datetime
    diagnosis_code: str  # ICD-10
    ended_at: datetime | None = None
    institution_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    practitioner_id: uuid.UUID | None = None
    total_fen: int = 0
    referral: str | None = None  # up | down
    referred_from_id: uuid.UUID | None = None


@dataclass(frozen=True)
class EncounterView:
    """An encounter of the shared record; ``status`` is finished once it has ended."""

    id: uuid.UUID
    resident_id: uuid.UUID
    institution_id: uuid.UUID
    department_id: uuid.UUID | None
    practitioner_id: uuid.UUID | None
    kind: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    diagnosis_code: str
    total_fen: int
    referral: str | None
    referred_from_id: uuid.UUID | None


def _encounter_view(row: Encounter) -> EncounterView:
    return view_of(
        EncounterView, row, status="finished" if row.ended_at is not None else "in-progress"
    )


def record_encounter(session: Session, actor: Actor, new: NewEncounter) -> EncounterView:
    """Record an encounter of a resident in the actor's scope at the actor's institution."""
    encounter = _encounter_row(session, actor, new)
    session.add(encounter)
    session.flush()
    audit_change(session, actor, "create", "encounter", encounter)
    return _encounter_view(encounter)


def record_encounters(
    session: Session, actor: Actor, news: list[NewEncounter]
) -> list[EncounterView | DomainError]:
    """Record many encounters at once (bulk import): the same checks as ``record_encounter``
    for each, one multi-row insert for all that pass, one audit row each; per encounter its
    view or the error that refused it (nothing is written for a refused one)."""
    rows: list[dict[str, Any] | DomainError] = []
    for new in news:
        try:
            rows.append({"id": uuid7(), **_encounter_values(session, actor, new)})
        except DomainError as error:
            rows.append(error)
    good = [r for r in rows if isinstance(r, dict)]
    insert_values(session, Encounter.__table__, good)  # type: ignore[arg-type]
    for values in good:
        audit_created(session, actor, "encounter", values)
    return [
        r if isinstance(r, DomainError) else view_of_values(EncounterView, r, status=_status(r))
        for r in rows
    ]


def _status(values: dict[str, Any]) -> str:
    return "finished" if values["ended_at"] is not None else "in-progress"


def _encounter_row(session: Session, actor: Actor, new: NewEncounter) -> Encounter:
    """A checked, unsaved encounter row."""
    return Encounter(**_encounter_values(session, actor, new))


def _encounter_values(session: Session, actor: Actor, new: NewEncounter) -> dict[str, Any]:
    """The checked column values of a new encounter (without its id)."""
    resident_id = writable_resident(session, actor, new.resident_id)
    institution_id = recording_institution(session, actor, new.institution_id)
    checked_choice(new.kind, ENCOUNTER_KINDS, "kind")
    checked_time(new.started_at, "started_at")
    if new.ended_at is not None and checked_time(new.ended_at, "ended_at") < new.started_at:
        raise invalid_field(
            "ended_at", "The encounter ends before it starts", "结束时间早于开始时间"
        )
    if new.total_fen < 0:
        raise invalid_field("total_fen", "The total cannot be negative", "费用不能为负数")
    if new.referral is not None:
        checked_choice(new.referral, ("up", "down"), "referral")
        if new.referred_from_id is None:
            raise invalid_field(
                "referred_from_id", "A referral names where it came from", "转诊须填写转出机构"
            )
    referred_from = (
        checked_institution(session, new.referred_from_id, "referred_from_id")
        if new.referred_from_id
        else None
    )
    values = {
        "resident_id": resident_id,
        "institution_id": institution_id,
        "department_id": new.department_id,
        "practitioner_id": checked_practitioner(
            session, actor, new.practitioner_id, institution_id, "practitioner_id"
        ),
        "kind": new.kind,
        "started_at": new.started_at,
        "ended_at": new.ended_at,
        "diagnosis_code": checked_diagnosis(new.diagnosis_code, "diagnosis_code"),
        "total_fen": new.total_fen,
        "referral": new.referral,
        "referred_from_id": referred_from,
    }
    if new.department_id is not None:
        _check_department(session, new.department_id, institution_id)
    return values


def _check_department(
    session: Session, department_id: uuid.UUID, institution_id: uuid.UUID
) -> None:
    departments = {d.id for d in get_institution(session, institution_id).departments}
    if department_id not in departments:
        raise invalid_field(
            "department_id", "No such department at this institution", "本机构无此科室"
        )


def get_encounter(
    session: Session, actor: Actor, encounter_id: uuid.UUID, reason: str | None = None
) -> EncounterView:
    """One encounter whose resident the actor may see; ``NotFound`` otherwise."""
    row = visible_row(session, actor, Encounter, encounter_id, ("encounter", "就诊记录"), reason)
    audit_read(session, actor, "encounter", row, reason)
    return _encounter_view(row)


def search_encounters(
    session: Session,
    actor: Actor,
    *,
    resident_id: uuid.UUID | None = None,
    code: str | None = None,
    category: str | None = None,
    status: str | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
    institution_id: uuid.UUID | None = None,
    sort: str = "-date",
    limit: int = 20,
    offset: int = 0,
    reason: str | None = None,
) -> tuple[int, list[EncounterView]]:
    """Encounters in the actor's scope: by resident, diagnosis ``code``, ``category`` (the kind:
    outpatient, emergency, inpatient), ``status`` (in-progress, finished), start date and
    institution; sorted by start (``-date`` newest first), with the total."""
    where = period(Encounter.started_at, date_from, date_to)
    if code is not None:
        where.append(Encounter.diagnosis_code == code)
    if category is not None:
        where.append(Encounter.kind == checked_choice(category, ENCOUNTER_KINDS, "category"))
    if status is not None:
        checked_choice(status, ENCOUNTER_STATUSES, "status")
        ended = Encounter.ended_at.is_not(None)
        where.append(ended if status == "finished" else ~ended)
    if institution_id is not None:
        where.append(Encounter.institution_id == institution_id)
    total, rows = scoped_search(
        session,
        actor,
        Encounter,
        Encounter.started_at,
        where,
        object_type="encounter",
        resident_id=resident_id,
        sort=sort,
        limit=limit,
        offset=offset,
        reason=reason,
        detail=filters_text(resident=resident_id, code=code, category=category, status=status),
    )
    return total, [_encounter_view(r) for r in rows]


def update_encounter(
    session: Session, actor: Actor, encounter_id: uuid.UUID, *, ended_at: datetime
) -> EncounterView:
    """End an encounter (it becomes finished)."""
    row = visible_row(session, actor, Encounter, encounter_id, ("encounter", "就诊记录"))
    writable_resident(session, actor, row.resident_id)
    if checked_time(ended_at, "ended_at") < row.started_at:
        raise invalid_field(
            "ended_at", "The encounter ends before it starts", "结束时间早于开始时间"
        )
    row.ended_at = ended_at
    session.flush()
    audit_change(session, actor, "update", "encounter", row, "fields=ended_at")
    return _encounter_view(row)


@dataclass(frozen=True)
class NewCondition:
    """A diagnosis for the resident's problem list (ICD-10)."""

    resident_id: uuid.UUID
    code: str
    onset_date: date
    institution_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ConditionView:
    """A condition on the resident's problem list."""

    id: uuid.UUID
    resident_id: uuid.UUID
    code: str
    onset_date: date
    institution_id: uuid.UUID | None


def record_condition(session: Session, actor: Actor, new: NewCondition) -> ConditionView:
    """Add a diagnosis to the problem list of a resident in the actor's scope."""
    resident_id = writable_resident(session, actor, new.resident_id)
    institution_id = recording_institution(session, actor, new.institution_id)
    checked_diagnosis(new.code, "code")
    if new.onset_date > date.today():
        raise invalid_field("onset_date", "The onset is in the future", "发病日期不能晚于今天")
    condition = Condition(
        resident_id=resident_id,
        code=new.code,
        onset_date=new.onset_date,
        institution_id=institution_id,
    )
    session.add(condition)
    session.flush()
    audit_change(session, actor, "create", "condition", condition)
    return view_of(ConditionView, condition)


def get_condition(
    session: Session, actor: Actor, condition_id: uuid.UUID, reason: str | None = None
) -> ConditionView:
    """One condition whose resident the actor may see; ``NotFound`` otherwise."""
    row = visible_row(session, actor, Condition, condition_id, ("condition", "诊断"), reason)
    audit_read(session, actor, "condition", row, reason)
    return view_of(ConditionView, row)


def search_conditions(
    session: Session,
    actor: Actor,
    *,
    resident_id: uuid.UUID | None = None,
    code: str | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
    sort: str = "-date",
    limit: int = 20,
    offset: int = 0,
    reason: str | None = None,
) -> tuple[int, list[ConditionView]]:
    """Conditions in the actor's scope by resident, ICD-10 ``code`` and onset date."""
    where = period(Condition.onset_date, date_from, date_to, by_day=True)
    if code is not None:
        where.append(Condition.code == code)
    total, rows = scoped_search(
        session,
        actor,
        Condition,
        Condition.onset_date,
        where,
        object_type="condition",
        resident_id=resident_id,
        sort=sort,
        limit=limit,
        offset=offset,
        reason=reason,
        detail=filters_text(resident=resident_id, code=code),
    )
    return total, [view_of(ConditionView, r) for r in rows]
