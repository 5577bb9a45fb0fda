"""``Patient/[id]/$everything``: the resident's record across every institution of the county.

A searchset Bundle of the Patient, then his Encounters, Conditions, Observations,
DiagnosticReports, Immunizations, MedicationRequests and ServiceRequests, then the Organizations
and Practitioners they refer to (when those types are served). Everything is read through the
services, so the caller's scope applies (a resident he may not see is a 404) and each read or
search is audited. ``start`` and ``end`` (dates) keep the records of that period; ``_type``
keeps the listed types.
"""

from __future__ import annotations

from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import FhirError, fhir_error, invalid
from yigongti.interop.fhir.resource import (
    RESOURCE_TYPES,
    Answer,
    OperationCall,
    all_references,
    parse_id,
    register_operation,
)
from yigongti.interop.fhir.search import MAX_COUNT, parse_query
from yigongti.interop.fhir.versions import with_meta
from yigongti.kernel import DomainError

RECORD_TYPES = (
    "Encounter",
    "Condition",
    "Observation",
    "DiagnosticReport",
    "Immunization",
    "MedicationRequest",
    "ServiceRequest",
)
REFERRED_TYPES = ("Organization", "Practitioner")
MOST_ENTRIES = 10_000  # a record larger than this is asked for by _type or period
_PARAMS = ("start", "end", "_type")


@register_operation(
    "everything",
    resource_type="Patient",
    instance=True,
    methods=("GET",),
    doc="The resident's record across institutions, within the caller's scope; "
    "start, end (dates) and _type narrow it.",
)
def patient_everything(ctx: Context, call: OperationCall) -> Answer:
    """The Patient and his record as a searchset Bundle."""
    given = _parameters(call.items)
    patient_id = parse_id("Patient", call.resource_id or "")
    patient = RESOURCE_TYPES["Patient"].read(ctx, patient_id)
    found = [patient]
    for name in _types(given.get("_type")):
        found += _record_of(ctx, name, str(patient_id), given)
        if len(found) > MOST_ENTRIES:
            raise fhir_error(
                413,
                "too-costly",
                f"The record holds over {MOST_ENTRIES} resources; narrow it by _type or start/end",
                f"该档案超过 {MOST_ENTRIES} 条，请用 _type 或 start/end 缩小范围",
            )
    entries = [_entry(ctx, r, "match") for r in found]
    if "_type" not in given:  # _type keeps only the listed types
        entries += [_entry(ctx, r, "include") for r in _referred(ctx, found)]
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(found)}
    return Answer(200, {**bundle, "entry": entries})


def _parameters(items: list[tuple[str, str]]) -> dict[str, str]:
    given: dict[str, str] = {}
    for name, value in items:
        if name not in _PARAMS:
            raise invalid(
                f"$everything takes {', '.join(_PARAMS)}, not '{name}'",
                f"$everything 仅接受参数 {'、'.join(_PARAMS)}，不支持 '{name}'",
                name,
            )
        given[name] = value
    return given


def _types(wanted: str | None) -> list[str]:
    served = [t for t in RECORD_TYPES if t in RESOURCE_TYPES]
    if wanted is None:
        return served
    names = [n for n in wanted.split(",") if n]
    unknown = [n for n in names if n not in served and n != "Patient"]
    if unknown:
        raise invalid(
            f"_type: {', '.join(unknown)} not part of $everything; use {', '.join(served)}",
            f"_type 不支持 {'、'.join(unknown)}",
            "_type",
        )
    return [t for t in served if t in names]


def _record_of(ctx: Context, name: str, patient_id: str, given: dict[str, str]) -> list[dict]:
    """Every resource of type ``name`` about the resident, page by page."""
    kind = RESOURCE_TYPES[name]
    items = [("patient", patient_id)]
    date_param = getattr(kind, "date_param", None)
    if date_param and "start" in given:
        items.append((date_param, f"ge{given['start']}"))
    if date_param and "end" in given:
        items.append((date_param, f"le{given['end']}"))
    query = parse_query(name, kind.search_params, kind.sorts, items)
    query.count = min(MAX_COUNT, 100)
    found: list[dict] = []
    while True:
        total, page = kind.search(ctx, query)
        found += page
        query.offset += query.count
        if not page or query.offset >= total or len(found) > MOST_ENTRIES:
            return found


def _referred(ctx: Context, found: list[dict]) -> list[dict]:
    """The Organizations and Practitioners ``found`` refers to that the caller may read."""
    wanted: list[str] = []
    for resource in found[1:]:
        for text in all_references(resource):
            kind, _, ident = text.partition("/")
            if kind in REFERRED_TYPES and kind in RESOURCE_TYPES and text not in wanted:
                wanted.append(text)
    referred = []
    for text in wanted:
        kind, _, ident = text.partition("/")
        try:
            referred.append(RESOURCE_TYPES[kind].read(ctx, parse_id(kind, ident)))
        except (DomainError, FhirError):
            continue  # not readable by the caller: left out, without a hint
    return referred


def _entry(ctx: Context, resource: dict, mode: str) -> dict:
    return {
        "fullUrl": ctx.full_url(resource["resourceType"], resource["id"]),
        "resource": with_meta(ctx.session, resource),
        "search": {"mode": mode},
    }
