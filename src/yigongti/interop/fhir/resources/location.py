"""Location: each institution's site, and each of its departments (科室).

No Location is stored apart: ``Location/<institution id>`` is the institution's site and
``Location/<department id>`` a department; a read finds either.

- A site: ``name`` the institution's, ``physicalType`` ``si``, ``type`` the institution's kind
  (``systems.INSTITUTION_KIND``), ``address`` its town and village, ``managingOrganization``
  the institution; no ``partOf``.
- A department: ``name`` the department's, ``physicalType`` ``ro`` (the rooms where it sees
  patients; the registry does not tell wards from clinics), ``type`` its code in the national
  catalog (``systems.DEPARTMENT``), ``managingOrganization`` the institution, ``partOf`` the
  institution's site.

Search: ``_id``, ``name`` (prefix), ``organization`` and ``partof`` (both includable),
``type`` (a department code or an institution kind). Sites come first, then departments.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from yigongti import registry
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.resource import ResourceType, register
from yigongti.interop.fhir.resources.directory import (
    Part,
    codes_of,
    coding,
    concept,
    ids_of,
    nothing,
    paged_union,
    reference,
)
from yigongti.interop.fhir.resources.organization import institution_addresses
from yigongti.interop.fhir.search import Query, SearchParam
from yigongti.kernel import NotFound
from yigongti.registry.codes import INSTITUTION_KINDS, department_catalog

if TYPE_CHECKING:
    from yigongti.registry.models import Department, Institution


def _type_systems() -> dict[str, dict[str, str]]:
    return {
        systems.DEPARTMENT: {code: d["zh"] for code, d in department_catalog().items()},
        systems.INSTITUTION_KIND: {k: zh for k, (_, zh, _en) in INSTITUTION_KINDS.items()},
    }


@register
class LocationType(ResourceType):
    """Location over ``registry`` (institution sites and departments)."""

    name = "Location"
    doc = (
        "Location/<institution id>: the institution's site; Location/<department id>: a "
        "department (科室), partOf the site."
    )
    search_params = (
        SearchParam("_id", "token", "an institution's or a department's id"),
        SearchParam("name", "string", "name by prefix"),
        SearchParam(
            "organization",
            "reference",
            "the institution the site or department belongs to",
            path="managingOrganization",
            target="Organization",
        ),
        SearchParam(
            "partof",
            "reference",
            "the site a department is part of",
            path="partOf",
            target="Location",
        ),
        SearchParam(
            "type",
            "token",
            f"department code ({systems.DEPARTMENT}) or institution kind "
            f"({systems.INSTITUTION_KIND})",
        ),
    )

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The site of the institution, else the department, with this id."""
        try:
            institution = registry.get_institution(ctx.session, resource_id)
        except NotFound:
            return department_location(registry.get_department(ctx.session, resource_id))
        return site_of(institution, institution_addresses(ctx, [institution])[institution.id])

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Sites, then departments, matching every parameter."""
        tokens = codes_of(query, "type", _type_systems())
        kinds = _codes(tokens, systems.INSTITUTION_KIND)
        departments = _codes(tokens, systems.DEPARTMENT)
        organization = query.reference("organization")
        site = query.reference("partof")
        if organization and site and organization != site:
            return 0, []
        owner = organization or site
        parts: list[Part] = [nothing, nothing]
        if site is None and kinds != ():
            where = registry.InstitutionFilter(
                ids=_narrowed(ids_of(query), owner),
                name=query.string("name"),
                kinds=kinds,
            )

            def sites(limit: int, offset: int) -> tuple[int, list]:
                total, rows = registry.find_institutions(
                    ctx.session, where, limit=limit, offset=offset
                )
                addresses = institution_addresses(ctx, rows)
                return total, [site_of(i, addresses[i.id]) for i in rows]

            parts[0] = sites
        if departments != ():
            within = registry.DepartmentFilter(
                ids=ids_of(query),
                institution_ids=(owner,) if owner else None,
                codes=departments,
                name=query.string("name"),
            )

            def rooms(limit: int, offset: int) -> tuple[int, list]:
                total, rows = registry.find_departments(
                    ctx.session, within, limit=limit, offset=offset
                )
                return total, [department_location(d) for d in rows]

            parts[1] = rooms
        return paged_union(parts, query.count, query.offset)


def _codes(tokens: list, system: str) -> tuple[str, ...] | None:
    """Codes of ``system`` among the tokens: None if no type was asked, () if none of these."""
    if not tokens:
        return None
    if any(t.system == system and t.code is None for t in tokens):
        return None
    return tuple(t.code for t in tokens if t.system == system)


def _narrowed(
    ids: tuple[uuid.UUID, ...] | None, owner: uuid.UUID | None
) -> tuple[uuid.UUID, ...] | None:
    if owner is None:
        return ids
    return (owner,) if ids is None or owner in ids else ()


def site_of(inst: Institution, address: dict | None) -> dict:
    """An institution's site as a FHIR Location, at ``address``."""
    kind_zh = INSTITUTION_KINDS[inst.kind][1]
    location: dict = {
        "resourceType": "Location",
        "id": str(inst.id),
        "status": "active" if inst.active else "inactive",
        "name": inst.name,
        "mode": "instance",
        "type": [concept(coding(systems.INSTITUTION_KIND, inst.kind, kind_zh), text=kind_zh)],
        "physicalType": concept(coding(systems.HL7_PHYSICAL_TYPE, "si", "Site")),
        "managingOrganization": reference("Organization", inst.id, inst.name),
    }
    if address:
        location["address"] = address
    return location


def department_location(department: Department) -> dict:
    """A department as a FHIR Location, part of its institution's site."""
    return {
        "resourceType": "Location",
        "id": str(department.id),
        "status": "active",
        "name": department.name,
        "mode": "instance",
        "type": [
            concept(
                coding(systems.DEPARTMENT, department.code, department.name),
                text=department.name,
            )
        ],
        "physicalType": concept(coding(systems.HL7_PHYSICAL_TYPE, "ro", "Room")),
        "managingOrganization": reference("Organization", department.institution_id),
        "partOf": reference("Location", department.institution_id),
    }
