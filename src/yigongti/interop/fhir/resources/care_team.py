"""CareTeam: a "1+1+X" family-doctor team (家庭医生团队).

``name``; ``status`` active (a team in the registry is a working team); ``category`` LOINC's
longitudinal care-coordination team; ``managingOrganization`` the township or community
center it is based at; ``participant`` its members, each with ``role`` gp, nurse,
public_health or specialist (``systems.TEAM_ROLE``) and ``member`` a Practitioner, the GP
first.

Search: ``_id``, ``participant`` (a Practitioner; includable), ``status``, and ``organization``
(not an R4 CareTeam parameter: ours, on ``managingOrganization``; includable).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from yigongti import registry
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.resource import ResourceType, register
from yigongti.interop.fhir.resources.directory import (
    codes_of,
    coding,
    concept,
    ids_of,
    reference,
)
from yigongti.interop.fhir.search import Query, SearchParam
from yigongti.registry.codes import TEAM_ROLES

if TYPE_CHECKING:
    from yigongti.registry.models import FamilyDoctorTeam

_STATUS = {
    "http://hl7.org/fhir/care-team-status": {
        s: s for s in ("proposed", "active", "suspended", "inactive", "entered-in-error")
    }
}
_LONGITUDINAL = coding(
    systems.LOINC, "LA28865-6", "Longitudinal care-coordination focused care team"
)
_ROLE_ORDER = {role: n for n, role in enumerate(TEAM_ROLES)}


@register
class CareTeamType(ResourceType):
    """CareTeam over ``registry`` (family-doctor teams)."""

    name = "CareTeam"
    doc = '"1+1+X" family-doctor teams; participant.role: gp, nurse, public_health, specialist.'
    search_params = (
        SearchParam("_id", "token", "the team's id"),
        SearchParam(
            "participant",
            "reference",
            "a member of the team",
            path="participant.member",
            target="Practitioner",
        ),
        SearchParam("status", "token", "active (every registered team is active)"),
        SearchParam(
            "organization",
            "reference",
            "the center the team is based at (managingOrganization; not an R4 parameter)",
            path="managingOrganization",
            target="Organization",
        ),
    )

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The family-doctor team with this id."""
        return care_team_of(registry.get_team(ctx.session, resource_id))

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Teams by id, member and center, by name."""
        statuses = codes_of(query, "status", _STATUS)
        if statuses and not any(t.code in (None, "active") for t in statuses):
            return 0, []
        organization = query.reference("organization")
        where = registry.TeamFilter(
            ids=ids_of(query),
            institution_ids=(organization,) if organization else None,
            member_id=query.reference("participant"),
        )
        total, rows = registry.find_teams(
            ctx.session, where, limit=query.count, offset=query.offset
        )
        return total, [care_team_of(t) for t in rows]


def care_team_of(team: FamilyDoctorTeam) -> dict:
    """A family-doctor team as a FHIR CareTeam."""
    members = sorted(team.members, key=lambda m: (_ROLE_ORDER.get(m.role, 99), m.practitioner.name))
    return {
        "resourceType": "CareTeam",
        "id": str(team.id),
        "status": "active",
        "category": [concept(_LONGITUDINAL)],
        "name": team.name,
        "managingOrganization": [reference("Organization", team.institution_id)],
        "participant": [
            {
                "role": [
                    concept(
                        coding(systems.TEAM_ROLE, m.role, TEAM_ROLES[m.role][0]),
                        text=TEAM_ROLES[m.role][0],
                    )
                ],
                "member": reference("Practitioner", m.practitioner_id, m.practitioner.name),
            }
            for m in members
        ],
    }
