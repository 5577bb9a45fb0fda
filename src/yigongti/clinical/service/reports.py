"""Diagnostic reports (lab, imaging, ECG, ultrasound, pathology) with their results: record,
read, search, move on in status."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti.clinical.codes import REPORT_CATEGORIES, report_catalog
from yigongti.clinical.models import DiagnosticReport, Observation
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
from yigongti.clinical.service.observations import NewObservation, observation_row
from yigongti.kernel import invalid_field, now
from yigongti.security import Actor

REPORT_STATUSES: dict[str, tuple[str, ...]] = {
    "registered": ("preliminary", "final", "cancelled", "entered-in-error"),
    "preliminary": ("final", "cancelled", "entered-in-error"),
    "final": ("amended", "entered-in-error"),
    "amended": ("entered-in-error",),
    "cancelled": (),
    "entered-in-error": (),
}


@dataclass(frozen=True)
class NewDiagnosticReport:
    """A report to record, with its results (recorded with it, at the same institution)."""

    resident_id: uuid.UUID
    category: str  # LAB | RAD | ECG | US | PAT
    code: str  # LOINC, clinical/data/observations.json "reports"
    effective_at: datetime
    conclusion: str | None = None
    results: tuple[NewObservation, ...] = ()
    encounter_id: uuid.UUID | None = None
    institution_id: uuid.UUID | None = None
    performer_id: uuid.UUID | None = None
    status: str = "final"
    issued_at: datetime | None = None


@dataclass(frozen=True)
class DiagnosticReportView:
    """A diagnostic report and the ids of its result observations."""

    id: uuid.UUID
    resident_id: uuid.UUID
    encounter_id: uuid.UUID | None
    institution_id: uuid.UUID
    performer_id: uuid.UUID | None
    category: str
    code: str
    status: str
    effective_at: datetime
    issued_at: datetime
    conclusion: str | None
    result_ids: tuple[uuid.UUID, ...]


def _report_view(session: Session, row: DiagnosticReport) -> DiagnosticReportView:
    ids = session.scalars(
        select(Observation.id).where(Observation.report_id == row.id).order_by(Observation.id)
    ).all()
    return view_of(DiagnosticReportView, row, result_ids=tuple(ids))


def record_diagnostic_report(
    session: Session, actor: Actor, new: NewDiagnosticReport
) -> DiagnosticReportView:
    """Record a report and its results for a resident in the actor's scope.

    The results belong to the report's resident, institution and encounter; a bad result refuses
    the whole report (nothing is written).
    """
    resident_id = writable_resident(session, actor, new.resident_id)
    institution_id = recording_institution(actor, new.institution_id, session)
    checked_choice(new.category, REPORT_CATEGORIES, "category")
    entry = report_catalog().get(new.code)
    if entry is None or entry["category"] != new.category:
        raise invalid_field(
            "code",
            f"Unknown {new.category} report code {new.code!r}: use a LOINC code of the catalog",
            f"{new.category} 报告编码 {new.code!r} 无效：请使用目录中的 LOINC 编码",
        )
    checked_choice(new.status, tuple(REPORT_STATUSES), "status")
    checked_time(new.effective_at, "effective_at")
    issued = checked_time(new.issued_at, "issued_at") if new.issued_at else now()
    encounter_id = checked_encounter(session, new.encounter_id, resident_id, "encounter_id")
    performer = checked_practitioner(
        session, actor, new.performer_id, institution_id, "performer_id"
    )
    results = [
        observation_row(
            session,
            actor,
            _as_result(r, new, encounter_id, institution_id),
            resident_id,
            institution_id,
        )
        for r in new.results
    ]
    report = DiagnosticReport(
        resident_id=resident_id,
        encounter_id=encounter_id,
        institution_id=institution_id,
        performer_id=performer,
        category=new.category,
        code=new.code,
        status=new.status,
        effective_at=new.effective_at,
        issued_at=issued,
        conclusion=new.conclusion,
    )
    session.add(report)
    session.flush()
    for result in results:
        result.report_id = report.id
    session.add_all(results)
    session.flush()
    audit_change(session, actor, "create", "diagnostic_report", report, f"results={len(results)}")
    return _report_view(session, report)


def _as_result(
    result: NewObservation,
    report: NewDiagnosticReport,
    encounter_id: uuid.UUID | None,
    institution_id: uuid.UUID,
) -> NewObservation:
    if result.resident_id != report.resident_id:
        raise invalid_field(
            "results", "A result belongs to the report's resident", "检验结果须属于报告的居民"
        )
    return replace(result, encounter_id=encounter_id, institution_id=institution_id, report_id=None)


def get_diagnostic_report(
    session: Session, actor: Actor, report_id: uuid.UUID, reason: str | None = None
) -> DiagnosticReportView:
    """One report whose resident the actor may see; ``NotFound`` otherwise."""
    row = visible_row(session, actor, DiagnosticReport, report_id, ("report", "报告"), reason)
    audit_read(session, actor, "diagnostic_report", row, reason)
    return _report_view(session, row)


def search_diagnostic_reports(
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
    sort: str = "-date",
    limit: int = 20,
    offset: int = 0,
    reason: str | None = None,
) -> tuple[int, list[DiagnosticReportView]]:
    """Reports in the actor's scope by resident, code, category, status, effective date and
    encounter; sorted by effective time (``-date`` newest first), with the total."""
    where = period(DiagnosticReport.effective_at, date_from, date_to)
    if code is not None:
        where.append(DiagnosticReport.code == code)
    if category is not None:
        where.append(
            DiagnosticReport.category == checked_choice(category, REPORT_CATEGORIES, "category")
        )
    if status is not None:
        where.append(
            DiagnosticReport.status == checked_choice(status, tuple(REPORT_STATUSES), "status")
        )
    if encounter_id is not None:
        where.append(DiagnosticReport.encounter_id == encounter_id)
    total, rows = scoped_search(
        session,
        actor,
        DiagnosticReport,
        DiagnosticReport.effective_at,
        where,
        object_type="diagnostic_report",
        resident_id=resident_id,
        sort=sort,
        limit=limit,
        offset=offset,
        reason=reason,
        detail=filters_text(resident=resident_id, code=code, category=category, status=status),
    )
    return total, [_report_view(session, r) for r in rows]


def update_diagnostic_report(
    session: Session,
    actor: Actor,
    report_id: uuid.UUID,
    *,
    status: str,
    conclusion: str | None = None,
) -> DiagnosticReportView:
    """Move a report on (registered -> preliminary -> final -> amended, or cancelled /
    entered-in-error), optionally with a new conclusion. A report entered in error takes its
    results with it."""
    row = visible_row(session, actor, DiagnosticReport, report_id, ("report", "报告"))
    writable_resident(session, actor, row.resident_id)
    row.status = checked_transition(row.status, status, REPORT_STATUSES)
    if conclusion is not None:
        row.conclusion = conclusion
    if status == "entered-in-error":
        for result in session.scalars(select(Observation).where(Observation.report_id == row.id)):
            result.status = "entered-in-error"
    session.flush()
    audit_change(session, actor, "update", "diagnostic_report", row, f"status={status}")
    return _report_view(session, row)
