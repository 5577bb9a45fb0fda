"""``Patient/$match``: the residents the master patient index finds for a described person.

The input is a Parameters resource whose ``resource`` is a Patient (as an institution would
create it); ``count`` caps the answer and ``onlyCertainMatches`` keeps the certain ones. Each
candidate comes back with its probability as ``search.score`` and the standard
``match-grade`` extension: certain at or above the index's link threshold, probable at or
above its review threshold, possible below. Candidates outside the caller's scope are left out.
"""

from __future__ import annotations

from yigongti import registry
from yigongti.interop import empi
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import invalid
from yigongti.interop.fhir.resource import Answer, OperationCall, register_operation
from yigongti.interop.fhir.resources.patient import patient_of, record_of
from yigongti.interop.fhir.validation import validate
from yigongti.kernel import NotFound

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
MOST = 50


@register_operation(
    "match",
    resource_type="Patient",
    methods=("POST",),
    doc="Candidate residents for a described Patient, with the master patient index's "
    "probability as search.score and a match-grade.",
)
def patient_match(ctx: Context, call: OperationCall) -> Answer:
    """The candidates as a searchset Bundle, best first."""
    patient, count, only_certain = _parameters(call.body)
    found = empi.match_candidates(
        ctx.session, ctx.actor, record_of(ctx, patient), limit=min(count, MOST)
    )
    limits = empi.thresholds()
    entries = []
    for candidate in found:
        grade = _grade(candidate.probability, limits.link, limits.review)
        if only_certain and grade != "certain":
            continue
        try:
            view = registry.get_resident(
                ctx.session, ctx.actor, candidate.resident_id, reason=ctx.reason
            )
        except NotFound:
            continue  # out of the caller's scope: not shown, no hint
        entries.append(
            {
                "fullUrl": ctx.full_url("Patient", str(view.id)),
                "resource": patient_of(view),
                "search": {
                    "mode": "match",
                    "score": round(candidate.probability, 6),
                    "extension": [{"url": MATCH_GRADE, "valueCode": grade}],
                },
            }
        )
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(entries)}
    return Answer(200, {**bundle, "entry": entries} if entries else bundle)


def _parameters(body: dict | None) -> tuple[dict, int, bool]:
    if body is None:
        raise invalid(
            "$match takes a Parameters resource with a 'resource' (the Patient to match)",
            "$match 需提交含 resource（待匹配 Patient）的 Parameters",
            "Parameters",
        )
    validate(body, "Parameters")
    patient, count, only_certain = None, 10, False
    for index, parameter in enumerate(body.get("parameter") or []):
        name = parameter.get("name")
        if name == "resource":
            patient = validate(parameter.get("resource") or {}, "Patient")
        elif name == "count":
            count = int(parameter.get("valueInteger") or 10)
        elif name == "onlyCertainMatches":
            only_certain = bool(parameter.get("valueBoolean"))
        else:
            raise invalid(
                f"$match does not take parameter '{name}'",
                f"$match 不支持参数 '{name}'",
                f"Parameters.parameter[{index}].name",
            )
    if patient is None:
        raise invalid(
            "$match needs the Patient to match as parameter 'resource'",
            "$match 缺少 resource 参数（待匹配的 Patient）",
            "Parameters.parameter",
        )
    return patient, max(1, count), only_certain


def _grade(probability: float, link: float, review: float) -> str:
    if probability >= link:
        return "certain"
    return "probable" if probability >= review else "possible"
