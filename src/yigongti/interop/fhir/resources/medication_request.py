"""MedicationRequest: a prescription of one chronic-disease medicine (intent ``order``).

``medicationCodeableConcept`` is coded in WHO ATC (``clinical.MEDICATION_SYSTEM``) from the
medicine catalog; ``dosageInstruction[0].text`` says how to take it; ``dispenseRequest``
gives the quantity (in the catalog's unit) and ``expectedSupplyDuration`` in UCUM days (``d``)
or weeks (``wk``). Over 30 days' supply is a long prescription (长处方, ``long-prescription``
extension; at most 12 weeks, for a resident whose problem list holds a condition the medicine
treats). ``requester`` is the prescriber, the institution the ``recording-institution``
extension. An update may only change the status (completed, stopped, cancelled,
entered-in-error).
"""

from __future__ import annotations

import uuid

from yigongti import clinical
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import invalid
from yigongti.interop.fhir.resource import ResourceType, register
from yigongti.interop.fhir.resources.elements import (
    answered,
    choice,
    compact,
    concept_code,
    day_bounds,
    instant,
    institution_extension,
    optional_id,
    page_of,
    parse_instant,
    patient_filter,
    patient_params,
    recording_institution,
    reference,
    sort_of,
    subject_id,
    token_code,
    with_fields,
)
from yigongti.interop.fhir.search import Query, SearchParam

LONG_PRESCRIPTION = f"{systems.BASE}/StructureDefinition/long-prescription"
STATUSES = ("active", "completed", "stopped", "cancelled", "entered-in-error")
_DAYS_IN = {"d": 1, "wk": 7}
_ELEMENTS = {
    "medication_code": "medicationCodeableConcept.coding[0].code",
    "dosage_text": "dosageInstruction[0].text",
    "quantity": "dispenseRequest.quantity.value",
    "days_supply": "dispenseRequest.expectedSupplyDuration",
    "authored_at": "authoredOn",
    "encounter_id": "encounter",
    "prescriber_id": "requester",
    "institution_id": "extension",
    "status": "status",
}


@register
class MedicationRequestType(ResourceType):
    """MedicationRequest over ``clinical`` (prescriptions)."""

    name = "MedicationRequest"
    doc = "Prescriptions of catalog medicines (ATC), with the long-prescription rule."
    writable = True
    search_params = (
        *patient_params(),
        SearchParam("code", "token", f"{clinical.MEDICATION_SYSTEM}|<ATC code>"),
        SearchParam("status", "token", " | ".join(STATUSES)),
        SearchParam("authoredon", "date", "when it was written (eq, ge, le, gt, lt)"),
        SearchParam("encounter", "reference", "the visit", "encounter", "Encounter"),
        SearchParam("intent", "token", "order (every prescription here)"),
    )
    sorts = ("authoredon",)
    date_param = "authoredon"

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The prescription, in scope and audited."""
        return prescription_of(
            clinical.get_medication_request(ctx.session, ctx.actor, resource_id, ctx.reason)
        )

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Prescriptions by patient, medicine, status, date written and encounter."""
        intent = token_code(query, "intent")
        if intent is not None and intent != "order":
            return 0, []
        date_from, date_to = day_bounds(query, "authoredon")
        limit, offset = page_of(query)
        total, views = with_fields(
            "MedicationRequest",
            _ELEMENTS,
            lambda: clinical.search_medication_requests(
                ctx.session,
                ctx.actor,
                resident_id=patient_filter(query),
                code=token_code(query, "code", clinical.MEDICATION_SYSTEM),
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
        return answered(query, total, [prescription_of(v) for v in views])

    def create(self, ctx: Context, resource: dict) -> uuid.UUID:
        """Prescribe at the caller's institution."""
        new = _new_prescription(ctx, resource)
        return with_fields(
            "MedicationRequest",
            _ELEMENTS,
            lambda: clinical.record_medication_request(ctx.session, ctx.actor, new),
        ).id

    def update(self, ctx: Context, resource_id: uuid.UUID, resource: dict) -> None:
        """Complete, stop or cancel the prescription, or mark it entered in error."""
        current = clinical.get_medication_request(ctx.session, ctx.actor, resource_id, ctx.reason)
        status = choice(resource.get("status"), STATUSES, "MedicationRequest.status")
        if status != current.status:
            with_fields(
                "MedicationRequest",
                _ELEMENTS,
                lambda: clinical.update_medication_request(
                    ctx.session, ctx.actor, resource_id, status=status
                ),
            )


def _new_prescription(ctx: Context, resource: dict) -> clinical.NewMedicationRequest:
    choice(resource.get("status"), ("active",), "MedicationRequest.status")
    choice(resource.get("intent"), ("order",), "MedicationRequest.intent")
    code = concept_code(
        resource.get("medicationCodeableConcept"),
        "MedicationRequest.medicationCodeableConcept",
        clinical.MEDICATION_SYSTEM,
        clinical.medication_catalog(),
        "ATC medicine",
    )
    dosages = resource.get("dosageInstruction") or []
    dispense = resource.get("dispenseRequest") or {}
    return clinical.NewMedicationRequest(
        resident_id=subject_id(ctx, resource.get("subject"), "MedicationRequest.subject"),
        medication_code=code,
        dosage_text=(dosages[0] if dosages else {}).get("text") or "",
        quantity=_quantity(dispense.get("quantity"), clinical.medication_catalog()[code]["unit"]),
        days_supply=_days(dispense.get("expectedSupplyDuration")),
        authored_at=parse_instant(resource.get("authoredOn"), "MedicationRequest.authoredOn"),  # type: ignore[arg-type]
        encounter_id=optional_id(
            resource.get("encounter"), "Encounter", "MedicationRequest.encounter"
        ),
        institution_id=recording_institution(resource),
        prescriber_id=optional_id(
            resource.get("requester"), "Practitioner", "MedicationRequest.requester"
        ),
    )


def _quantity(quantity: dict | None, unit: str) -> int:
    where = "MedicationRequest.dispenseRequest.quantity"
    value = (quantity or {}).get("value")
    if value is None or value != int(value):
        raise invalid(
            f"{where}.value: a whole number of {unit}s is required",
            f"{where}.value 须为整数（单位 {unit}）",
            f"{where}.value",
        )
    given = (quantity or {}).get("code") or (quantity or {}).get("unit")
    if given is not None and given not in (unit, f"{{{unit}}}"):
        raise invalid(
            f"{where}: this medicine is dispensed in {unit}, not '{given}'",
            f"{where}：该药品的发药单位为 {unit}，而非 '{given}'",
            f"{where}.code",
        )
    return int(value)


def _days(duration: dict | None) -> int:
    where = "MedicationRequest.dispenseRequest.expectedSupplyDuration"
    duration = duration or {}
    if duration.get("system") not in (None, systems.UCUM):
        raise invalid(
            f"{where}.system must be UCUM ({systems.UCUM})",
            f"{where}.system 须为 UCUM（{systems.UCUM}）",
            f"{where}.system",
        )
    code = duration.get("code") or duration.get("unit")
    value = duration.get("value")
    if value is None or code not in _DAYS_IN or value != int(value):
        raise invalid(
            f"{where}: a whole number of days (UCUM d) or weeks (wk) is required",
            f"{where}：须为整数天（UCUM d）或周（wk）",
            f"{where}.code" if value is not None else f"{where}.value",
        )
    return int(value) * _DAYS_IN[code]


def prescription_of(view: clinical.MedicationRequestView) -> dict:
    """A ``MedicationRequestView`` as a FHIR MedicationRequest."""
    drug = clinical.medication_catalog().get(view.medication_code, {})
    extensions = [institution_extension(view.institution_id)]
    if view.long_prescription:
        extensions.append({"url": LONG_PRESCRIPTION, "valueBoolean": True})
    return compact(
        {
            "resourceType": "MedicationRequest",
            "id": str(view.id),
            "extension": extensions,
            "status": view.status,
            "intent": view.intent,
            "medicationCodeableConcept": {
                "coding": [
                    compact(
                        {
                            "system": clinical.MEDICATION_SYSTEM,
                            "code": view.medication_code,
                            "display": drug.get("en"),
                        }
                    )
                ],
                "text": view.medication_name,
            },
            "subject": reference("Patient", view.resident_id),
            "encounter": reference("Encounter", view.encounter_id),
            "authoredOn": instant(view.authored_at),
            "requester": reference("Practitioner", view.prescriber_id),
            "dosageInstruction": [{"text": view.dosage_text}],
            "dispenseRequest": {
                "quantity": {"value": view.quantity, "unit": view.quantity_unit},
                "expectedSupplyDuration": {
                    "value": view.days_supply,
                    "unit": "d",
                    "system": systems.UCUM,
                    "code": "d",
                },
            },
        }
    )
