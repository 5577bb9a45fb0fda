"""What every use case of the clinical record shares: where a record is made and by whom, the
checks on its links, scoped reads and searches, and the audit of each.

Views: the use cases return frozen dataclass views (``<Thing>View``), never the table rows, so
callers (the FHIR mapping, the API) cannot change a record except through an ``update_*`` case.
"""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from yigongti.clinical.models import Encounter
from yigongti.db import page
from yigongti.db.bulk import among
from yigongti.kernel import SHANGHAI, Conflict, NotFound, invalid_field, now
from yigongti.registry import (
    get_institution,
    get_practitioner,
    icd10,
    in_resident_scope,
    visible_resident,
    visible_resident_id,
)
from yigongti.security import Actor, audit, roles

V = TypeVar("V")
MAX_PAGE = 100
SORTS = ("-date", "date")
CLOCK_SKEW = timedelta(minutes=5)  # a device clock a little ahead is not "the future"


def view_of(cls: type[V], row: object, **overrides: Any) -> V:
    """A frozen view of ``row`` made of the view's fields, some given as ``overrides``."""
    values = {f.name: getattr(row, f.name) for f in fields(cls) if f.name not in overrides}  # type: ignore[arg-type]
    return cls(**values, **overrides)


def view_of_values(cls: type[V], values: dict[str, Any], **overrides: Any) -> V:
    """A frozen view of a new row given as its column values (bulk paths)."""
    taken = {name: values[name] for name in _field_names(cls) if name not in overrides}
    return cls(**taken, **overrides)


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def writable_resident(session: Session, actor: Actor, resident_id: uuid.UUID) -> uuid.UUID:
    """The resident a record is written for: the actor may write records and see him."""
    actor.require(roles.RESIDENT_WRITE)
    return visible_resident_id(session, actor, resident_id)


def recording_institution(
    session: Session, actor: Actor, institution_id: uuid.UUID | None
) -> uuid.UUID:
    """Where a record is made: the actor's own institution unless he has none (a system feed)."""
    chosen = institution_id or actor.institution_id
    if chosen is None:
        raise invalid_field(
            "institution_id", "Name the institution the record comes from", "请填写记录所属机构"
        )
    if actor.institution_id is not None and chosen != actor.institution_id:
        raise invalid_field(
            "institution_id",
            "You record for your own institution only",
            "只能以本机构名义记录",
        )
    return checked_institution(session, chosen, "institution_id")


def checked_institution(session: Session, institution_id: uuid.UUID, field: str) -> uuid.UUID:
    """An institution that exists, or ``invalid_field(field)``."""
    try:
        return get_institution(session, institution_id).id
    except NotFound:
        raise invalid_field(field, "Unknown institution", "机构不存在") from None


def checked_practitioner(
    session: Session,
    actor: Actor,
    practitioner_id: uuid.UUID | None,
    institution_id: uuid.UUID,
    field: str,
) -> uuid.UUID | None:
    """The practitioner (by default the actor himself) if he works at ``institution_id``."""
    chosen = practitioner_id or actor.practitioner_id
    if chosen is None:
        return None
    try:
        practitioner = get_practitioner(session, chosen)
    except NotFound:
        raise invalid_field(field, "Unknown practitioner", "医务人员不存在") from None
    if practitioner.institution_id != institution_id:
        raise invalid_field(
            field,
            "The practitioner does not work at the recording institution",
            "该医务人员不属于记录机构",
        )
    return practitioner.id


def checked_encounter(
    session: Session,
    encounter_id: uuid.UUID | None,
    resident_id: uuid.UUID,
    field: str,
    residents: dict[uuid.UUID, uuid.UUID] | None = None,
) -> uuid.UUID | None:
    """An encounter of this resident, or ``invalid_field(field)``.

    ``residents``: each encounter's resident, asked once for a batch (``encounter_residents``);
    an encounter not in it is looked up as usual.
    """
    if encounter_id is None:
        return None
    if residents is not None and encounter_id in residents:
        held: uuid.UUID | None = residents[encounter_id]
    else:
        encounter = session.get(Encounter, encounter_id)
        held = encounter.resident_id if encounter is not None else None
    if held is None or held != resident_id:
        raise invalid_field(field, "No such encounter of this resident", "该居民无此就诊记录")
    return encounter_id


def encounter_residents(
    session: Session, encounter_ids: set[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The resident of each of these encounters (those that exist), in one query."""
    if not encounter_ids:
        return {}
    rows = session.execute(
        select(Encounter.id, Encounter.resident_id).where(
            among(session, Encounter.id, encounter_ids)
        )
    )
    return {encounter_id: resident_id for encounter_id, resident_id in rows}


def checked_diagnosis(code: str | None, field: str, *, required: bool = True) -> str | None:
    """An ICD-10 code of the catalog (``registry/data/icd10.json``)."""
    if code is None and not required:
        return None
    if code not in icd10():
        raise invalid_field(
            field,
            f"Unknown ICD-10 code {code!r}: use a code of the national clinical edition",
            f"ICD-10 编码 {code!r} 无效：请使用国家临床版编码",
        )
    return code


def checked_choice(value: str, choices: tuple[str, ...] | dict[str, Any], field: str) -> str:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise invalid_field(
            field,
            f"{field}: one of {', '.join(choices)}",
            f"{field} 须为以下之一：{'、'.join(choices)}",
        )
    return value


def checked_time(value: datetime, field: str) -> datetime:
    """A timezone-aware instant that is not in the future."""
    if value.tzinfo is None:
        raise invalid_field(field, "Give the time with its time zone", "时间须带时区（如 +08:00）")
    if value > now() + CLOCK_SKEW:
        raise invalid_field(field, "The time is in the future", "时间不能晚于当前时间")
    return value


def checked_transition(
    current: str, wanted: str, allowed: dict[str, tuple[str, ...]], field: str = "status"
) -> str:
    """``wanted`` if a record may go there from ``current``; a known status it may not reach is a
    ``Conflict``."""
    every = set(allowed) | {s for targets in allowed.values() for s in targets}
    if wanted not in every:
        raise invalid_field(
            field, f"{field}: one of {', '.join(sorted(every))}", f"{field} 取值无效"
        )
    if wanted not in allowed.get(current, ()):
        raise Conflict(
            en=f"A record with status {current} cannot become {wanted}",
            zh=f"状态为 {current} 的记录不能改为 {wanted}",
        )
    return wanted


def visible_row(
    session: Session,
    actor: Actor,
    model: type[V],
    row_id: uuid.UUID,
    what: tuple[str, str],
    reason: str | None = None,
) -> V:
    """A record whose resident the actor may see; ``NotFound`` otherwise, without a hint that it
    exists. ``what`` names the record (en, zh) in the message."""
    row = session.get(model, row_id)
    if row is not None:
        try:
            visible_resident(session, actor, row.resident_id, reason)  # type: ignore[attr-defined]
            return row
        except NotFound:
            pass
    raise NotFound(en=f"No such {what[0]} in your scope", zh=f"您的权限范围内无此{what[1]}")


def audit_read(
    session: Session, actor: Actor, object_type: str, row: Any, reason: str | None
) -> None:
    """One audit row for reading a record of a person."""
    audit.record(
        session, actor, "read", object_type, row.id, person_id=row.resident_id, reason=reason
    )


def audit_change(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    row: Any,
    detail: str | None = None,
) -> None:
    """One audit row for creating or changing a record of a person."""
    audit.record(
        session, actor, action, object_type, row.id, person_id=row.resident_id, detail=detail
    )


def audit_created(
    session: Session,
    actor: Actor,
    object_type: str,
    values: dict[str, Any],
    detail: str | None = None,
) -> None:
    """One audit row for a record created from column values (bulk paths), as ``audit_change``
    writes for a created row."""
    audit.record(
        session,
        actor,
        "create",
        object_type,
        values["id"],
        person_id=values["resident_id"],
        detail=detail,
    )


def _instant(value: date | datetime, end: bool) -> datetime:
    """A bound as an instant: a date is its day in China time, through its end for ``end``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


def period(
    column: InstrumentedAttribute[Any],
    date_from: date | datetime | None,
    date_to: date | datetime | None,
    *,
    by_day: bool = False,
) -> list[ColumnElement[bool]]:
    """Conditions keeping ``column`` within ``[date_from, date_to]``; a date bound covers its day.

    ``by_day``: the column holds dates (not instants), compared as China-time days.
    """
    where: list[ColumnElement[bool]] = []
    if by_day:
        if date_from is not None:
            where.append(column >= _day(date_from))
        if date_to is not None:
            where.append(column <= _day(date_to))
        return where
    if date_from is not None:
        where.append(column >= _instant(date_from, end=False))
    if date_to is not None:
        bound = _instant(date_to, end=True)
        where.append(column < bound if not isinstance(date_to, datetime) else column <= bound)
    return where


def _day(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return (
            (value if value.tzinfo else value.replace(tzinfo=SHANGHAI)).astimezone(SHANGHAI).date()
        )
    return value


def scoped_search(
    session: Session,
    actor: Actor,
    model: type[V],
    when: InstrumentedAttribute[Any],
    where: list[ColumnElement[bool]],
    *,
    object_type: str,
    resident_id: uuid.UUID | None,
    sort: str,
    limit: int,
    offset: int,
    reason: str | None,
    detail: str,
) -> tuple[int, list[V]]:
    """Rows of ``model`` matching ``where`` whose resident the actor may see, a page of them and
    the total, sorted by ``when`` (``-date`` newest first); one ``search`` audit row.

    A resident outside the actor's scope matches nothing (no hint that he exists).
    """
    checked_choice(sort, SORTS, "sort")
    if not 1 <= limit <= MAX_PAGE:
        raise invalid_field("limit", f"limit: 1 to {MAX_PAGE}", f"每页条数须为 1 至 {MAX_PAGE}")
    if offset < 0:
        raise invalid_field("offset", "offset: 0 or more", "偏移量不能为负数")
    resident_col = model.resident_id  # type: ignore[attr-defined]
    conditions = [*where, in_resident_scope(session, actor, resident_col, reason)]
    if resident_id is not None:
        conditions.append(resident_col == resident_id)
    order = when.desc() if sort == "-date" else when.asc()
    statement: Select[Any] = select(model).where(*conditions).order_by(order, model.id)  # type: ignore[attr-defined]
    total, rows = page(session, statement, limit, offset)
    audit.record(
        session,
        actor,
        "search",
        object_type,
        person_id=resident_id if total else None,
        reason=reason,
        detail=f"{detail} hits={total}",
    )
    return total, rows


def filters_text(**filters: object) -> str:
    """The filters of a search as audit detail (those given only)."""
    return " ".join(f"{k}={v}" for k, v in filters.items() if v is not None)
