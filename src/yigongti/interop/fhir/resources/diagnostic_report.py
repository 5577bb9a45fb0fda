"""DiagnosticReport: lab, imaging, ECG, ultrasound and pathology reports with their results.

``category`` is the v2-0074 diagnostic service section: LAB, RAD, EC (ECG), RUS (ultrasound),
SP (pathology); ``code`` a LOINC report code of the clinical code table that belongs to the
category. The record makes a report's results with it, so a new report carries its results as
``contained`` Observations listed in ``result`` (``#id``); they become Observations of their own
(read back as ``Observation/<id>``). References to Observations already stored are refused.
An update moves the status on (registered -> preliminary -> final -> amended, or cancelled /
entered-in-error, which takes the results with it) and may give a new ``conclusion``.
"""

from __future__ import annotations

import uuid

from yigongti import clinical
from yigongti.interop.fhir import systems
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
from yigongti.interop.fhir.resources.observation import loinc_concept, new_observation
from yigongti.interop.fhir.search import Query, SearchParam

SECTION = "http://terminology.hl7.org/CodeSystem/v2-0074"
_SECTION_OF = {"LAB": "LAB", "RAD": "RAD", "ECG": "EC", "US": "RUS", "PAT": "SP"}
_CATEGORY_OF = {section: ours for ours, section in _SECTION_OF.items()}
STATUSES = ("registered", "preliminary", "final", "amended", "cancelled", "entered-in-error")
_ELEMENTS = {
    "category": "category",
    "code": "code.coding[0].code",
    "status": "status",
    "effective_at": "effectiveDateTime",
    "issued_at": "issued",
    "encounter_id": "encounter",
    "performer_id": "performer",
    "institution_id": "performer",
    "results": "result",
    "value": "result",
    "unit": "result",
    "components": "result",
    "value_text": "result",
}


@register
class DiagnosticReportType(ResourceType):
    """DiagnosticReport over ``clinical`` (diagnostic reports)."""

    name = "DiagnosticReport"
    doc = (
        "Lab, imaging, ECG, ultrasound and pathology reports (v2-0074 LAB, RAD, EC, RUS, SP; "
        "LOINC codes); new results come as contained Observations."
    )
    writable = True
    search_params = (
        *patient_params(),
        SearchParam("code", "token", f"{systems.LOINC}|<LOINC report code>"),
        SearchParam("category", "token", f"{SECTION}|LAB, RAD, EC, RUS or SP"),
        SearchParam("status", "token", " | ".join(STATUSES)),
        SearchParam("date", "date", "effective time (eq, ge, le, gt, lt)"),
        SearchParam("encounter", "reference", "the visit", "encounter", "Encounter"),
        SearchParam("result", "reference", "(for _include) the results", "result", "Observation"),
    )
    sorts = ("date",)
    date_param = "date"

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The report, in scope and audited."""
        return report_of(
            clinical.get_diagnostic_report(ctx.session, ctx.actor, resource_id, ctx.reason)
        )

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Reports by patient, code, category, status, date and encounter."""
        if query.values("result"):
            raise invalid(
                "'result' serves _include=DiagnosticReport:result only",
                "'result' 仅用于 _include=DiagnosticReport:result",
                "result",
            )
        date_from, date_to = day_bounds(query, "date")
        limit, offset = page_of(query)
        section = token_code(query, "category", SECTION)
        total, views = with_fields(
            "DiagnosticReport",
            _ELEMENTS,
            lambda: clinical.search_diagnostic_reports(
                ctx.session,
                ctx.actor,
                resident_id=patient_filter(query),
                code=token_code(query, "code", systems.LOINC),
                category=_CATEGORY_OF.get(section, section) if section else None,
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
        return answered(query, total, [report_of(v) for v in views])

    def create(self, ctx: Context, resource: dict) -> uuid.UUID:
        """Record the report and its contained results at the caller's institution."""
        new = _new_report(ctx, resource)
        return with_fields(
            "DiagnosticReport",
            _ELEMENTS,
            lambda: clinical.record_diagnostic_report(ctx.session, ctx.actor, new),
        ).id

    def update(self, ctx: Context, resource_id: uuid.UUID, resource: dict) -> None:
        """Move the status on, optionally with a new conclusion."""
        current = clinical.get_diagnostic_report(ctx.session, ctx.actor, resource_id, ctx.reason)
        status = choice(resource.get("status"), STATUSES, "DiagnosticReport.status")
        conclusion = resource.get("conclusion")
        if status == current.status and conclusion == current.conclusion:
            return
        if status == current.status:
            raise invalid(
                "A new conclusion comes with a new status (e.g. amended)",
                "修改结论须同时变更状态（如 amended）",
                "DiagnosticReport.status",
            )
        with_fields(
            "DiagnosticReport",
            _ELEMENTS,
            lambda: clinical.update_diagnostic_report(
                ctx.session, ctx.actor, resource_id, status=status, conclusion=conclusion
            ),
        )


def _new_report(ctx: Context, resource: dict) -> clinical.NewDiagnosticReport:
    categories = resource.get("category") or []
    if not categories:
        raise invalid(
            "DiagnosticReport.category is required (v2-0074)",
            "DiagnosticReport.category 必填（v2-0074）",
            "DiagnosticReport.category",
        )
    section = concept_code(
        categories[0], "DiagnosticReport.category[0]", SECTION, _CATEGORY_OF, "report category"
    )
    code = concept_code(
        resource.get("code"),
        "DiagnosticReport.code",
        systems.LOINC,
        clinical.report_catalog(),
        "LOINC report",
    )
    resident_id = subject_id(ctx, resource.get("subject"), "DiagnosticReport.subject")
    practitioner, institution = actor_ids(
        [
            (p, f"DiagnosticReport.performer[{i}]")
            for i, p in enumerate(resource.get("performer") or [])
        ]
    )
    return clinical.NewDiagnosticReport(
        resident_id=resident_id,
        category=_CATEGORY_OF[section],
        code=code,
        effective_at=parse_instant(  # type: ignore[arg-type]
            resource.get("effectiveDateTime"), "DiagnosticReport.effectiveDateTime"
        ),
        conclusion=resource.get("conclusion"),
        results=_results(ctx, resource, resident_id),
        encounter_id=optional_id(
            resource.get("encounter"), "Encounter", "DiagnosticReport.encounter"
        ),
        institution_id=institution,
        performer_id=practitioner,
        status=choice(resource.get("status"), STATUSES, "DiagnosticReport.status"),
        issued_at=parse_instant(resource.get("issued"), "DiagnosticReport.issued", required=False),
    )


def _results(
    ctx: Context, resource: dict, resident_id: uuid.UUID
) -> tuple[clinical.NewObservation, ...]:
    contained = {c.get("id"): (i, c) for i, c in enumerate(resource.get("contained") or [])}
    results = []
    for index, result in enumerate(resource.get("result") or []):
        where = f"DiagnosticReport.result[{index}]"
        text = (result or {}).get("reference") or ""
        found = contained.get(text[1:]) if text.startswith("#") else None
        if found is None or found[1].get("resourceType") != "Observation":
            raise invalid(
                f"{where} must refer to a contained Observation ('#<id>'): a report's results "
                "are recorded with it",
                f"{where} 须引用内含的 Observation（'#<id>'）：结果与报告一并记录",
                where,
            )
        position, observation = found
        observation = {**observation, "subject": {"reference": f"Patient/{resident_id}"}}
        results.append(new_observation(ctx, observation, f"DiagnosticReport.contained[{position}]"))
    return tuple(results)


def report_of(view: clinical.DiagnosticReportView) -> dict:
    """A ``DiagnosticReportView`` as a FHIR DiagnosticReport."""
    performers = [
        reference("Practitioner", view.performer_id),
        reference("Organization", view.institution_id),
    ]
    return compact(
        {
            "resourceType": "DiagnosticReport",
            "id": str(view.id),
            "status": view.status,
            "category": [{"coding": [{"system": SECTION, "code": _SECTION_OF[view.category]}]}],
            "code": loinc_concept(view.code),
            "subject": reference("Patient", view.resident_id),
            "encounter": reference("Encounter", view.encounter_id),
            "effectiveDateTime": instant(view.effective_at),
            "issued": instant(view.issued_at),
            "performer": [p for p in performers if p],
            "result": [reference("Observation", r) for r in view.result_ids],
            "conclusion": view.conclusion,
        }
    )
