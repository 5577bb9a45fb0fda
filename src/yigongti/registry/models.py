"""Tables of the registries: places, institutions, practitioners and teams, residents."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yigongti.db import Base, UTCDateTime, uuid_pk
from yigongti.kernel import now


class Town(Base):
    """A township, town or subdistrict (乡/镇/街道) of the county."""

    __tablename__ = "towns"

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))  # town | township | subdistrict
    county_code: Mapped[str] = mapped_column(String(6))

    villages: Mapped[list[Village]] = relationship(back_populates="town", order_by="Village.code")


class Village(Base):
    """An administrative village or urban community (行政村/社区)."""

    __tablename__ = "villages"

    id: Mapped[uuid.UUID] = uuid_pk()
    town_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("towns.id"), index=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))  # village | community

    town: Mapped[Town] = relationship(back_populates="villages")


class MedicalCommunity(Base):
    """A county medical community (医共体): a lead hospital and its member institutions."""

    __tablename__ = "medical_communities"

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    county_code: Mapped[str] = mapped_column(String(6))
    lead_institution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("institutions.id", use_alter=True, name="fk_community_lead")
    )


class Institution(Base):
    """A health institution or the bureau; members of a community carry its id."""

    __tablename__ = "institutions"

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(22), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(24), index=True)
    tier: Mapped[str] = mapped_column(String(10), index=True)  # county | township | village
    county_code: Mapped[str] = mapped_column(String(6))
    town_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("towns.id"), index=True)
    village_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("villages.id"))
    community_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("medical_communities.id"), index=True
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    ownership: Mapped[str] = mapped_column(String(10), default="public")  # public | private
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    departments: Mapped[list[Department]] = relationship(
        back_populates="institution", order_by="Department.code"
    )


class Department(Base):
    """A clinical or technical department (科室) of an institution."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    code: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(40))

    institution: Mapped[Institution] = relationship(back_populates="departments")


class PractitionerDepartment(Base):
    """A practitioner works in a department."""

    __tablename__ = "practitioner_departments"

    practitioner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("practitioners.id"), primary_key=True
    )
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), primary_key=True)


class Practitioner(Base):
    """A doctor, nurse, public-health doctor or technician."""

    __tablename__ = "practitioners"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(40))
    name_initials: Mapped[str] = mapped_column(String(10), index=True)
    sex: Mapped[str] = mapped_column(String(6))
    profession: Mapped[str] = mapped_column(String(16))  # physician | nurse | public_health | ...
    title: Mapped[str] = mapped_column(String(32))  # 职称, see registry.codes.TITLES
    specialty: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    departments: Mapped[list[Department]] = relationship(secondary="practitioner_departments")


class FamilyDoctorTeam(Base):
    """A "1+1+X" family-doctor team (家庭医生团队) based at a primary institution."""

    __tablename__ = "family_doctor_teams"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(60))
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    leader_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"))

    members: Mapped[list[TeamMember]] = relationship(back_populates="team")


class TeamMember(Base):
    """A practitioner's place in a family-doctor team: gp, nurse, public_health or specialist."""

    __tablename__ = "team_members"

    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("family_doctor_teams.id"), primary_key=True
    )
    practitioner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("practitioners.id"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16))

    team: Mapped[FamilyDoctorTeam] = relationship(back_populates="members")
    practitioner: Mapped[Practitioner] = relationship()


class Household(Base):
    """A household (户) registered at an address in a village."""

    __tablename__ = "households"

    id: Mapped[uuid.UUID] = uuid_pk()
    village_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("villages.id"), index=True)
    address: Mapped[str] = mapped_column(String(120))


class Resident(Base):
    """A person of the resident master index (居民主索引)."""

    __tablename__ = "residents"
    __table_args__ = (Index("ix_residents_name", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(40))
    name_initials: Mapped[str] = mapped_column(String(10), index=True)
    sex: Mapped[str] = mapped_column(String(6))  # male | female
    birth_date: Mapped[date] = mapped_column(Date)
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    # 电子健康卡号: the national e-health card's ID, 64 hex digits (kept in upper case).
    ehealth_card_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    household_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("households.id"), index=True)
    relation: Mapped[str] = mapped_column(String(12), default="head")  # to the household head
    residence_village_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("villages.id"), index=True)
    hukou_village_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("villages.id"))
    permanent: Mapped[bool] = mapped_column(Boolean, default=True)  # 常住
    insurance_type: Mapped[str] = mapped_column(String(16))  # urban_rural | employee | none
    deceased_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    residence_village: Mapped[Village] = relationship(foreign_keys=[residence_village_id])
    hukou_village: Mapped[Village | None] = relationship(foreign_keys=[hukou_village_id])


class Guardianship(Base):
    """``guardian`` may act for ``ward`` (a child, or an adult who cannot act alone)."""

    __tablename__ = "guardianships"

    guardian_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    ward_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("residents.id"), primary_key=True, index=True
    )
    relation: Mapped[str] = mapped_column(String(12))  # parent | child | spouse | other
