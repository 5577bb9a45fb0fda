"""JSON API of the registries: places, institutions, communities, practitioners, residents."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from yigongti import registry
from yigongti.kernel.paging import Page
from yigongti.registry.schemas import (
    CommunityOut,
    DepartmentIn,
    DepartmentOut,
    GuardianIn,
    InstitutionIn,
    InstitutionOut,
    PractitionerIn,
    PractitionerOut,
    ResidentIn,
    ResidentOut,
    ResidentPatch,
    TeamIn,
    TeamOut,
    TownOut,
    VillageOut,
)
from yigongti.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["registry"])
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Reason = Annotated[
    str | None, Query(max_length=200, description="Why a bureau user reads this record")
]


@router.get("/towns", response_model=list[TownOut])
def towns(session: SessionDep, actor: ActorDep) -> list[TownOut]:
    """Towns of the county."""
    return [TownOut.model_validate(t) for t in registry.list_towns(session)]


@router.get("/towns/{town_id}/villages", response_model=list[VillageOut])
def villages(town_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[VillageOut]:
    """Villages and communities of a town."""
    return [VillageOut.model_validate(v) for v in registry.list_villages(session, town_id)]


@router.get("/towns/{town_id}/institutions", response_model=list[InstitutionOut])
def town_institutions(
    town_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> list[InstitutionOut]:
    """Institutions in a town: its center and its village clinics."""
    return [
        InstitutionOut.model_validate(i) for i in registry.institutions_of_town(session, town_id)
    ]


@router.get("/communities", response_model=list[CommunityOut])
def communities(session: SessionDep, actor: ActorDep) -> list[CommunityOut]:
    """Medical communities of the county."""
    return [CommunityOut.model_validate(c) for c in registry.list_communities(session)]


@router.get("/communities/{community_id}", response_model=CommunityOut)
def community(community_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> CommunityOut:
    """One medical community."""
    return CommunityOut.model_validate(registry.get_community(session, community_id))


@router.get("/communities/{community_id}/members", response_model=list[InstitutionOut])
def community_members(
    community_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> list[InstitutionOut]:
    """The lead hospital and member institutions of a community."""
    return [
        InstitutionOut.model_validate(i)
        for i in registry.members_of_community(session, community_id)
    ]


@router.get("/institutions", response_model=Page[InstitutionOut])
def institutions(
    session: SessionDep,
    actor: ActorDep,
    kind: Annotated[str | None, Query(max_length=24)] = None,
    tier: Annotated[str | None, Query(max_length=10)] = None,
    town_id: uuid.UUID | None = None,
    community_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[InstitutionOut]:
    """Institutions, filtered by kind, tier, town, community or name."""
    query = registry.InstitutionQuery(kind, tier, town_id, community_id, q, limit, offset)
    total, rows = registry.list_institutions(session, query)
    return Page(
        total=total,
        limit=limit,
        offset=offset,
        items=[InstitutionOut.model_validate(i) for i in rows],
    )


@router.post("/institutions", response_model=InstitutionOut, status_code=201)
def new_institution(body: InstitutionIn, session: SessionDep, actor: ActorDep) -> InstitutionOut:
    """Register an institution."""
    created = registry.create_institution(
        session, actor, registry.NewInstitution(**body.model_dump())
    )
    return InstitutionOut.model_validate(created)


@router.get("/institutions/{institution_id}", response_model=InstitutionOut)
def institution(institution_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> InstitutionOut:
    """One institution."""
    return InstitutionOut.model_validate(registry.get_institution(session, institution_id))


@router.get("/institutions/{institution_id}/chain", response_model=list[InstitutionOut])
def chain(institution_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[InstitutionOut]:
    """The referral chain upward: village clinic -> township center -> lead hospital."""
    return [
        InstitutionOut.model_validate(i) for i in registry.referral_chain(session, institution_id)
    ]


@router.get("/institutions/{institution_id}/departments", response_model=list[DepartmentOut])
def departments(
    institution_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> list[DepartmentOut]:
    """Departments of an institution."""
    inst = registry.get_institution(session, institution_id)
    return [DepartmentOut.model_validate(d) for d in inst.departments]


@router.post(
    "/institutions/{institution_id}/departments", response_model=DepartmentOut, status_code=201
)
def new_department(
    institution_id: uuid.UUID, body: DepartmentIn, session: SessionDep, actor: ActorDep
) -> DepartmentOut:
    """Open a department from the national catalog."""
    return DepartmentOut.model_validate(
        registry.add_department(session, actor, institution_id, body.code)
    )


@router.get("/practitioners", response_model=Page[PractitionerOut])
def practitioners(
    session: SessionDep,
    actor: ActorDep,
    institution_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    title: Annotated[str | None, Query(max_length=30)] = None,
    q: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[PractitionerOut]:
    """Practitioners by institution, department, title, name or pinyin initials."""
    query = registry.PractitionerQuery(institution_id, department_id, title, q, limit, offset)
    total, rows = registry.list_practitioners(session, query)
    return Page(
        total=total,
        limit=limit,
        offset=offset,
        items=[PractitionerOut.model_validate(p) for p in rows],
    )


@router.post("/practitioners", response_model=PractitionerOut, status_code=201)
def new_practitioner(body: PractitionerIn, session: SessionDep, actor: ActorDep) -> PractitionerOut:
    """Register a practitioner."""
    fields = body.model_dump()
    fields["department_ids"] = tuple(fields["department_ids"])
    created = registry.create_practitioner(session, actor, registry.NewPractitioner(**fields))
    return PractitionerOut.model_validate(created)


@router.get("/practitioners/{practitioner_id}", response_model=PractitionerOut)
def practitioner(
    practitioner_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> PractitionerOut:
    """One practitioner."""
    return PractitionerOut.model_validate(registry.get_practitioner(session, practitioner_id))


@router.get("/teams", response_model=list[TeamOut])
def teams(
    session: SessionDep, actor: ActorDep, institution_id: uuid.UUID | None = None
) -> list[TeamOut]:
    """Family-doctor teams, of one institution or all."""
    return [TeamOut.model_validate(t) for t in registry.list_teams(session, institution_id)]


@router.post("/teams", response_model=TeamOut, status_code=201)
def new_team(body: TeamIn, session: SessionDep, actor: ActorDep) -> TeamOut:
    """Form a "1+1+X" family-doctor team."""
    fields = body.model_dump()
    fields["specialist_ids"] = tuple(fields["specialist_ids"])
    return TeamOut.model_validate(registry.create_team(session, actor, registry.NewTeam(**fields)))


@router.get("/teams/{team_id}", response_model=TeamOut)
def team(team_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> TeamOut:
    """One family-doctor team."""
    return TeamOut.model_validate(registry.get_team(session, team_id))


@router.get("/residents", response_model=Page[ResidentOut])
def residents(
    session: SessionDep,
    actor: ActorDep,
    q: Annotated[
        str,
        Query(min_length=1, max_length=40, description="Name, pinyin initials, ID number or phone"),
    ],
    reason: Reason = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[ResidentOut]:
    """Search residents in the caller's scope; identifiers masked."""
    total, rows = registry.search_residents(
        session, actor, q, reason=reason, limit=limit, offset=offset
    )
    return Page(total=total, limit=limit, offset=offset, items=rows)


@router.post("/residents", response_model=ResidentOut, status_code=201)
def new_resident(body: ResidentIn, session: SessionDep, actor: ActorDep) -> ResidentOut:
    """Register a resident (ID number checked against GB 11643)."""
    return registry.register_resident(session, actor, registry.NewResident(**body.model_dump()))


@router.get("/residents/{resident_id}", response_model=ResidentOut)
def resident(
    resident_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    reveal: bool = False,
    reason: Reason = None,
) -> ResidentOut:
    """One resident; ``reveal=true`` shows the full ID number and phone (audited)."""
    view = registry.get_resident(session, actor, resident_id, reveal=reveal, reason=reason)
    return view


@router.patch("/residents/{resident_id}", response_model=ResidentOut)
def patch_resident(
    resident_id: uuid.UUID, body: ResidentPatch, session: SessionDep, actor: ActorDep
) -> ResidentOut:
    """Change a resident's phone, address, residence status or insurance."""
    changes = registry.ResidentChanges(**body.model_dump())
    return registry.update_resident(session, actor, resident_id, changes)


@router.get("/residents/{resident_id}/household", response_model=list[ResidentOut])
def household(
    resident_id: uuid.UUID, session: SessionDep, actor: ActorDep, reason: Reason = None
) -> list[ResidentOut]:
    """Members of a resident's household that the caller may see."""
    return registry.household_of(session, actor, resident_id, reason=reason)


@router.post("/residents/{resident_id}/guardians", status_code=204)
def new_guardian(
    resident_id: uuid.UUID, body: GuardianIn, session: SessionDep, actor: ActorDep
) -> None:
    """Record a guardian who may act for this resident."""
    registry.add_guardian(session, actor, body.guardian_id, resident_id, body.relation)


@router.get("/me/wards", response_model=list[ResidentOut])
def my_wards(session: SessionDep, actor: ActorDep) -> list[ResidentOut]:
    """The residents the logged-in resident is guardian of."""
    return registry.wards_of(session, actor)
