"""Immunization: a vaccine dose given (or not given) to a resident.

``vaccineCode`` is coded in the programme's vaccine system (``clinical.VACCINE_SYSTEM``, short
names such as HepB, BCG, IPV; the CVX code is given beside it on output); the dose number is
``protocolApplied[0].doseNumberPositiveInt``; a dose not given (``not-done``) says why in
``statusReason`` (v3 ActReason IMMUNE, MEDPREC, OSTOCK, PATOBJ). ``performer`` lists the
vaccinator (function AP) and the institution. An update may only mark the dose entered in error.
"""

from __future__ import annotations

import uuid

from yigongti import clinical
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import invalid
from yigongti.interop.fhir.resource import ResourceType, register
from yigongti.interop.fhir.resources.elements import (
    actor_ids,
    answered,
    choice,
    compact,
    concept_code,
    day_bounds,
    instant,
    page_of,
    parse_day,
    reference,
    sort_of,
    subject_id,
    token_code,
    with_fields,
)
from yigongti.interop.fhir.search import Query, SearchParam

CVX = "http://hl7.org/fhir/sid/cvx"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
NOT_DONE_REASONS = ("IMMUNE", "MEDPREC", "OSTOCK", "PATOBJ")
FUNCTION = "http://terminology.hl7.org/CodeSystem/v2-0443"
STATUSES = ("completed", "not-done", "entered-in-error")
_ELEMENTS = {
    "vaccine_code": "vaccineCode.coding[0].code",
    "dose_number": "protocolApplied[0].doseNumberPositiveInt",
    "occurred_on": "occurrenceDateTime",
    "status": "status",
    "status_reason": "statusReason",
    "institution_id": "performer",
    "practitioner_id": "performer",
}


@register
class ImmunizationType(ResourceType):
    """Immunization over ``clinical`` (immunizations)."""

    name = "Immunization"
    doc = "Vaccine doses of the immunization programme (vaccine codes with CVX beside them)."
    writable = True
    search_params = (
        SearchParam("patient", "reference", "the resident (Patient)", "patient", "Patient"),
        SearchParam("vaccine-code", "token", f"{clinical.VACCINE_SYSTEM}|<vaccine>"),
        SearchParam("status", "token", " | ".join(STATUSES)),
        SearchParam("date", "date", "day of the dose (eq, ge, le, gt, lt)"),
    )
    sorts = ("date",)
    date_param = "date"

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The dose, in scope and audited."""
        return immunization_of(
            clinical.get_immunization(ctx.session, ctx.actor, resource_id, ctx.reason)
        )

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Doses by patient, vaccine, status and date."""
        date_from, date_to = day_bounds(query, "date")
        limit, offset = page_of(query)
        total, views = with_fields(
            "Immunization",
            _ELEMENTS,
            lambda: clinical.search_immunizations(
                ctx.session,
                ctx.actor,
                resident_id=query.reference("patient"),
                code=token_code(query, "vaccine-code", clinical.VACCINE_SYSTEM),
                status=token_code(query, "status"),
                date_from=date_from,
                date_to=date_to,
                sort=sort_of(query),
                limit=limit,
                offset=offset,
                reason=ctx.reason,
            ),
        )
        return answered(query, total, [immunization_of(v) for v in views])

    def create(self, ctx: Context, resource: dict) -> uuid.UUID:
        """Record the dose at the caller's institution."""
        new = _new_immunization(ctx, resource)
        return with_fields(
            "Immunization",
            _ELEMENTS,
            lambda: clinical.record_immunization(ctx.session, ctx.actor, new),
        ).id

    def update(self, ctx: Context, resource_id: uuid.UUID, resource: dict) -> None:
        """Mark the dose entered in error; nothing else changes."""
        current = clinical.get_immunization(ctx.session, ctx.actor, resource_id, ctx.reason)
        status = choice(resource.get("status"), STATUSES, "Immunization.status")
        if status != current.status:
            with_fields(
                "Immunization",
                _ELEMENTS,
                lambda: clinical.update_immunization(
                    ctx.session, ctx.actor, resource_id, status=status
                ),
            )


def _new_immunization(ctx: Context, resource: dict) -> clinical.NewImmunization:
    status = choice(resource.get("status"), ("completed", "not-done"), "Immunization.status")
    reason = None
    if resource.get("statusReason"):
        reason = concept_code(
            resource["statusReason"],
            "Immunization.statusReason",
            ACT_REASON,
            NOT_DONE_REASONS,
            "reason for a dose not given",
        )
    protocols = resource.get("protocolApplied") or []
    dose = (protocols[0] if protocols else {}).get("doseNumberPositiveInt")
    if dose is None:
        raise invalid(
            "Immunization.protocolApplied[0].doseNumberPositiveInt (the dose number) is required",
            "Immunization.protocolApplied[0].doseNumberPositiveInt（剂次）必填",
            "Immunization.protocolApplied[0].doseNumberPositiveInt",
        )
    practitioner, institution = actor_ids(
        [
            (p.get("actor"), f"Immunization.performer[{i}].actor")
            for i, p in enumerate(resource.get("performer") or [])
        ]
    )
    return clinical.NewImmunization(
        resident_id=subject_id(ctx, resource.get("patient"), "Immunization.patient"),
        vaccine_code=concept_code(
            resource.get("vaccineCode"),
            "Immunization.vaccineCode",
            clinical.VACCINE_SYSTEM,
            clinical.vaccine_catalog(),
            "vaccine",
        ),
        dose_number=int(dose),
        occurred_on=parse_day(
            resource.get("occurrenceDateTime"), "Immunization.occurrenceDateTime"
        ),
        lot_number=resource.get("lotNumber"),
        status=status,
        status_reason=reason,
        institution_id=institution,
        practitioner_id=practitioner,
    )


def _vaccine_concept(code: str) -> dict:
    entry = clinical.vaccine_catalog().get(code, {})
    codings = [
        compact({"system": clinical.VACCINE_SYSTEM, "code": code, "display": entry.get("zh")})
    ]
    if entry.get("cvx"):
        codings.append(compact({"system": CVX, "code": entry["cvx"], "display": entry.get("en")}))
    return compact({"coding": codings, "text": entry.get("zh")})


def immunization_of(view: clinical.ImmunizationView) -> dict:
    """An ``ImmunizationView`` as a FHIR Immunization."""
    performers = [{"actor": reference("Organization", view.institution_id)}]
    if view.practitioner_id:
        administering = {"coding": [{"system": FUNCTION, "code": "AP"}]}
        performers.insert(
            0, {"function": administering, "actor": reference("Practitioner", view.practitioner_id)}
        )
    return compact(
        {
            "resourceType": "Immunization",
            "id": str(view.id),
            "status": view.status,
            "statusReason": {"coding": [{"system": ACT_REASON, "code": view.status_reason}]}
            if view.status_reason
            else None,
            "vaccineCode": _vaccine_concept(view.vaccine_code),
            "patient": reference("Patient", view.resident_id),
            "occurrenceDateTime": view.occurred_on.isoformat(),
            "recorded": instant(view.recorded_at),
            "lotNumber": view.lot_number,
            "performer": performers,
            "protocolApplied": [{"doseNumberPositiveInt": view.dose_number}],
        }
    )
