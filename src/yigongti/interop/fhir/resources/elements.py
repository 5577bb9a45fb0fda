"""FHIR elements the clinical record's resources share: references, codings, instants, search
filters, and the placing of a service's field errors on the resource's elements.

Every mapping of the shared record (Encounter, Condition, Observation, ...) reads its incoming
JSON with these helpers, so a bad code, unit or reference is refused the same way everywhere:
a 400 OperationOutcome whose ``expression`` names the element, before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Container
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from yigongti import registry
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import FhirError, Issue, invalid
from yigongti.interop.fhir.resource import reference_id
from yigongti.interop.fhir.search import Query, SearchParam
from yigongti.kernel import SHANGHAI, Invalid, NotFound

T = TypeVar("T")
PAGE_MOST = 100  # the clinical services' largest page

# Where a record was made, on resources that have no element of their own for it.


def patient_params(path: str = "subject") -> tuple[SearchParam, ...]:
    """The ``patient`` and ``subject`` parameters of a resource about one resident."""
    return (
        SearchParam("patient", "reference", "the resident (Patient)", path, "Patient"),
        SearchParam("subject", "reference", "the resident (Patient)", path, "Patient"),
    )


def reference(target: str, resource_id: uuid.UUID | None) -> dict | None:
    """``{"reference": "Type/id"}``, or None without an id."""
    return {"reference": f"{target}/{resource_id}"} if resource_id else None


def instant(value: datetime | None) -> str | None:
    """An aware instant as a FHIR dateTime/instant (China time)."""
    return value.astimezone(SHANGHAI).isoformat() if value else None


def parse_instant(text: object, expression: str, *, required: bool = True) -> datetime | None:
    """A FHIR dateTime as an aware instant (a bare date is its China-time midnight)."""
    if text is None and not required:
        return None
    if not isinstance(text, str) or not text:
        raise invalid(f"{expression} is required", f"{expression} 必填", expression)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=SHANGHAI)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(
            f"{expression} must be a date-time like 2025-06-30T09:30:00+08:00",
            f"{expression} 应为日期时间，如 2025-06-30T09:30:00+08:00",
            expression,
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


def parse_day(text: object, expression: str) -> date:
    """A FHIR date or dateTime as a China-time calendar day."""
    moment = parse_instant(text, expression)
    assert moment is not None
    return moment.astimezone(SHANGHAI).date()


def subject_id(ctx: Context, value: dict | None, expression: str) -> uuid.UUID:
    """The resident a resource is about; a 400 at ``expression`` when he is not in scope."""
    resident_id = reference_id(value, "Patient", expression)
    try:
        registry.visible_resident_id(ctx.session, ctx.actor, resident_id, ctx.reason)
    except NotFound:
        raise invalid(
            f"{expression}: Patient/{resident_id} does not exist or is outside your scope",
            f"{expression}：Patient/{resident_id} 不存在或不在您的权限范围内",
            expression,
        ) from None
    return resident_id


def optional_id(value: dict | None, target: str, expression: str) -> uuid.UUID | None:
    """The id of an optional reference to a ``target`` resource."""
    return reference_id(value, target, expression) if value else None


def actor_ids(
    values: list[tuple[dict | None, str]],
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The practitioner and the institution among references ``(value, expression)`` that may
    each point to a Practitioner or an Organization (performer, requester, participant)."""
    practitioner = institution = None
    for value, expression in values:
        if not value:
            continue
        text = value.get("reference") or ""
        target = "Organization" if text.startswith("Organization/") else "Practitioner"
        found = reference_id(value, target, expression)
        if target == "Organization":
            institution = found
        else:
            practitioner = found
    return practitioner, institution


def concept_code(
    concept: dict | None, expression: str, system: str, known: Container[str], what: str
) -> str:
    """The code of ``concept``'s coding in ``system``, which must be one of ``known``.

    The error names the coding (``Observation.code.coding[0].code``).
    """
    codings = (concept or {}).get("coding") or []
    for index, coding in enumerate(codings):
        if coding.get("system") != system:
            continue
        code = coding.get("code")
        if code not in known:
            where = f"{expression}.coding[{index}].code"
            raise invalid(
                f"{where}: '{code}' is not a {what} code this server accepts ({system})",
                f"{where}：'{code}' 不是本服务器接受的{what}编码（{system}）",
                where,
            )
        return code  # type: ignore[no-any-return]
    raise invalid(
        f"{expression} needs a coding with system {system}",
        f"{expression} 须含 system 为 {system} 的编码",
        f"{expression}.coding",
    )


def choice(value: object, allowed: Container[str], expression: str) -> str:
    """``value`` if it is one of the codes ``allowed`` at ``expression``."""
    if not isinstance(value, str) or value not in allowed:
        shown = ", ".join(sorted(allowed)) if isinstance(allowed, (dict, tuple, set)) else ""
        raise invalid(
            f"{expression}: '{value}' is not supported here; use one of {shown}",
            f"{expression}：不支持 '{value}'，可用 {shown}",
            expression,
        )
    return value


def with_fields(resource_type: str, elements: dict[str, str], call: Callable[[], T]) -> T:
    """Run a service call, placing its field errors on the resource's elements."""
    try:
        return call()
    except Invalid as error:
        issues = [
            Issue("invalid", f.en, f.zh, f"{resource_type}.{elements.get(f.field, f.field)}")
            for f in error.fields
        ]
        raise FhirError(400, issues or [Issue("invalid", error.en, error.zh)]) from None


def searched(call: Callable[[], T], params: dict[str, str] | None = None) -> T:
    """Run a service's search, placing its field errors on the search parameters (a service's
    ``category`` is the ``params``' name for it, ``category`` unless given)."""
    names = {"sort": "_sort", "limit": "_count", "offset": "_getpagesoffset", **(params or {})}
    try:
        return call()
    except Invalid as error:
        issues = [Issue("invalid", f.en, f.zh, names.get(f.field, f.field)) for f in error.fields]
        raise FhirError(400, issues or [Issue("invalid", error.en, error.zh)]) from None


def patient_filter(query: Query) -> uuid.UUID | None:
    """The resident a search is restricted to (``patient`` or ``subject``)."""
    return query.reference("patient") or query.reference("subject")


def day_bounds(query: Query, name: str) -> tuple[datetime | None, datetime | None]:
    """The ``date_from``/``date_to`` (inclusive) of a date parameter, for the services."""
    found = query.date(name)
    if found is None:
        return None, None
    last = found.end - timedelta(microseconds=1) if found.end else None
    return found.start, last


def page_of(query: Query) -> tuple[int, int]:
    """The services' ``limit`` and ``offset`` (at least one row is asked for a count)."""
    return max(1, min(query.count, PAGE_MOST)), query.offset


def sort_of(query: Query) -> str:
    """The services' sort (``-date`` newest first, the default, or ``date``)."""
    return "date" if query.sort and not query.sort[0][1] else "-date"


def token_code(query: Query, name: str, system: str | None = None) -> str | None:
    """The code of a token parameter; a given system must be ``system``."""
    token = query.token(name)
    if token is None:
        return None
    if token.system is not None and system is not None and token.system != system:
        raise invalid(
            f"'{name}' codes are of system {system}, not {token.system}",
            f"检索参数 '{name}' 的编码体系应为 {system}",
            name,
        )
    return token.code


def answered(query: Query, total: int, resources: list[dict]) -> tuple[int, list[dict]]:
    """The total and the page (none when only the count was asked)."""
    return total, ([] if query.count == 0 else resources)


def recording_institution(resource: dict) -> uuid.UUID | None:
    """The institution named by the ``recording-institution`` extension, if any."""
    for extension in resource.get("extension") or []:
        if extension.get("url") == systems.RECORDING_INSTITUTION:
            where = f"{resource.get('resourceType')}.extension"
            return reference_id(extension.get("valueReference"), "Organization", where)
    return None


def institution_extension(institution_id: uuid.UUID) -> dict:
    """The ``recording-institution`` extension naming ``institution_id``."""
    return {
        "url": systems.RECORDING_INSTITUTION,
        "valueReference": reference("Organization", institution_id),
    }


def compact(resource: dict) -> dict:
    """``resource`` without its empty elements (FHIR forbids empty values)."""
    return {k: v for k, v in resource.items() if v not in (None, [], {}, "")}
