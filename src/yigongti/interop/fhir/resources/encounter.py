"""Encounter: a visit of the shared record (就诊记录), at any institution of the county.

``class`` is the v3 ActCode AMB (outpatient), EMER (emergency) or IMP (inpatient);
``serviceProvider`` the institution, ``participant`` the practitioner, ``reasonCode`` the ICD-10
diagnosis, ``period`` the visit's start and end (status ``finished`` once it has ended).

A referred visit carries the ``referral-direction`` extension (``up`` or ``down``) and
``hospitalization.origin``, the institution it was referred from; ``basedOn`` lists the referral
ServiceRequests the visit completed. An update may only end the visit (status ``finished`` with
``period.end``); everything else is as recorded.
"""

from __future__ import annotations

import uuid

from yigongti import clinical, registry
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import FhirError, invalid
from yigongti.interop.fhir.resource import ResourceType, created_in_bulk, register
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
    searched,
    sort_of,
    subject_id,
    token_code,
    with_fields,
)
from yigongti.interop.fhir.search import Query, SearchParam

_KIND_OF_CLASS = {"AMB": "outpatient", "EMER": "emergency", "IMP": "inpatient"}
_CLASS_OF_KIND = {kind: code for code, kind in _KIND_OF_CLASS.items()}
_CLASS_DISPLAY = {"AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient encounter"}
_ELEMENTS = {
    "kind": "class",
    "started_at": "period.start",
    "ended_at": "period.end",
    "diagnosis_code": "reasonCode",
    "institution_id": "serviceProvider",
    "practitioner_id": "participant",
    "department_id": "serviceType",
    "referral": "extension",
    "referred_from_id": "hospitalization.origin",
}


def diagnosis_concept(code: str) -> dict:
    """An ICD-10 diagnosis as a CodeableConcept with its Chinese name."""
    name = registry.icd10().get(code, {}).get("zh")
    coding = compact({"system": systems.ICD10, "code": code, "display": name})
    return compact({"coding": [coding], "text": name})


@register
class EncounterType(ResourceType):
    """Encounter over ``clinical`` (encounters)."""

    name = "Encounter"
    doc = (
        "Visits at every institution of the county; class AMB/EMER/IMP, reasonCode ICD-10; "
        "referral as extension referral-direction and hospitalization.origin."
    )
    writable = True
    search_params = (
        *patient_params(),
        SearchParam("date", "date", "start of the visit (eq, ge, le, gt, lt)"),
        SearchParam("class", "token", f"{systems.ACT_CODE}|AMB, EMER or IMP"),
        SearchParam("status", "token", "in-progress | finished"),
        SearchParam("reason-code", "token", f"{systems.ICD10}|<ICD-10 code>"),
        SearchParam(
            "service-provider",
            "reference",
            "the institution (Organization)",
            "serviceProvider",
            "Organization",
        ),
    )
    sorts = ("date",)
    date_param = "date"

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The encounter, in scope and audited."""
        view = clinical.get_encounter(ctx.session, ctx.actor, resource_id, ctx.reason)
        return self.resource_of(ctx, view)

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Encounters by patient, start date, class, status, diagnosis and institution."""
        date_from, date_to = day_bounds(query, "date")
        limit, offset = page_of(query)
        class_code = token_code(query, "class", systems.ACT_CODE)
        total, views = searched(
            lambda: clinical.search_encounters(
                ctx.session,
                ctx.actor,
                resident_id=patient_filter(query),
                code=token_code(query, "reason-code", systems.ICD10),
                category=_KIND_OF_CLASS[choice(class_code, _KIND_OF_CLASS, "class")]
                if class_code
                else None,
                status=token_code(query, "status"),
                date_from=date_from,
                date_to=date_to,
                institution_id=query.reference("service-provider"),
                sort=sort_of(query),
                limit=limit,
                offset=offset,
                reason=ctx.reason,
            ),
            {"category": "class"},
        )
        return answered(query, total, [self.resource_of(ctx, v) for v in views])

    def create(self, ctx: Context, resource: dict) -> uuid.UUID:
        """Record the visit the Encounter describes at the caller's institution."""
        new = _new_encounter(ctx, resource)
        view = with_fields(
            "Encounter", _ELEMENTS, lambda: clinical.record_encounter(ctx.session, ctx.actor, new)
        )
        return view.id

    def create_many(self, ctx: Context, resources: list[dict]) -> list[uuid.UUID | FhirError]:
        """Record many encounters in one go (bulk import); per resource its id or its error."""
        return created_in_bulk(
            resources,
            lambda r: _new_encounter(ctx, r),
            lambda news: clinical.record_encounters(ctx.session, ctx.actor, news),
            "Encounter",
            _ELEMENTS,
        )

    def update(self, ctx: Context, resource_id: uuid.UUID, resource: dict) -> None:
        """End the visit: status ``finished`` with ``period.end``; nothing else changes."""
        current = clinical.get_encounter(ctx.session, ctx.actor, resource_id, ctx.reason)
        status = choice(resource.get("status"), ("in-progress", "finished"), "Encounter.status")
        if status == current.status:
            return
        if status == "in-progress":
            raise invalid(
                "A finished Encounter cannot be reopened",
                "已结束的就诊不能重新开始",
                "Encounter.status",
            )
        ended = parse_instant((resource.get("period") or {}).get("end"), "Encounter.period.end")
        with_fields(
            "Encounter",
            _ELEMENTS,
            lambda: clinical.update_encounter(ctx.session, ctx.actor, resource_id, ended_at=ended),
        )

    def resource_of(self, ctx: Context, view: clinical.EncounterView) -> dict:
        """An ``EncounterView`` as a FHIR Encounter."""
        code = _CLASS_OF_KIND[view.kind]
        encounter = {
            "resourceType": "Encounter",
            "id": str(view.id),
            "status": view.status,
            "class": {"system": systems.ACT_CODE, "code": code, "display": _CLASS_DISPLAY[code]},
            "subject": reference("Patient", view.resident_id),
            "participant": [{"individual": reference("Practitioner", view.practitioner_id)}]
            if view.practitioner_id
            else None,
            "period": compact({"start": instant(view.started_at), "end": instant(view.ended_at)}),
            "reasonCode": [diagnosis_concept(view.diagnosis_code)],
            "serviceProvider": reference("Organization", view.institution_id),
        }
        if view.referral:
            encounter["extension"] = [
                {"url": systems.REFERRAL_DIRECTION, "valueCode": view.referral}
            ]
            encounter["basedOn"] = _referrals_completed(ctx, view) or None
        if view.referred_from_id:
            encounter["hospitalization"] = {
                "origin": reference("Organization", view.referred_from_id)
            }
        return compact(encounter)


def _referrals_completed(ctx: Context, view: clinical.EncounterView) -> list[dict]:
    _, requests = clinical.search_service_requests(
        ctx.session,
        ctx.actor,
        resident_id=view.resident_id,
        category="referral",
        fulfilled_by_id=view.id,
        reason=ctx.reason,
    )
    return [reference("ServiceRequest", r.id) for r in requests]  # type: ignore[misc]


def _new_encounter(ctx: Context, resource: dict) -> clinical.NewEncounter:
    resident_id = subject_id(ctx, resource.get("subject"), "Encounter.subject")
    status = choice(resource.get("status"), ("in-progress", "finished"), "Encounter.status")
    period = resource.get("period") or {}
    started = parse_instant(period.get("start"), "Encounter.period.start")
    ended = parse_instant(period.get("end"), "Encounter.period.end", required=False)
    if (status == "finished") != (ended is not None):
        raise invalid(
            "A finished Encounter has period.end; one in progress has none",
            "已结束的就诊须有 period.end，进行中的就诊不应有",
            "Encounter.period.end",
        )
    class_coding = resource.get("class") or {}
    if class_coding.get("system") != systems.ACT_CODE:
        raise invalid(
            f"Encounter.class must be coded in {systems.ACT_CODE}",
            f"Encounter.class 须使用 {systems.ACT_CODE} 编码",
            "Encounter.class.system",
        )
    kind = _KIND_OF_CLASS.get(
        choice(class_coding.get("code"), _KIND_OF_CLASS, "Encounter.class.code")
    )
    reasons = resource.get("reasonCode") or []
    if not reasons:
        raise invalid(
            "Encounter.reasonCode (the ICD-10 diagnosis) is required",
            "Encounter.reasonCode（ICD-10 诊断）必填",
            "Encounter.reasonCode",
        )
    diagnosis = concept_code(
        reasons[0], "Encounter.reasonCode[0]", systems.ICD10, registry.icd10(), "ICD-10"
    )
    participants = resource.get("participant") or []
    practitioner, _ = actor_ids(
        [
            (p.get("individual"), f"Encounter.participant[{i}].individual")
            for i, p in enumerate(participants)
        ]
    )
    institution = optional_id(
        resource.get("serviceProvider"), "Organization", "Encounter.serviceProvider"
    )
    origin = (resource.get("hospitalization") or {}).get("origin")
    referred_from = optional_id(origin, "Organization", "Encounter.hospitalization.origin")
    return clinical.NewEncounter(
        resident_id=resident_id,
        kind=kind or "",
        started_at=started,  # type: ignore[arg-type]
        ended_at=ended,
        diagnosis_code=diagnosis,
        institution_id=institution,
        practitioner_id=practitioner,
        referral=_referral(resource),
        referred_from_id=referred_from,
    )


def _referral(resource: dict) -> str | None:
    for extension in resource.get("extension") or []:
        if extension.get("url") == systems.REFERRAL_DIRECTION:
            return choice(extension.get("valueCode"), ("up", "down"), "Encounter.extension")
    return None
