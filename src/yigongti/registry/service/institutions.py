"""Use cases of places, institutions, departments and medical communities."""

from __future__ import annotations

import re
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session, joinedload

from yigongti.db import page
from yigongti.kernel import Conflict, NotFound, invalid_field
from yigongti.registry.codes import INSTITUTION_KINDS, department_catalog
from yigongti.registry.models import Department, Institution, MedicalCommunity, Town, Village
from yigongti.security import Actor, audit, roles

INSTITUTION_CODE = re.compile(r"^[0-9A-Z]{6,22}$")


def list_towns(session: Session) -> list[Town]:
    """Towns of the county, by code."""
    return list(session.scalars(select(Town).order_by(Town.code)))


def get_town(session: Session, town_id: uuid.UUID) -> Town:
    """One town; ``NotFound`` if there is none."""
    town = session.get(Town, town_id)
    if town is None:
        raise NotFound(en="No such town", zh="乡镇不存在")
    return town


def get_village(session: Session, village_id: uuid.UUID) -> Village:
    """One village or urban community; ``NotFound`` if there is none."""
    village = session.get(Village, village_id)
    if village is None:
        raise NotFound(en="No such village or community", zh="村（社区）不存在")
    return village


def villages_with_towns(session: Session, village_ids: Iterable[uuid.UUID]) -> list[Village]:
    """The villages (those that exist) with their towns loaded, in one query.

    For batches: while the caller holds the list, ``get_village`` and ``village.town`` answer
    from the session without asking the database again.
    """
    wanted = set(village_ids)
    if not wanted:
        return []
    return list(
        session.scalars(
            select(Village).options(joinedload(Village.town)).where(Village.id.in_(wanted))
        )
    )


def list_villages(session: Session, town_id: uuid.UUID) -> list[Village]:
    """Villages and communities of a town, by code."""
    get_town(session, town_id)
    return list(
        session.scalars(select(Village).where(Village.town_id == town_id).order_by(Village.code))
    )


def list_communities(session: Session) -> list[MedicalCommunity]:
    """Medical communities of the county, by code."""
    return list(session.scalars(select(MedicalCommunity).order_by(MedicalCommunity.code)))


def get_community(session: Session, community_id: uuid.UUID) -> MedicalCommunity:
    """One medical community; ``NotFound`` if there is none."""
    community = session.get(MedicalCommunity, community_id)
    if community is None:
        raise NotFound(en="No such medical community", zh="医共体不存在")
    return community


def members_of_community(session: Session, community_id: uuid.UUID) -> list[Institution]:
    """The lead hospital and every member institution, county tier first."""
    get_community(session, community_id)
    return list(
        session.scalars(
            select(Institution)
            .where(Institution.community_id == community_id)
            .order_by(Institution.tier, Institution.code)
        )
    )


def institutions_of_town(session: Session, town_id: uuid.UUID) -> list[Institution]:
    """Institutions located in a town (its center and village clinics), by code."""
    get_town(session, town_id)
    return list(
        session.scalars(
            select(Institution).where(Institution.town_id == town_id).order_by(Institution.code)
        )
    )


@dataclass(frozen=True)
class InstitutionQuery:
    """Filters of the institution list."""

    kind: str | None = None
    tier: str | None = None
    town_id: uuid.UUID | None = None
    community_id: uuid.UUID | None = None
    q: str | None = None
    limit: int = 100
    offset: int = 0


def list_institutions(session: Session, query: InstitutionQuery) -> tuple[int, list[Institution]]:
    """Institutions matching ``query`` by code, with the total count."""
    conditions = []
    if query.kind:
        conditions.append(Institution.kind == query.kind)
    if query.tier:
        conditions.append(Institution.tier == query.tier)
    if query.town_id:
        conditions.append(Institution.town_id == query.town_id)
    if query.community_id:
        conditions.append(Institution.community_id == query.community_id)
    if query.q:
        conditions.append(
            Institution.name.contains(query.q, autoescape=True) | (Institution.code == query.q)
        )
    statement = select(Institution).where(*conditions).order_by(Institution.code)
    return page(session, statement, query.limit, query.offset)


def institution_ids(tier: str | None = None) -> Select[tuple[uuid.UUID]]:
    """A subquery of the ids of the institutions of ``tier`` (all, without one), for other
    domains' filters: one query instead of loading the institutions."""
    query = select(Institution.id)
    return query if tier is None else query.where(Institution.tier == tier)


def department_ids(code: str, tier: str | None = None) -> Select[tuple[uuid.UUID]]:
    """A subquery of the ids of the departments of ``code`` (e.g. ``02`` general practice)
    across the county's institutions, of ``tier`` only when given."""
    query = select(Department.id).where(Department.code == code)
    if tier is not None:
        query = query.where(Department.institution_id.in_(institution_ids(tier)))
    return query


def get_institution(session: Session, institution_id: uuid.UUID) -> Institution:
    """One institution; ``NotFound`` if there is none."""
    inst = session.get(Institution, institution_id)
    if inst is None:
        raise NotFound(en="No such institution", zh="机构不存在")
    return inst


_UnitNames = dict[tuple[uuid.UUID, uuid.UUID], tuple[str, str, str]]
_UNIT_NAMES: weakref.WeakKeyDictionary[Engine, _UnitNames] = weakref.WeakKeyDictionary()
_UNIT_NAMES_MAX = 10_000


def unit_names(
    session: Session, institution_id: uuid.UUID, department_id: uuid.UUID
) -> tuple[str, str, str]:
    """The names of an institution and one of its departments, and the department's code.

    Names and codes are set when a unit is created and never change, so they are
    kept per database after the first read: every booking shown would otherwise load the
    institution and all its departments again.
    """
    engine = session.get_bind().engine
    known = _UNIT_NAMES.setdefault(engine, {})
    names = known.get((institution_id, department_id))
    if names is None:
        row = session.execute(
            select(Institution.name, Department.name, Department.code)
            .join(Department, Department.institution_id == Institution.id)
            .where(Institution.id == institution_id, Department.id == department_id)
        ).first()
        if row is None:
            raise NotFound(en="No such department", zh="科室不存在")
        if len(known) >= _UNIT_NAMES_MAX:
            known.clear()
        names = known[(institution_id, department_id)] = (row[0], row[1], row[2])
    return names


def referral_chain(session: Session, institution_id: uuid.UUID) -> list[Institution]:
    """The chain upward: village clinic -> township center -> lead hospital of the community."""
    chain = [get_institution(session, institution_id)]
    while chain[-1].parent_id is not None and len(chain) < 5:
        chain.append(get_institution(session, chain[-1].parent_id))
    community = chain[-1].community_id and session.get(MedicalCommunity, chain[-1].community_id)
    if community and community.lead_institution_id not in {i.id for i in chain}:
        chain.append(get_institution(session, community.lead_institution_id))
    return chain


@dataclass
class InstitutionNode:
    """A node of the institution tree: an institution and the units under it."""

    institution: Institution
    children: list[InstitutionNode] = field(default_factory=list)


@dataclass
class CommunityTree:
    """A medical community with its members as a tree under the lead hospital."""

    community: MedicalCommunity
    lead: InstitutionNode | None
    others: list[InstitutionNode]


def community_trees(session: Session) -> tuple[list[CommunityTree], list[Institution]]:
    """Every community as lead -> members -> village clinics, and the institutions outside any."""
    institutions = list(session.scalars(select(Institution).order_by(Institution.code)))
    nodes = {i.id: InstitutionNode(i) for i in institutions}
    for inst in institutions:
        if inst.parent_id in nodes:
            nodes[inst.parent_id].children.append(nodes[inst.id])
    trees = []
    for community in list_communities(session):
        lead = nodes.get(community.lead_institution_id) if community.lead_institution_id else None
        members = [
            nodes[i.id]
            for i in institutions
            if i.community_id == community.id
            and i.parent_id is None
            and i.id != community.lead_institution_id
        ]
        trees.append(CommunityTree(community, lead, members))
    outside = [i for i in institutions if i.community_id is None]
    return trees, outside


@dataclass(frozen=True)
class NewInstitution:
    """What it takes to register an institution."""

    code: str
    name: str
    kind: str
    county_code: str
    town_id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None
    community_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    ownership: str = "public"


def create_institution(session: Session, actor: Actor, new: NewInstitution) -> Institution:
    """Register an institution after checking its code, kind, place and community."""
    actor.require(roles.REGISTRY_WRITE)
    if new.kind not in INSTITUTION_KINDS:
        raise invalid_field(
            "kind",
            f"Unknown institution kind '{new.kind}'; one of {', '.join(INSTITUTION_KINDS)}",
            f"未知机构类型“{new.kind}”",
        )
    if not INSTITUTION_CODE.match(new.code):
        raise invalid_field(
            "code",
            "Institution code: 6-22 digits or capital letters",
            "机构代码须为6-22位数字或大写字母",
        )
    if not re.fullmatch(r"\d{6}", new.county_code):
        raise invalid_field(
            "county_code",
            "County code: 6 digits (GB/T 2260)",
            "县级行政区划代码须为6位数字（GB/T 2260）",
        )
    if not new.name.strip():
        raise invalid_field("name", "Name is required", "名称不能为空")
    if session.scalar(select(Institution.id).where(Institution.code == new.code)):
        raise Conflict(
            en=f"Institution code {new.code} is already registered",
            zh=f"机构代码 {new.code} 已登记",
        )
    _check_place(session, new)
    inst = Institution(
        code=new.code,
        name=new.name.strip(),
        kind=new.kind,
        tier=INSTITUTION_KINDS[new.kind][0],
        county_code=new.county_code,
        town_id=new.town_id,
        village_id=new.village_id,
        community_id=new.community_id,
        parent_id=new.parent_id,
        ownership=new.ownership,
    )
    session.add(inst)
    session.flush()
    audit.record(session, actor, "create", "institution", inst.id)
    return inst


def _check_place(session: Session, new: NewInstitution) -> None:
    if new.ownership not in ("public", "private"):
        raise invalid_field(
            "ownership", "Ownership is 'public' or 'private'", "所有制须为 public 或 private"
        )
    if new.town_id and session.get(Town, new.town_id) is None:
        raise invalid_field("town_id", "Unknown town", "乡镇不存在")
    village = new.village_id and session.get(Village, new.village_id)
    if new.village_id and not village:
        raise invalid_field("village_id", "Unknown village", "村（社区）不存在")
    if village and new.town_id and village.town_id != new.town_id:
        raise invalid_field(
            "village_id", "The village is not in the given town", "该村不属于所填乡镇"
        )
    if new.community_id and session.get(MedicalCommunity, new.community_id) is None:
        raise invalid_field("community_id", "Unknown medical community", "医共体不存在")
    if new.parent_id and session.get(Institution, new.parent_id) is None:
        raise invalid_field("parent_id", "Unknown parent institution", "上级机构不存在")
    if new.kind == "village_clinic" and not (new.village_id and new.parent_id):
        raise invalid_field(
            "parent_id",
            "A village clinic needs its village and its township center",
            "村卫生室须填写所在村和所属乡镇卫生院",
        )


def add_department(
    session: Session, actor: Actor, institution_id: uuid.UUID, code: str
) -> Department:
    """Open a department from the national catalog (诊疗科目) at an institution."""
    actor.require(roles.REGISTRY_WRITE)
    inst = get_institution(session, institution_id)
    catalog = department_catalog()
    if code not in catalog:
        raise invalid_field(
            "code",
            f"Department code '{code}' is not in the catalog",
            f"科室代码“{code}”不在诊疗科目目录中",
        )
    exists = select(Department.id).where(
        Department.institution_id == inst.id, Department.code == code
    )
    if session.scalar(exists):
        raise Conflict(en="The institution already has this department", zh="该机构已设此科室")
    dept = Department(institution_id=inst.id, code=code, name=catalog[code]["zh"])
    session.add(dept)
    session.flush()
    audit.record(session, actor, "create", "department", dept.id)
    return dept
