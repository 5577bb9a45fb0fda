"""Observation: vital signs, lab results and exam findings of the shared record.

Codes are LOINC, from the clinical code table (``clinical.observation_catalog()``); a number is a
``valueQuantity`` in the code's UCUM unit, a blood-pressure panel (85354-9) has its systolic and
diastolic ``component``s, a finding in words is a ``valueString``. ``interpretation`` is the v3
ObservationInterpretation H, L or N (computed from the normal range unless given); a critical
value (危急值) carries the ``critical-value`` extension. ``performer`` lists the practitioner and
the institution. An update may only change the status (final -> amended -> entered-in-error).
"""

from __future__ import annotations

import uuid

from yigongti import clinical
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

CATEGORIES = ("vital-signs", "laboratory", "exam")
STATUSES = ("final", "amended", "entered-in-error")
_ELEMENTS = {
    "code": "code.coding[0].code",
    "category": "category",
    "value": "valueQuantity.value",
    "unit": "valueQuantity.code",
    "value_text": "valueString",
    "components": "component",
    "interpretation": "interpretation",
    "status": "status",
    "effective_at": "effectiveDateTime",
    "encounter_id": "encounter",
    "practitioner_id": "performer",
    "institution_id": "performer",
}


@register
class ObservationType(ResourceType):
    """Observation over ``clinical`` (observations)."""

    name = "Observation"
    doc = "Vital signs, lab results and exam findings; LOINC codes, UCUM units, H/L/N flags."
    writable = True
    search_params = (
        *patient_params(),
        SearchParam("code", "token", f"{systems.LOINC}|<LOINC code>"),
        SearchParam("category", "token", "vital-signs | laboratory | exam"),
        SearchParam("status", "token", "final | amended | entered-in-error"),
        SearchParam("date", "date", "effective time (eq, ge, le, gt, lt)"),
        SearchParam("encounter", "reference", "the visit", "encounter", "Encounter"),
    )
    sorts = ("date",)
    date_param = "date"

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The observation, in scope and audited."""
        return observation_of(
            clinical.get_observation(ctx.session, ctx.actor, resource_id, ctx.reason)
        )

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Observations by patient, code, category, status, date and encounter."""
        date_from, date_to = day_bounds(query, "date")
        limit, offset = page_of(query)
        total, views = searched(
            lambda: clinical.search_observations(
                ctx.session,
                ctx.actor,
                resident_id=patient_filter(query),
                code=token_code(query, "code", systems.LOINC),
                category=token_code(query, "category", systems.OBSERVATION_CATEGORY),
                status=token_code(query, "status"),
                date_from=date_from,
                date_to=date_to,
                encounter_id=query.reference("encounter"),
                sort=sort_of(query),
                limit=limit,
                offset=offset,
                reason=ctx.reason,
            ),
        )
        return answered(query, total, [observation_of(v) for v in views])

    def create(self, ctx: Context, resource: dict) -> uuid.UUID:
        """Record the observation at the caller's institution."""
        new = new_observation(ctx, resource, "Observation")
        return with_fields(
            "Observation",
            _ELEMENTS,
            lambda: clinical.record_observation(ctx.session, ctx.actor, new),
        ).id

    def create_many(self, ctx: Context, resources: list[dict]) -> list[uuid.UUID | FhirError]:
        """Record many observations in one go (bulk import); per resource its id or its error."""
        return created_in_bulk(
            resources,
            lambda r: new_observation(ctx, r, "Observation"),
            lambda news: clinical.record_observations(ctx.session, ctx.actor, news),
            "Observation",
            _ELEMENTS,
        )

    def update(self, ctx: Context, resource_id: uuid.UUID, resource: dict) -> None:
        """Change the status (amended, entered-in-error); the content stays as recorded."""
        current = clinical.get_observation(ctx.session, ctx.actor, resource_id, ctx.reason)
        given = concept_code(
            resource.get("code"),
            "Observation.code",
            systems.LOINC,
            clinical.observation_catalog(),
            "LOINC",
        )
        if given != current.code:
            raise invalid(
                "Only an Observation's status changes; record a new Observation instead",
                "观察结果只能修改状态；请另行记录新的结果",
                "Observation.code",
            )
        status = choice(resource.get("status"), STATUSES, "Observation.status")
        if status != current.status:
            with_fields(
                "Observation",
                _ELEMENTS,
                lambda: clinical.update_observation(
                    ctx.session, ctx.actor, resource_id, status=status
                ),
            )


def new_observation(ctx: Context, resource: dict, where: str) -> clinical.NewObservation:
    """The ``NewObservation`` an Observation describes (``where``: its path, for errors)."""
    catalog = clinical.observation_catalog()
    code = concept_code(resource.get("code"), f"{where}.code", systems.LOINC, catalog, "LOINC")
    quantity = resource.get("valueQuantity")
    value, unit = _quantity(quantity, f"{where}.valueQuantity") if quantity else (None, None)
    performers = resource.get("performer") or []
    practitioner, institution = actor_ids(
        [(p, f"{where}.performer[{i}]") for i, p in enumerate(performers)]
    )
    return clinical.NewObservation(
        resident_id=subject_id(ctx, resource.get("subject"), f"{where}.subject"),
        code=code,
        effective_at=parse_instant(resource.get("effectiveDateTime"), f"{where}.effectiveDateTime"),  # type: ignore[arg-type]
        value=value,
        unit=unit,
        value_text=resource.get("valueString"),
        components=tuple(
            _component(c, f"{where}.component[{i}]")
            for i, c in enumerate(resource.get("component") or [])
        ),
        category=_category(resource, where),
        encounter_id=optional_id(resource.get("encounter"), "Encounter", f"{where}.encounter"),
        institution_id=institution,
        practitioner_id=practitioner,
        status=choice(resource.get("status"), ("final", "amended"), f"{where}.status"),
        interpretation=_interpretation(resource.get("interpretation"), f"{where}.interpretation"),
    )


def _quantity(quantity: dict, where: str) -> tuple[float | None, str | None]:
    system = quantity.get("system")
    if system is not None and system != systems.UCUM:
        raise invalid(
            f"{where}.system must be UCUM ({systems.UCUM}), not '{system}'",
            f"{where}.system 须为 UCUM（{systems.UCUM}）",
            f"{where}.system",
        )
    value = quantity.get("value")
    return (float(value) if value is not None else None), quantity.get("code") or quantity.get(
        "unit"
    )


def _component(component: dict, where: str) -> clinical.ObservationComponent:
    code = concept_code(
        component.get("code"),
        f"{where}.code",
        systems.LOINC,
        clinical.observation_catalog(),
        "LOINC",
    )
    value, unit = _quantity(component.get("valueQuantity") or {}, f"{where}.valueQuantity")
    if value is None:
        raise invalid(
            f"{where}.valueQuantity.value is required",
            f"{where}.valueQuantity.value 必填",
            f"{where}.valueQuantity.value",
        )
    return clinical.ObservationComponent(
        code,
        value,
        unit or "",
        _interpretation(component.get("interpretation"), f"{where}.interpretation"),
    )


def _category(resource: dict, where: str) -> str | None:
    categories = resource.get("category") or []
    if not categories:
        return None
    return concept_code(
        categories[0], f"{where}.category[0]", systems.OBSERVATION_CATEGORY, CATEGORIES, "category"
    )


def _interpretation(concepts: list[dict] | None, where: str) -> str | None:
    if not concepts:
        return None
    return concept_code(
        concepts[0], f"{where}[0]", systems.INTERPRETATION, ("H", "L", "N"), "interpretation"
    )


def loinc_concept(code: str) -> dict:
    """A LOINC code of the clinical code tables as a CodeableConcept with its names."""
    entry = clinical.observation_catalog().get(code) or clinical.report_catalog().get(code) or {}
    coding = compact({"system": systems.LOINC, "code": code, "display": entry.get("en")})
    return compact({"coding": [coding], "text": entry.get("zh")})


def _value_quantity(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": systems.UCUM, "code": unit}


def _flag(code: str | None) -> list[dict] | None:
    return [{"coding": [{"system": systems.INTERPRETATION, "code": code}]}] if code else None


def observation_of(view: clinical.ObservationView) -> dict:
    """An ``ObservationView`` as a FHIR Observation."""
    performers = [
        reference("Practitioner", view.practitioner_id),
        reference("Organization", view.institution_id),
    ]
    return compact(
        {
            "resourceType": "Observation",
            "id": str(view.id),
            "extension": [{"url": systems.CRITICAL_VALUE, "valueBoolean": True}]
            if view.critical
            else None,
            "status": view.status,
            "category": [
                {"coding": [{"system": systems.OBSERVATION_CATEGORY, "code": view.category}]}
            ],
            "code": loinc_concept(view.code),
            "subject": reference("Patient", view.resident_id),
            "encounter": reference("Encounter", view.encounter_id),
            "effectiveDateTime": instant(view.effective_at),
            "performer": [p for p in performers if p],
            "valueQuantity": _value_quantity(view.value, view.unit or "")
            if view.value is not None
            else None,
            "valueString": view.value_text,
            "interpretation": _flag(view.interpretation),
            "component": [
                compact(
                    {
                        "code": loinc_concept(c.code),
                        "valueQuantity": _value_quantity(c.value, c.unit),
                        "interpretation": _flag(c.interpretation),
                    }
                )
                for c in view.components
            ],
        }
    )
