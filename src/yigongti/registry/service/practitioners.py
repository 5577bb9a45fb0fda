"""Use cases of practitioners and "1+1+X" family-doctor teams."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti.db import page
from yigongti.kernel import NotFound, invalid_field
from yigongti.registry.codes import PRIMARY_KINDS, SEXES, TITLES
from yigongti.registry.models import Department, FamilyDoctorTeam, Practitioner, TeamMember
from yigongti.registry.service.institutions import get_institution
from yigongti.registry.service.names import pinyin_initials
from yigongti.registry.service.residents import PHONE
from yigongti.security import Actor, audit, roles


@dataclass(frozen=True)
class PractitionerQuery:
    """Filters of the practitioner list."""

    institution_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    title: str | None = None
    q: str | None = None
    limit: int = 50
    offset: int = 0


def list_practitioners(
    session: Session, query: PractitionerQuery
) -> tuple[int, list[Practitioner]]:
    """Practitioners matching ``query`` (name or pinyin initials in ``q``), with the total."""
    conditions = [Practitioner.active.is_(True)]
    if query.institution_id:
        conditions.append(Practitioner.institution_id == query.institution_id)
    if query.title:
        conditions.append(Practitioner.title == query.title)
    if query.department_id:
        conditions.append(Practitioner.departments.any(Department.id == query.department_id))
    if query.q:
        q = query.q.strip()
        conditions.append(
            Practitioner.name_initials.startswith(q.upper(), autoescape=True)
            if q.isascii()
            else Practitioner.name.contains(q, autoescape=True)
        )
    statement = select(Practitioner).where(*conditions).order_by(Practitioner.name)
    return page(session, statement, query.limit, query.offset)


def get_practitioner(session: Session, practitioner_id: uuid.UUID) -> Practitioner:
    """One practitioner; ``NotFound`` if there is none."""
    found = session.get(Practitioner, practitioner_id)
    if found is None:
        raise NotFound(en="No such practitioner", zh="医务人员不存在")
    return found


@dataclass(frozen=True)
class NewPractitioner:
    """What it takes to register a practitioner."""

    name: str
    sex: str
    title: str
    specialty: str
    institution_id: uuid.UUID
    department_ids: tuple[uuid.UUID, ...] = ()
    phone: str | None = None


def create_practitioner(session: Session, actor: Actor, new: NewPractitioner) -> Practitioner:
    """Register a practitioner at an institution, in some of its departments."""
    actor.require(roles.REGISTRY_WRITE)
    name = new.name.strip()
    if not 1 < len(name) <= 40:
        raise invalid_field("name", "Name: 2-40 characters", "姓名须为2-40个字")
    if new.sex not in SEXES:
        raise invalid_field("sex", "Sex is 'male' or 'female'", "性别须为 male 或 female")
    if new.title not in TITLES:
        raise invalid_field("title", f"Unknown title '{new.title}'", f"未知职称“{new.title}”")
    if new.phone and not PHONE.match(new.phone):
        raise invalid_field("phone", "Phone: 11-digit mobile number", "手机号须为11位")
    inst = get_institution(session, new.institution_id)
    if len(set(new.department_ids)) < len(new.department_ids):
        raise invalid_field("department_ids", "A department is listed twice", "科室重复")
    departments = [session.get(Department, d) for d in new.department_ids]
    if any(d is None or d.institution_id != inst.id for d in departments):
        raise invalid_field(
            "department_ids",
            "Every department must belong to the institution",
            "科室须属于所在机构",
        )
    found = Practitioner(
        name=name,
        name_initials=pinyin_initials(name),
        sex=new.sex,
        title=new.title,
        profession=TITLES[new.title][0],
        specialty=new.specialty.strip(),
        institution_id=inst.id,
        phone=new.phone,
        departments=departments,
    )
    session.add(found)
    session.flush()
    audit.record(session, actor, "create", "practitioner", found.id)
    return found


def list_teams(session: Session, institution_id: uuid.UUID | None = None) -> list[FamilyDoctorTeam]:
    """Family-doctor teams, of one institution or all, by name."""
    query = select(FamilyDoctorTeam).order_by(FamilyDoctorTeam.name)
    if institution_id:
        query = query.where(FamilyDoctorTeam.institution_id == institution_id)
    return list(session.scalars(query))


def get_team(session: Session, team_id: uuid.UUID) -> FamilyDoctorTeam:
    """One family-doctor team; ``NotFound`` if there is none."""
    team = session.get(FamilyDoctorTeam, team_id)
    if team is None:
        raise NotFound(en="No such family-doctor team", zh="家庭医生团队不存在")
    return team


@dataclass(frozen=True)
class NewTeam:
    """A "1+1+X" team: a GP leader, a nurse or public-health doctor, county specialists."""

    name: str
    institution_id: uuid.UUID
    gp_id: uuid.UUID
    partner_id: uuid.UUID
    specialist_ids: tuple[uuid.UUID, ...] = ()


def create_team(session: Session, actor: Actor, new: NewTeam) -> FamilyDoctorTeam:
    """Form a family-doctor team at a primary institution, checking the "1+1+X" shape."""
    actor.require(roles.REGISTRY_WRITE)
    inst = get_institution(session, new.institution_id)
    if inst.kind not in PRIMARY_KINDS - {"village_clinic"}:
        raise invalid_field(
            "institution_id",
            "Teams are based at township or community centers",
            "家庭医生团队须设在乡镇卫生院或社区卫生服务中心",
        )
    gp = get_practitioner(session, new.gp_id)
    partner = get_practitioner(session, new.partner_id)
    if gp.profession != "physician" or gp.institution_id != inst.id:
        raise invalid_field(
            "gp_id", "The leader must be a physician of the center", "团队长须为本中心的医师"
        )
    if partner.profession not in ("nurse", "public_health") or partner.institution_id != inst.id:
        raise invalid_field(
            "partner_id",
            "The second member is a nurse or public-health doctor of the center",
            "第二名成员须为本中心的护士或公卫医生",
        )
    if len(set(new.specialist_ids)) < len(new.specialist_ids):
        raise invalid_field("specialist_ids", "A specialist is listed twice", "专科医生重复")
    specialists = [get_practitioner(session, s) for s in new.specialist_ids]
    for s in specialists:
        home = get_institution(session, s.institution_id)
        if home.tier != "county" or home.community_id != inst.community_id:
            raise invalid_field(
                "specialist_ids",
                "Specialists come from county hospitals of the same community",
                "专科医生须来自本医共体的县级医院",
            )
    team = FamilyDoctorTeam(name=new.name.strip(), institution_id=inst.id, leader_id=gp.id)
    team.members = [
        TeamMember(practitioner=gp, role="gp"),
        TeamMember(practitioner=partner, role=partner.profession),
        *(TeamMember(practitioner=s, role="specialist") for s in specialists),
    ]
    session.add(team)
    session.flush()
    audit.record(session, actor, "create", "family_doctor_team", team.id)
    return team
