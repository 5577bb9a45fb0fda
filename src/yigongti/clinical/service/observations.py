"""Observations (vital signs, lab results, exam findings): record, read, search, correct.

Codes, units and ranges come from ``clinical/data/observations.json`` (LOINC, UCUM). A value is
interpreted against the normal range (H, L, N) and flagged critical (危急值) beyond the critical
limits, unless the recording device or lab gives its own interpretation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from yigongti.clinical.codes import (
    OBSERVATION_CATEGORIES,
    OBSERVATION_SYSTEM,
    observation_catalog,
)
from yigongti.clinical.models import DiagnosticReport, Observation
from yigongti.clinical.service.common import (
    audit_change,
    audit_created,
    audit_read,
    checked_choice,
    checked_encounter,
    checked_practitioner,
    checked_time,
    checked_transition,
    encounter_residents,
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
from yigongti.security import Actor

INTERPRETATIONS = ("H", "L", "N")
OBSERVATION_STATUSES: dict[str, tuple[str, ...]] = {
    "final": ("amended", "entered-in-error"),
    "amended": ("entered-in-error",),
    "entered-in-error": (),
}


@dataclass(frozen=True)
class ObservationComponent:
    """One part of a panel (e.g. the systolic pressure of a blood pressure)."""

    code: str
    value: float
    unit: str
    interpretation: str | None = None


@dataclass(frozen=True)
class NewObservation:
    """An observation to record. A number has ``value`` and ``unit``; a panel (85354-9) has its
    ``components``; a finding in words has ``value_text``. ``category`` and ``interpretation``
    default from the code's catalog entry."""

    resident_id: uuid.UUID
    code: str
    effective_at: datetime
    value: float | None = None
    unit: str | None = None
    value_text: str | None = None
    components: tuple[ObservationComponent, ...] = ()
    category: str | None = None
    encounter_id: uuid.UUID | None = None
    institution_id: uuid.UUID | None = None
    practitioner_id: uuid.UUID | None = None
    report_id: uuid.UUID | None = None
    status: str = "final"
    interpretation: str | None = None
    critical: bool | None = None


@dataclass(frozen=True)
class ObservationView:
    """An observation of the shared record (``code_system`` is LOINC)."""

    id: uuid.UUID
    resident_id: uuid.UUID
    encounter_id: uuid.UUID | None
    institution_id: uuid.UUID
    practitioner_id: uuid.UUID | None
    report_id: uuid.UUID | None
    category: str
    code_system: str
    code: str
    value: float | None
    unit: str | None
    value_text: str | None
    components: tuple[ObservationComponent, ...]
    interpretation: str | None
    critical: bool
    status: str
    effective_at: datetime


def _observation_view(row: Observation) -> ObservationView:
    parts = tuple(ObservationComponent(**c) for c in row.components or ())  # type: ignore[arg-type]
    return view_of(ObservationView, row, components=parts)


def _catalog_entry(code: str, field_name: str) -> dict[str, Any]:
    entry = observation_catalog().get(code)
    if entry is None:
        raise invalid_field(
            field_name,
            f"Unknown observation code {code!r}: use a LOINC code of the catalog",
            f"观察项目编码 {code!r} 无效：请使用目录中的 LOINC 编码",
        )
    return entry


def _interpret(entry: dict[str, Any], value: float) -> tuple[str | None, bool]:
    """H, L or N against the normal range (None without one), and whether it is critical."""
    normal, limits = entry.get("normal"), entry.get("critical")
    flag = None
    if normal:
        flag = "L" if value < normal[0] else "H" if value > normal[1] else "N"
    critical = bool(limits) and (value <= limits[0] or value >= limits[1])
    return flag, critical


def _checked_quantity(
    entry: dict[str, Any], code: str, value: float | None, unit: str | None, field_name: str
) -> tuple[float, str | None, bool]:
    """The value, its interpretation and critical flag; unit and plausibility checked."""
    if value is None:
        raise invalid_field(field_name, f"{code} needs a number", f"{code} 须填写数值")
    if unit != entry["unit"]:
        raise invalid_field(
            "unit" if field_name == "value" else field_name,
            f"{code} is measured in {entry['unit']} (UCUM), not {unit!r}",
            f"{code} 的单位应为 {entry['unit']}（UCUM），而非 {unit!r}",
        )
    low, high = entry["bounds"]
    if not low <= value <= high:
        raise invalid_field(
            field_name,
            f"{code} value {value} is outside plausible values {low}-{high} {unit}",
            f"{code} 数值 {value} 超出合理范围 {low}-{high} {unit}",
        )
    flag, critical = _interpret(entry, value)
    return float(value), flag, critical


@dataclass
class _Values:
    value: float | None = None
    unit: str | None = None
    value_text: str | None = None
    components: list[dict[str, Any]] | None = None
    interpretation: str | None = None
    critical: bool = False
    flags: list[str] = field(default_factory=list)


def _checked_values(new: NewObservation, entry: dict[str, Any]) -> _Values:
    out = _Values()
    if entry["kind"] == "text":
        if not new.value_text or not new.value_text.strip():
            raise invalid_field(
                "value_text", f"{new.code} is a finding in words", f"{new.code} 须填写文字结果"
            )
        out.value_text = new.value_text.strip()
        return out
    if entry["kind"] == "quantity":
        out.value, out.interpretation, out.critical = _checked_quantity(
            entry, new.code, new.value, new.unit, "value"
        )
        out.unit = new.unit
        return out
    given = {c.code: c for c in new.components}
    if set(given) != set(entry["components"]) or len(new.components) != len(given):
        raise invalid_field(
            "components",
            f"{new.code} has exactly the components {', '.join(entry['components'])}",
            f"{new.code} 须且仅须包含分项 {'、'.join(entry['components'])}",
        )
    out.components = []
    for code in entry["components"]:
        part = given[code]
        value, flag, critical = _checked_quantity(
            observation_catalog()[code], code, part.value, part.unit, "components"
        )
        out.components.append(
            {
                "code": code,
                "value": value,
                "unit": part.unit,
                "interpretation": part.interpretation or flag,
            }
        )
        out.flags.append(part.interpretation or flag or "N")
        out.critical = out.critical or critical
    out.interpretation = next((f for f in ("H", "L") if f in out.flags), "N")
    return out


def observation_row(
    session: Session,
    actor: Actor,
    new: NewObservation,
    resident_id: uuid.UUID,
    institution_id: uuid.UUID,
) -> Observation:
    """A checked, unsaved observation row (also the results of a diagnostic report)."""
    return Observation(**observation_values(session, actor, new, resident_id, institution_id))


def observation_values(
    session: Session,
    actor: Actor,
    new: NewObservation,
    resident_id: uuid.UUID,
    institution_id: uuid.UUID,
    encounters: dict[uuid.UUID, uuid.UUID] | None = None,
) -> dict[str, Any]:
    """The checked column values of a new observation (without its id); ``encounters``: the
    residents of the batch's encounters, asked once."""
    entry = _catalog_entry(new.code, "code")
    category = new.category or entry["category"]
    checked_choice(category, OBSERVATION_CATEGORIES, "category")
    if category != entry["category"]:
        raise invalid_field(
            "category",
            f"{new.code} is a {entry['category']} observation",
            f"{new.code} 属于 {entry['category']} 类",
        )
    checked_choice(new.status, ("final", "amended"), "status")
    if new.interpretation is not None:
        checked_choice(new.interpretation, INTERPRETATIONS, "interpretation")
    checked_time(new.effective_at, "effective_at")
    values = _checked_values(new, entry)
    return {
        "resident_id": resident_id,
        "encounter_id": checked_encounter(
            session, new.encounter_id, resident_id, "encounter_id", encounters
        ),
        "institution_id": institution_id,
        "practitioner_id": checked_practitioner(
            session, actor, new.practitioner_id, institution_id, "practitioner_id"
        ),
        "report_id": _checked_report(session, new.report_id, resident_id),
        "category": category,
        "code_system": OBSERVATION_SYSTEM,
        "code": new.code,
        "value": values.value,
        "unit": values.unit,
        "value_text": values.value_text,
        "components": values.components,
        "interpretation": new.interpretation or values.interpretation,
        "critical": values.critical if new.critical is None else new.critical,
        "status": new.status,
        "effective_at": new.effective_at,
    }


def _checked_report(
    session: Session, report_id: uuid.UUID | None, resident_id: uuid.UUID
) -> uuid.UUID | None:
    if report_id is None:
        return None
    report = session.get(DiagnosticReport, report_id)
    if report is None or report.resident_id != resident_id:
        raise invalid_field("report_id", "No such report of this resident", "该居民无此报告")
    return report.id


def record_observation(session: Session, actor: Actor, new: NewObservation) -> ObservationView:
    """Record an observation of a resident in the actor's scope at the actor's institution."""
    resident_id = writable_resident(session, actor, new.resident_id)
    institution_id = recording_institution(session, actor, new.institution_id)
    row = observation_row(session, actor, new, resident_id, institution_id)
    session.add(row)
    session.flush()
    audit_change(session, actor, "create", "observation", row, f"code={row.code}")
    return _observation_view(row)


def record_observations(
    session: Session, actor: Actor, news: list[NewObservation]
) -> list[ObservationView | DomainError]:
    """Record many observations at once (bulk import): the same checks as
    ``record_observation`` for each (their encounters loaded in one query), one multi-row
    insert for all that pass, one audit row each; per observation its view or the error that
    refused it."""
    encounter_ids = {n.encounter_id for n in news if n.encounter_id is not None}
    encounters = encounter_residents(session, encounter_ids)
    rows: list[dict[str, Any] | DomainError] = []
    for new in news:
        try:
            resident_id = writable_resident(session, actor, new.resident_id)
            institution_id = recording_institution(session, actor, new.institution_id)
            values = observation_values(
                session, actor, new, resident_id, institution_id, encounters
            )
            rows.append({"id": uuid7(), **values})
        except DomainError as error:
            rows.append(error)
    good = [r for r in rows if isinstance(r, dict)]
    insert_values(session, Observation.__table__, good)  # type: ignore[arg-type]
    for values in good:
        audit_created(session, actor, "observation", values, f"code={values['code']}")
    return [r if isinstance(r, DomainError) else _view_of_values(r) for r in rows]


def _view_of_values(values: dict[str, Any]) -> ObservationView:
    parts = tuple(ObservationComponent(**c) for c in values["components"] or ())
    return view_of_values(ObservationView, values, components=parts)


def get_observation(
    session: Session, actor: Actor, observation_id: uuid.UUID, reason: str | None = None
) -> ObservationView:
    """One observation whose resident the actor may see; ``NotFound`` otherwise."""
    row = visible_row(
        session, actor, Observation, observation_id, ("observation", "检查检验结果"), reason
    )
    audit_read(session, actor, "observation", row, reason)
    return _observation_view(row)


def search_observations(
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
    report_id: uuid.UUID | None = None,
    critical: bool | None = None,
    sort: str = "-date",
    limit: int = 20,
    offset: int = 0,
    reason: str | None = None,
) -> tuple[int, list[ObservationView]]:
    """Observations in the actor's scope by resident, LOINC ``code`` (a panel's code finds the
    panel), category, status, effective date, encounter, report and critical flag; sorted by
    effective time (``-date`` newest first), with the total."""
    where = period(Observation.effective_at, date_from, date_to)
    if code is not None:
        where.append(Observation.code == code)
    if category is not None:
        where.append(
            Observation.category == checked_choice(category, OBSERVATION_CATEGORIES, "category")
        )
    if status is not None:
        where.append(
            Observation.status == checked_choice(status, tuple(OBSERVATION_STATUSES), "status")
        )
    if encounter_id is not None:
        where.append(Observation.encounter_id == encounter_id)
    if report_id is not None:
        where.append(Observation.report_id == report_id)
    if critical is not None:
        where.append(Observation.critical.is_(critical))
    total, rows = scoped_search(
        session,
        actor,
        Observation,
        Observation.effective_at,
        where,
        object_type="observation",
        resident_id=resident_id,
        sort=sort,
        limit=limit,
        offset=offset,
        reason=reason,
        detail=filters_text(resident=resident_id, code=code, category=category, status=status),
    )
    return total, [_observation_view(r) for r in rows]


def update_observation(
    session: Session, actor: Actor, observation_id: uuid.UUID, *, status: str
) -> ObservationView:
    """Change an observation's status: final -> amended -> entered-in-error (recorded in error)."""
    row = visible_row(session, actor, Observation, observation_id, ("observation", "检查检验结果"))
    writable_resident(session, actor, row.resident_id)
    row.status = checked_transition(row.status, status, OBSERVATION_STATUSES)
    session.flush()
    audit_change(session, actor, "update", "observation", row, f"status={status}")
    return _observation_view(row)
