"""Structured lookup of the directory: communities, institutions, departments, staff, teams.

The registry pages take one free term; standards faces (FHIR Organization, Location,
Practitioner, PractitionerRole and CareTeam search) need the fields apart and combined, with
inactive entries too. Institutions and staff are not personal health data: any logged-in
actor may look them up; only a practitioner's phone is masked (``practitioner_phone``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from yigongti.db import page
from yigongti.kernel import NotFound, mask_phone
from yigongti.registry.models import (
    Department,
    FamilyDoctorTeam,
    Institution,
    MedicalCommunity,
    Practitioner,
    TeamMember,
    Town,
    Village,
)
from yigongti.security import Actor, audit, roles

Ids = tuple[uuid.UUID, ...] | None  # None leaves the filter out; () matches nothing


@dataclass(frozen=True)
class CommunityFilter:
    """Filters of medical communities, combined with AND; names match by prefix."""

    ids: Ids = None
    codes: tuple[str, ...] | None = None
    name: str | None = None


def find_communities(session: Session, where: CommunityFilter) -> list[MedicalCommunity]:
    """Medical communities matching ``where``, by code (a county has a handful)."""
    clauses = []
    if where.ids is not None:
        clauses.append(MedicalCommunity.id.in_(where.ids))
    if where.codes is not None:
        clauses.append(MedicalCommunity.code.in_(where.codes))
    if where.name:
        clauses.append(MedicalCommunity.name.startswith(where.name.strip(), autoescape=True))
    statement = select(MedicalCommunity).where(*clauses).order_by(MedicalCommunity.code)
    return list(session.scalars(statement))


@dataclass(frozen=True)
class InstitutionFilter:
    """Filters of institutions, combined with AND; names match by prefix.

    ``directly_under`` is the unit right above an institution: its parent institution (a
    village clinic's township center) or, for an institution without a parent, its medical
    community.
    """

    ids: Ids = None
    codes: tuple[str, ...] | None = None
    name: str | None = None
    kinds: tuple[str, ...] | None = None
    directly_under: uuid.UUID | None = None
    active: bool | None = None


def find_institutions(
    session: Session, where: InstitutionFilter, *, limit: int = 20, offset: int = 0
) -> tuple[int, list[Institution]]:
    """Institutions matching ``where``, by code, with the total."""
    clauses = []
    if where.ids is not None:
        clauses.append(Institution.id.in_(where.ids))
    if where.codes is not None:
        clauses.append(Institution.code.in_(where.codes))
    if where.name:
        clauses.append(Institution.name.startswith(where.name.strip(), autoescape=True))
    if where.kinds is not None:
        clauses.append(Institution.kind.in_(where.kinds))
    if where.directly_under is not None:
        clauses.append(
            or_(
                Institution.parent_id == where.directly_under,
                and_(
                    Institution.parent_id.is_(None),
                    Institution.community_id == where.directly_under,
                ),
            )
        )
    if where.active is not None:
        clauses.append(Institution.active.is_(where.active))
    statement = select(Institution).where(*clauses).order_by(Institution.code, Institution.id)
    return page(session, statement, limit, offset)


def place_names(
    session: Session, institution_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[str | None, str | None]]:
    """Where each institution stands: its town's and its village's names (either may be None)."""
    if not institution_ids:
        return {}
    rows = session.execute(
        select(Institution.id, Town.name, Village.name)
        .outerjoin(Town, Town.id == Institution.town_id)
        .outerjoin(Village, Village.id == Institution.village_id)
        .where(Institution.id.in_(institution_ids))
    )
    return {ident: (town, village) for ident, town, village in rows}


def get_department(session: Session, department_id: uuid.UUID) -> Department:
    """One department; ``NotFound`` if there is none."""
    department = session.get(Department, department_id)
    if department is None:
        raise NotFound(en="No such department", zh="科室不存在")
    return department


@dataclass(frozen=True)
class DepartmentFilter:
    """Filters of departments, combined with AND; names match by prefix."""

    ids: Ids = None
    institution_ids: Ids = None
    codes: tuple[str, ...] | None = None
    name: str | None = None


def find_departments(
    session: Session, where: DepartmentFilter, *, limit: int = 20, offset: int = 0
) -> tuple[int, list[Department]]:
    """Departments matching ``where``, by institution and code, with the total."""
    clauses = []
    if where.ids is not None:
        clauses.append(Department.id.in_(where.ids))
    if where.institution_ids is not None:
        clauses.append(Department.institution_id.in_(where.institution_ids))
    if where.codes is not None:
        clauses.append(Department.code.in_(where.codes))
    if where.name:
        clauses.append(Department.name.startswith(where.name.strip(), autoescape=True))
    statement = (
        select(Department)
        .join(Institution, Institution.id == Department.institution_id)
        .where(*clauses)
        .order_by(Institution.code, Department.code)
    )
    return page(session, statement, limit, offset)


@dataclass(frozen=True)
class StaffFilter:
    """Filters of practitioners, combined with AND.

    ``name`` matches Chinese characters by prefix and Latin letters as pinyin initials.
    ``workplace`` is a department id, or an institution id matching its staff who are in no
    department (the place a practitioner works is his departments, else his institution).
    """

    ids: Ids = None
    name: str | None = None
    sex: str | None = None
    active: bool | None = None
    institution_ids: Ids = None
    professions: tuple[str, ...] | None = None
    department_codes: tuple[str, ...] | None = None
    workplace: uuid.UUID | None = None


def find_staff(
    session: Session, where: StaffFilter, *, limit: int = 20, offset: int = 0
) -> tuple[int, list[Practitioner]]:
    """Practitioners (active or not) matching ``where``, by name, with the total."""
    statement = (
        select(Practitioner)
        .where(*_staff_clauses(where))
        .options(selectinload(Practitioner.departments))
        .order_by(Practitioner.name, Practitioner.id)
    )
    return page(session, statement, limit, offset)


def _staff_clauses(where: StaffFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if where.ids is not None:
        clauses.append(Practitioner.id.in_(where.ids))
    if where.name:
        term = where.name.replace(" ", "")
        clauses.append(
            Practitioner.name_initials.startswith(term.upper(), autoescape=True)
            if term.isascii()
            else Practitioner.name.startswith(term, autoescape=True)
        )
    if where.sex is not None:
        clauses.append(Practitioner.sex == where.sex)
    if where.active is not None:
        clauses.append(Practitioner.active.is_(where.active))
    if where.institution_ids is not None:
        clauses.append(Practitioner.institution_id.in_(where.institution_ids))
    if where.professions is not None:
        clauses.append(Practitioner.profession.in_(where.professions))
    if where.department_codes is not None:
        clauses.append(Practitioner.departments.any(Department.code.in_(where.department_codes)))
    if where.workplace is not None:
        clauses.append(
            or_(
                Practitioner.departments.any(Department.id == where.workplace),
                and_(
                    Practitioner.institution_id == where.workplace,
                    ~Practitioner.departments.any(),
                ),
            )
        )
    return clauses


def practitioner_phone(
    session: Session, actor: Actor, practitioner: Practitioner, *, reveal: bool = False
) -> str | None:
    """The practitioner's phone, masked unless a registry keeper asks to ``reveal`` (audited)."""
    if not (practitioner.phone and reveal and actor.can(roles.REGISTRY_WRITE)):
        return mask_phone(practitioner.phone)
    audit.record(session, actor, "reveal", "practitioner", practitioner.id, detail="phone")
    return practitioner.phone


@dataclass(frozen=True)
class TeamFilter:
    """Filters of family-doctor teams, combined with AND."""

    ids: Ids = None
    institution_ids: Ids = None
    member_id: uuid.UUID | None = None


def find_teams(
    session: Session, where: TeamFilter, *, limit: int = 20, offset: int = 0
) -> tuple[int, list[FamilyDoctorTeam]]:
    """Family-doctor teams matching ``where``, by name, with the total."""
    clauses = []
    if where.ids is not None:
        clauses.append(FamilyDoctorTeam.id.in_(where.ids))
    if where.institution_ids is not None:
        clauses.append(FamilyDoctorTeam.institution_id.in_(where.institution_ids))
    if where.member_id is not None:
        clauses.append(FamilyDoctorTeam.members.any(TeamMember.practitioner_id == where.member_id))
    statement = (
        select(FamilyDoctorTeam)
        .where(*clauses)
        .options(selectinload(FamilyDoctorTeam.members).selectinload(TeamMember.practitioner))
        .order_by(FamilyDoctorTeam.name, FamilyDoctorTeam.id)
    )
    return page(session, statement, limit, offset)
