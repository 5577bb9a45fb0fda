"""Condition: a diagnosis on the resident's problem list (ICD-10, the national clinical edition).

The problem list holds confirmed, active diagnoses: ``clinicalStatus`` active,
``verificationStatus`` confirmed, category ``problem-list-item``; the institution that recorded
it is the ``recording-institution`` extension. The record has no later changes, so a Condition
is created and read but not updated.
"""

from __future__ import annotations

import uuid

from yigongti import clinical, registry
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import fhir_error
from yigongti.interop.fhir.resource import ResourceType, register
from yigongti.interop.fhir.resources.elements import (
    answered,
    compact,
    concept_code,
    day_bounds,
    institution_extension,
    page_of,
    parse_day,
    patient_filter,
    patient_params,
    recording_institution,
    reference,
    sort_of,
    subject_id,
    token_code,
    with_fields,
)
from yigongti.interop.fhir.resources.encounter import diagnosis_concept
from yigongti.interop.fhir.search import Query, SearchParam

CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_ELEMENTS = {"code": "code", "onset_date": "onsetDateTime", "institution_id": "extension"}


@register
class ConditionType(ResourceType):
    """Condition over ``clinical`` (the problem list)."""

    name = "Condition"
    doc = "Diagnoses on residents' problem lists, ICD-10 coded; created and read, not updated."
    writable = True
    search_params = (
        *patient_params(),
        SearchParam("code", "token", f"{systems.ICD10}|<ICD-10 code>"),
        SearchParam("onset-date", "date", "onset date (eq, ge, le, gt, lt)"),
    )
    sorts = ("onset-date",)
    date_param = "onset-date"

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The diagnosis, in scope and audited."""
        return condition_of(clinical.get_condition(ctx.session, ctx.actor, resource_id, ctx.reason))

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Diagnoses by patient, ICD-10 code and onset date."""
        date_from, date_to = day_bounds(query, "onset-date")
        limit, offset = page_of(query)
        total, views = with_fields(
            "Condition",
            _ELEMENTS,
            lambda: clinical.search_conditions(
                ctx.session,
                ctx.actor,
                resident_id=patient_filter(query),
                code=token_code(query, "code", systems.ICD10),
                date_from=date_from,
                date_to=date_to,
                sort=sort_of(query),
                limit=limit,
                offset=offset,
                reason=ctx.reason,
            ),
        )
        return answered(query, total, [condition_of(v) for v in views])

    def create(self, ctx: Context, resource: dict) -> uuid.UUID:
        """Add the diagnosis to the resident's problem list."""
        new = clinical.NewCondition(
            resident_id=subject_id(ctx, resource.get("subject"), "Condition.subject"),
            code=concept_code(
                resource.get("code"), "Condition.code", systems.ICD10, registry.icd10(), "ICD-10"
            ),
            onset_date=parse_day(resource.get("onsetDateTime"), "Condition.onsetDateTime"),
            institution_id=recording_institution(resource),
        )
        return with_fields(
            "Condition", _ELEMENTS, lambda: clinical.record_condition(ctx.session, ctx.actor, new)
        ).id

    def update(self, ctx: Context, resource_id: uuid.UUID, resource: dict) -> None:
        """Refused: a diagnosis on the problem list is not changed through FHIR."""
        raise fhir_error(
            405,
            "not-supported",
            "A Condition is not changed through FHIR; record a new diagnosis instead",
            "诊断不能通过 FHIR 修改，请另行记录新的诊断",
        )


def condition_of(view: clinical.ConditionView) -> dict:
    """A ``ConditionView`` as a FHIR Condition."""
    return compact(
        {
            "resourceType": "Condition",
            "id": str(view.id),
            "extension": [institution_extension(view.institution_id)]
            if view.institution_id
            else None,
            "clinicalStatus": {"coding": [{"system": CLINICAL_STATUS, "code": "active"}]},
            "verificationStatus": {
                "coding": [{"system": VERIFICATION_STATUS, "code": "confirmed"}]
            },
            "category": [{"coding": [{"system": CATEGORY, "code": "problem-list-item"}]}],
            "code": diagnosis_concept(view.code),
            "subject": reference("Patient", view.resident_id),
            "onsetDateTime": view.onset_date.isoformat(),
        }
    )
