"""Organization: the county's institutions and its medical communities (医共体).

Both are Organizations; their ids are UUIDs from two registries, and a read finds either.

- An institution: ``identifier`` (``systems.INSTITUTION_CODE``), ``name``, ``active``,
  ``address`` (its town as ``district``, its village as ``line``), ``type`` carrying its kind
  (``systems.INSTITUTION_KIND``), its tier (``systems.TIER``) and HL7's organization type
  (``prov``, or ``govt`` for the bureau and the CDC); ``partOf`` is the unit right above it:
  its parent institution (a village clinic's township center), else its medical community.
  So a village clinic chains up: clinic -> township center -> community.
- A medical community: ``identifier`` (``systems.COMMUNITY_CODE``), ``name``, ``type``
  ``medical_community``, no ``partOf``. Its lead hospital is named by the extension
  ``systems.LEAD_INSTITUTION`` (a Reference); the lead hospital's own ``partOf`` is the
  community, like every member without a parent.

Search: ``_id``, ``identifier``, ``name`` (prefix), ``type``, ``partof`` (with
``_include=Organization:partof``), ``active``. Communities come first, then institutions by code.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from yigongti import registry
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import invalid
from yigongti.interop.fhir.resource import ResourceType, register
from yigongti.interop.fhir.resources.directory import (
    Part,
    active_of,
    codes_of,
    coding,
    concept,
    ids_of,
    nothing,
    paged_union,
    reference,
)
from yigongti.interop.fhir.search import Query, SearchParam
from yigongti.kernel import NotFound
from yigongti.registry.codes import INSTITUTION_KINDS, TIERS

if TYPE_CHECKING:
    from yigongti.registry.models import Institution, MedicalCommunity

COMMUNITY_ZH = "医共体"
_GOVERNMENT = {"health_bureau", "cdc"}
_KINDS = {kind: zh for kind, (_, zh, _en) in INSTITUTION_KINDS.items()}
_TYPE_SYSTEMS = {
    systems.INSTITUTION_KIND: {**_KINDS, systems.COMMUNITY_KIND: COMMUNITY_ZH},
    systems.TIER: {tier: zh for tier, (zh, _en) in TIERS.items()},
    systems.HL7_ORGANIZATION_TYPE: {"prov": "Healthcare Provider", "govt": "Government"},
}


def _hl7_type(kind: str) -> str:
    return "govt" if kind in _GOVERNMENT else "prov"


@register
class OrganizationType(ResourceType):
    """Organization over ``registry`` (institutions and medical communities)."""

    name = "Organization"
    doc = (
        "Institutions and medical communities (医共体); partOf: parent institution, else the "
        "community; a community names its lead hospital in the lead-institution extension."
    )
    search_params = (
        SearchParam("_id", "token", "the institution's or community's id"),
        SearchParam(
            "identifier",
            "token",
            f"{systems.INSTITUTION_CODE}|<code> or {systems.COMMUNITY_CODE}|<code>",
        ),
        SearchParam("name", "string", "name by prefix"),
        SearchParam(
            "type",
            "token",
            f"kind or medical_community ({systems.INSTITUTION_KIND}), tier ({systems.TIER}), "
            "or HL7 prov/govt",
        ),
        SearchParam(
            "partof",
            "reference",
            "the unit right above: parent institution or medical community",
            path="partOf",
            target="Organization",
        ),
        SearchParam("active", "token", "true | false"),
    )

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The institution, else the medical community, with this id."""
        try:
            institution = registry.get_institution(ctx.session, resource_id)
        except NotFound:
            return organization_of_community(registry.get_community(ctx.session, resource_id))
        return organization_of_institution(
            institution, institution_addresses(ctx, [institution])[institution.id]
        )

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Communities, then institutions, matching every parameter."""
        kinds, communities_too = _types(query)
        codes = _identifiers(query)
        active = active_of(query)
        above = query.reference("partof")
        parts: list[Part] = [nothing, nothing]
        if communities_too and above is None and active in (None, True):
            found = registry.find_communities(
                ctx.session,
                registry.CommunityFilter(
                    ids=ids_of(query),
                    codes=codes.get(systems.COMMUNITY_CODE),
                    name=query.string("name"),
                ),
            )
            parts[0] = lambda limit, offset: (
                len(found),
                [organization_of_community(c) for c in found[offset : offset + limit]],
            )
        if kinds != ():
            where = registry.InstitutionFilter(
                ids=ids_of(query),
                codes=codes.get(systems.INSTITUTION_CODE),
                name=query.string("name"),
                kinds=kinds,
                directly_under=above,
                active=active,
            )

            def institutions(limit: int, offset: int) -> tuple[int, list]:
                total, rows = registry.find_institutions(
                    ctx.session, where, limit=limit, offset=offset
                )
                addresses = institution_addresses(ctx, rows)
                return total, [organization_of_institution(i, addresses[i.id]) for i in rows]

            parts[1] = institutions
        return paged_union(parts, query.count, query.offset)


def _types(query: Query) -> tuple[tuple[str, ...] | None, bool]:
    """The institution kinds asked for (None: all) and whether communities are asked for."""
    tokens = codes_of(query, "type", _TYPE_SYSTEMS)
    if not tokens:
        return None, True
    kinds: set[str] = set()
    communities = False
    for token in tokens:
        if token.system == systems.INSTITUTION_KIND:
            communities = communities or token.code in (None, systems.COMMUNITY_KIND)
            kinds |= {k for k in _KINDS if token.code in (None, k)}
        elif token.system == systems.TIER:
            kinds |= {
                k for k, (tier, *_) in INSTITUTION_KINDS.items() if token.code in (None, tier)
            }
        else:
            communities = communities or token.code in (None, "prov")
            kinds |= {k for k in _KINDS if token.code in (None, _hl7_type(k))}
    return tuple(sorted(kinds)), communities


def _identifiers(query: Query) -> dict[str, tuple[str, ...]]:
    """Codes asked for per identifier system; a system left out matches nothing there."""
    tokens = query.values("identifier")
    if not tokens:
        return {}
    found: dict[str, tuple[str, ...]] = {systems.INSTITUTION_CODE: (), systems.COMMUNITY_CODE: ()}
    for token in tokens:
        system, code = getattr(token, "system", None), getattr(token, "code", None) or ""
        if system is not None and system not in found:
            raise invalid(
                f"Organization identifier system '{system}' is not searchable; use "
                f"{systems.INSTITUTION_CODE} or {systems.COMMUNITY_CODE}",
                f"不支持按标识体系 '{system}' 检索机构",
                "identifier",
            )
        for each in [system] if system else list(found):
            found[each] += (code,)
    return found


def organization_of_institution(inst: Institution, address: dict | None) -> dict:
    """An institution as a FHIR Organization, at ``address`` (see ``institution_addresses``)."""
    tier, kind_zh, _ = INSTITUTION_KINDS[inst.kind]
    organization: dict = {
        "resourceType": "Organization",
        "id": str(inst.id),
        "identifier": [{"use": "official", "system": systems.INSTITUTION_CODE, "value": inst.code}],
        "active": inst.active,
        "type": [
            concept(
                coding(systems.INSTITUTION_KIND, inst.kind, kind_zh),
                coding(systems.HL7_ORGANIZATION_TYPE, _hl7_type(inst.kind)),
                text=kind_zh,
            ),
            concept(coding(systems.TIER, tier, TIERS[tier][0]), text=TIERS[tier][0]),
        ],
        "name": inst.name,
    }
    if address:
        organization["address"] = [address]
    above = inst.parent_id or inst.community_id
    if above:
        organization["partOf"] = reference("Organization", above)
    return organization


def institution_addresses(ctx: Context, institutions: list[Institution]) -> dict:
    """Each institution's address by id: town as ``district``, village as ``line`` (or None)."""
    names = registry.place_names(ctx.session, [i.id for i in institutions])
    return {i.id: _address(*names.get(i.id, (None, None))) for i in institutions}


def _address(town: str | None, village: str | None) -> dict | None:
    if town is None:
        return None
    address: dict = {"use": "work", "text": town + (village or ""), "district": town}
    return {**address, "line": [village]} if village else address


def organization_of_community(community: MedicalCommunity) -> dict:
    """A medical community as a FHIR Organization."""
    organization: dict = {
        "resourceType": "Organization",
        "id": str(community.id),
        "identifier": [
            {"use": "official", "system": systems.COMMUNITY_CODE, "value": community.code}
        ],
        "active": True,
        "type": [
            concept(
                coding(systems.INSTITUTION_KIND, systems.COMMUNITY_KIND, COMMUNITY_ZH),
                coding(systems.HL7_ORGANIZATION_TYPE, "prov"),
                text=COMMUNITY_ZH,
            )
        ],
        "name": community.name,
    }
    if community.lead_institution_id:
        organization["extension"] = [
            {
                "url": systems.LEAD_INSTITUTION,
                "valueReference": reference("Organization", community.lead_institution_id),
            }
        ]
    return organization
