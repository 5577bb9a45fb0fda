"""ServiceRequest: a referral, an imaging or lab order, or a procedure.

``category`` is SNOMED CT: 3457005 referral, 363679005 imaging, 108252007 lab, 71388002
procedure. ``code``: for a referral the department asked for (the national department
catalog, ``systems.DEPARTMENT``), for imaging and lab a LOINC code of the clinical code tables,
for a procedure its text (or a coding kept as given). ``reasonCode`` is ICD-10, ``performer``
the institution asked, ``requester`` the practitioner or institution asking. When completed,
the ``fulfilled-by`` extension names the Encounter it led to (the Encounter lists the request in
``basedOn``). An update may only complete (optionally naming that Encounter), revoke, or mark
entered in error.
"""

from __future__ import annotations

import uuid

from yigongti import clinical, registry
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import invalid
from yigongti.interop.fhir.resource import ResourceType, reference_id, register
from yigongti.interop.fhir.resources.elements import (
    actor_ids,
    answered,
    choice,
    compact,
    concept_code,
    day_bounds,
    instant,
    optional_id,
    page_of,
    parse_instant,
    patient_filter,
    patient_params,
    reference,
    sort_of,
    subject_id,
    token_code,
    with_fields,
)
from yigongti.interop.fhir.resources.encounter import diagnosis_concept
from yigongti.interop.fhir.resources.observation import loinc_concept
from yigongti.interop.fhir.search import Query, SearchParam

SNOMED = "http://snomed.info/sct"
FULFILLED_BY = f"{systems.BASE}/StructureDefinition/fulfilled-by"
_CATEGORY_OF = {
    "3457005": "referral",
    "363679005": "imaging",
    "108252007": "lab",
    "71388002": "procedure",
}
_SNOMED_OF = {ours: code for code, ours in _CATEGORY_OF.items()}
_CATEGORY_DISPLAY = {
    "referral": "Patient referral",
    "imaging": "Imaging",
    "lab": "Laboratory procedure",
    "procedure": "Procedure",
}
INTENTS = (
    "proposal",
    "plan",
    "directive",
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
)
STATUSES = ("active", "completed", "revoked", "entered-in-error")
_ELEMENTS = {
    "category": "category",
    "code": "code",
    "reason_code": "reasonCode",
    "performer_institution_id": "performer",
    "encounter_id": "encounter",
    "requester_institution_id": "requester",
    "requester_id": "requester",
    "intent": "intent",
    "authored_at": "authoredOn",
    "status": "status",
    "fulfilled_by_id": "extension",
}


@register
class ServiceRequestType(ResourceType):
    """ServiceRequest over ``clinical`` (service requests)."""

    name = "ServiceRequest"
    doc = "Referrals, imaging and lab orders, procedures (SNOMED CT categories)."
    writable = True
    search_params = (
        *patient_params(),
        SearchParam("code", "token", "department code (referral) or LOINC (imaging, lab)"),
        SearchParam("category", "token", f"{SNOMED}|3457005, 363679005, 108252007 or 71388002"),
        SearchParam("status", "token", " | ".join(STATUSES)),
        SearchParam("authored", "date", "when it was requested (eq, ge, le, gt, lt)"),
        SearchParam("encounter", "reference", "the visit it was made in", "encounter", "Encounter"),
        SearchParam("performer", "reference", "the institution asked", "performer", "Organization"),
    )
    sorts = ("authored",)
    date_param = "authored"

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The request, in scope and audited."""
        return request_of(
            clinical.get_service_request(ctx.session, ctx.actor, resource_id, ctx.reason)
        )

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Requests by patient, code, category, status, date, encounter and performer."""
        date_from, date_to = day_bounds(query, "authored")
        limit, offset = page_of(query)
        category = token_code(query, "category", SNOMED)
        total, views = with_fields(
            "ServiceRequest",
            _ELEMENTS,
            lambda: clinical.search_service_requests(
                ctx.session,
                ctx.actor,
                resident_id=patient_filter(query),
                code=token_code(query, "code"),
                category=_CATEGORY_OF.get(category, category) if category else None,
                status=token_code(query, "status"),
                date_from=date_from,
                date_to=date_to,
                encounter_id=query.reference("encounter"),
                performer_institution_id=query.reference("performer"),
                sort=sort_of(query),
                limit=limit,
                offset=offset,
                reason=ctx.reason,
            ),
        )
        return answered(query, total, [request_of(v) for v in views])

    def create(self, ctx: Context, resource: dict) -> uuid.UUID:
        """Record the request from the caller's institution."""
        new = _new_request(ctx, resource)
        return with_fields(
            "ServiceRequest",
            _ELEMENTS,
            lambda: clinical.record_service_request(ctx.session, ctx.actor, new),
        ).id

    def update(self, ctx: Context, resource_id: uuid.UUID, resource: dict) -> None:
        """Complete (naming the Encounter it led to), revoke, or mark entered in error."""
        current = clinical.get_service_request(ctx.session, ctx.actor, resource_id, ctx.reason)
        status = choice(resource.get("status"), STATUSES, "ServiceRequest.status")
        fulfilled_by = _fulfilled_by(resource)
        if status == current.status and fulfilled_by == current.fulfilled_by_id:
            return
        with_fields(
            "ServiceRequest",
            _ELEMENTS,
            lambda: clinical.update_service_request(
                ctx.session, ctx.actor, resource_id, status=status, fulfilled_by_id=fulfilled_by
            ),
        )


def _fulfilled_by(resource: dict) -> uuid.UUID | None:
    for extension in resource.get("extension") or []:
        if extension.get("url") == FULFILLED_BY:
            return reference_id(
                extension.get("valueReference"), "Encounter", "ServiceRequest.extension"
            )
    return None


def _new_request(ctx: Context, resource: dict) -> clinical.NewServiceRequest:
    choice(resource.get("status"), ("active",), "ServiceRequest.status")
    categories = resource.get("category") or []
    if not categories:
        raise invalid(
            "ServiceRequest.category is required (SNOMED CT: referral, imaging, lab, procedure)",
            "ServiceRequest.category 必填（SNOMED CT：转诊、影像、检验、操作）",
            "ServiceRequest.category",
        )
    category = _CATEGORY_OF[
        concept_code(categories[0], "ServiceRequest.category[0]", SNOMED, _CATEGORY_OF, "category")
    ]
    reasons = resource.get("reasonCode") or []
    requester, requester_institution = actor_ids(
        [(resource.get("requester"), "ServiceRequest.requester")]
    )
    performers = resource.get("performer") or []
    return clinical.NewServiceRequest(
        resident_id=subject_id(ctx, resource.get("subject"), "ServiceRequest.subject"),
        category=category,
        authored_at=parse_instant(resource.get("authoredOn"), "ServiceRequest.authoredOn"),  # type: ignore[arg-type]
        code=_code(category, resource.get("code")),
        text=(resource.get("code") or {}).get("text"),
        reason_code=concept_code(
            reasons[0], "ServiceRequest.reasonCode[0]", systems.ICD10, registry.icd10(), "ICD-10"
        )
        if reasons
        else None,
        performer_institution_id=optional_id(
            performers[0] if performers else None, "Organization", "ServiceRequest.performer[0]"
        ),
        encounter_id=optional_id(
            resource.get("encounter"), "Encounter", "ServiceRequest.encounter"
        ),
        requester_institution_id=requester_institution,
        requester_id=requester,
        intent=choice(resource.get("intent"), INTENTS, "ServiceRequest.intent"),
    )


def _code(category: str, concept: dict | None) -> str | None:
    """The requested service's code in the system its category binds."""
    if not (concept or {}).get("coding"):
        return None
    if category == "referral":
        return concept_code(
            concept,
            "ServiceRequest.code",
            systems.DEPARTMENT,
            registry.department_catalog(),
            "department",
        )
    if category in ("imaging", "lab"):
        known = {**clinical.observation_catalog(), **clinical.report_catalog()}
        return concept_code(concept, "ServiceRequest.code", systems.LOINC, known, "LOINC")
    return (concept or {})["coding"][0].get("code")


def _code_concept(view: clinical.ServiceRequestView) -> dict | None:
    if view.code is None:
        return {"text": view.text} if view.text else None
    if view.category == "referral":
        name = registry.department_catalog().get(view.code, {}).get("zh")
        coding = compact({"system": systems.DEPARTMENT, "code": view.code, "display": name})
        return compact({"coding": [coding], "text": view.text or name})
    if view.category in ("imaging", "lab"):
        concept = loinc_concept(view.code)
        return {**concept, "text": view.text} if view.text else concept
    return compact({"coding": [{"code": view.code}], "text": view.text})


def request_of(view: clinical.ServiceRequestView) -> dict:
    """A ``ServiceRequestView`` as a FHIR ServiceRequest."""
    snomed = _SNOMED_OF[view.category]
    requester = reference("Practitioner", view.requester_id) or reference(
        "Organization", view.requester_institution_id
    )
    return compact(
        {
            "resourceType": "ServiceRequest",
            "id": str(view.id),
            "extension": [
                {
                    "url": FULFILLED_BY,
                    "valueReference": reference("Encounter", view.fulfilled_by_id),
                }
            ]
            if view.fulfilled_by_id
            else None,
            "status": view.status,
            "intent": view.intent,
            "category": [
                {
                    "coding": [
                        {
                            "system": SNOMED,
                            "code": snomed,
                            "display": _CATEGORY_DISPLAY[view.category],
                        }
                    ]
                }
            ],
            "code": _code_concept(view),
            "subject": reference("Patient", view.resident_id),
            "encounter": reference("Encounter", view.encounter_id),
            "authoredOn": instant(view.authored_at),
            "requester": requester,
            "performer": [reference("Organization", view.performer_institution_id)]
            if view.performer_institution_id
            else None,
            "reasonCode": [diagnosis_concept(view.reason_code)] if view.reason_code else None,
        }
    )
