"""PractitionerRole: a practitioner at his institution, in his departments.

A practitioner works at one institution, so he has one role, and its id is the
practitioner's id. ``organization`` is the institution; ``code`` his profession
(``systems.PROFESSION``, with HL7's ``doctor`` or ``nurse`` beside it); ``specialty`` his
departments' codes in the national catalog (``systems.DEPARTMENT``); ``location`` the
departments' Locations, or the institution's site for staff in no department.

Search: ``_id``, ``practitioner``, ``organization``, ``location`` (all three includable),
``specialty``, ``role``, ``active``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from yigongti import registry
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.resource import ResourceType, register
from yigongti.interop.fhir.resources.directory import (
    active_of,
    codes_of,
    coding,
    concept,
    ids_of,
    reference,
)
from yigongti.interop.fhir.search import Query, SearchParam, Token
from yigongti.registry.codes import department_catalog

if TYPE_CHECKING:
    from yigongti.registry.models import Practitioner

PROFESSIONS = {
    "physician": ("医师", "doctor"),
    "nurse": ("护士", "nurse"),
    "public_health": ("公共卫生医师", "doctor"),
    "technician": ("技师", None),
}
_ROLE_SYSTEMS = {
    systems.PROFESSION: {code: zh for code, (zh, _) in PROFESSIONS.items()},
    systems.HL7_PRACTITIONER_ROLE: {"doctor": "Doctor", "nurse": "Nurse"},
}


@register
class PractitionerRoleType(ResourceType):
    """PractitionerRole over ``registry``: one per practitioner, with his id."""

    name = "PractitionerRole"
    doc = (
        "A practitioner at his institution and departments; one role per practitioner, "
        "with the practitioner's id."
    )
    search_params = (
        SearchParam("_id", "token", "the practitioner's id (one role each)"),
        SearchParam(
            "practitioner",
            "reference",
            "the practitioner",
            path="practitioner",
            target="Practitioner",
        ),
        SearchParam(
            "organization",
            "reference",
            "the institution he works at",
            path="organization",
            target="Organization",
        ),
        SearchParam(
            "location",
            "reference",
            "a department's Location (or the site, for staff in no department)",
            path="location",
            target="Location",
        ),
        SearchParam("specialty", "token", f"department code ({systems.DEPARTMENT})"),
        SearchParam("role", "token", f"profession ({systems.PROFESSION}) or HL7 doctor/nurse"),
        SearchParam("active", "token", "true | false"),
    )

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The role of the practitioner with this id."""
        return role_of(registry.get_practitioner(ctx.session, resource_id))

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Roles by practitioner, institution, department, profession, by name."""
        practitioner = query.reference("practitioner")
        ids = ids_of(query)
        if practitioner is not None:
            ids = (practitioner,) if ids is None or practitioner in ids else ()
        organization = query.reference("organization")
        where = registry.StaffFilter(
            ids=ids,
            active=active_of(query),
            institution_ids=(organization,) if organization else None,
            professions=_professions(codes_of(query, "role", _ROLE_SYSTEMS)),
            department_codes=_departments(query),
            workplace=query.reference("location"),
        )
        total, rows = registry.find_staff(
            ctx.session, where, limit=query.count, offset=query.offset
        )
        return total, [role_of(p) for p in rows]


def _professions(tokens: list[Token]) -> tuple[str, ...] | None:
    if not tokens:
        return None
    found = set()
    for token in tokens:
        for code, (_, hl7) in PROFESSIONS.items():
            mine = token.system == systems.PROFESSION and token.code in (None, code)
            theirs = token.system == systems.HL7_PRACTITIONER_ROLE and token.code in (None, hl7)
            if mine or theirs:
                found.add(code)
    return tuple(sorted(found))


def _departments(query: Query) -> tuple[str, ...] | None:
    bound = {systems.DEPARTMENT: {c: d["zh"] for c, d in department_catalog().items()}}
    tokens = codes_of(query, "specialty", bound)
    if not tokens or any(t.code is None for t in tokens):
        return None
    return tuple(t.code for t in tokens if t.code)


def role_of(found: Practitioner) -> dict:
    """A registry practitioner's post as a FHIR PractitionerRole."""
    zh, hl7 = PROFESSIONS.get(found.profession, (found.profession, None))
    codings = [coding(systems.PROFESSION, found.profession, zh)]
    if hl7:
        codings.append(coding(systems.HL7_PRACTITIONER_ROLE, hl7))
    departments = sorted(found.departments, key=lambda d: d.code)
    role: dict = {
        "resourceType": "PractitionerRole",
        "id": str(found.id),
        "active": found.active,
        "practitioner": reference("Practitioner", found.id, found.name),
        "organization": reference("Organization", found.institution_id),
        "code": [concept(*codings, text=zh)],
        "location": [reference("Location", d.id, d.name) for d in departments]
        or [reference("Location", found.institution_id)],
    }
    if departments:
        role["specialty"] = [
            concept(coding(systems.DEPARTMENT, d.code, d.name), text=d.name) for d in departments
        ]
    return role
