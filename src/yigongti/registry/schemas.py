"""API models of the registries."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from yigongti.registry.service.residents import ResidentView

Short = Field(max_length=80)


class TownOut(BaseModel):
    """A town of the county."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    kind: str


class VillageOut(BaseModel):
    """A village or urban community."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    town_id: uuid.UUID
    code: str
    name: str
    kind: str


class CommunityOut(BaseModel):
    """A medical community (医共体)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    county_code: str
    lead_institution_id: uuid.UUID | None


class DepartmentOut(BaseModel):
    """A department of an institution."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str


class DepartmentIn(BaseModel):
    """A department to open, by its national catalog code."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=10)


class InstitutionOut(BaseModel):
    """An institution."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    kind: str
    tier: str
    county_code: str
    town_id: uuid.UUID | None
    village_id: uuid.UUID | None
    community_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    ownership: str


class InstitutionIn(BaseModel):
    """An institution to register."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=22)
    name: str = Field(min_length=1, max_length=80)
    kind: str = Field(max_length=24)
    county_code: str = Field(max_length=6)
    town_id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None
    community_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    ownership: str = Field(default="public", max_length=10)


class PractitionerOut(BaseModel):
    """A practitioner."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    sex: str
    profession: str
    title: str
    specialty: str
    institution_id: uuid.UUID
    departments: list[DepartmentOut]


class PractitionerIn(BaseModel):
    """A practitioner to register."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40)
    sex: str = Field(max_length=6)
    title: str = Field(max_length=30)
    specialty: str = Field(default="", max_length=40)
    institution_id: uuid.UUID
    department_ids: list[uuid.UUID] = Field(default=[], max_length=20)
    phone: str | None = Field(default=None, max_length=20)


class TeamMemberOut(BaseModel):
    """A member of a family-doctor team."""

    model_config = ConfigDict(from_attributes=True)

    practitioner_id: uuid.UUID
    role: str


class TeamOut(BaseModel):
    """A "1+1+X" family-doctor team."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    institution_id: uuid.UUID
    leader_id: uuid.UUID
    members: list[TeamMemberOut]


class TeamIn(BaseModel):
    """A team to form: the GP leader, a nurse or public-health doctor, county specialists."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    institution_id: uuid.UUID
    gp_id: uuid.UUID
    partner_id: uuid.UUID
    specialist_ids: list[uuid.UUID] = Field(default=[], max_length=10)


# The service's view is the API's answer: one definition of how a resident is shown outside,
# masked unless ``revealed``.
ResidentOut = ResidentView


class ResidentIn(BaseModel):
    """A resident to register; sex and birth date are read from the ID number when given."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40)
    id_number: str | None = Field(default=None, max_length=18)
    residence_village_id: uuid.UUID
    sex: str | None = Field(default=None, max_length=6)
    birth_date: date | None = None
    phone: str | None = Field(default=None, max_length=20)
    hukou_local: bool = True
    permanent: bool = True
    insurance_type: str = Field(default="urban_rural", max_length=16)
    household_id: uuid.UUID | None = None
    relation: str = Field(default="head", max_length=12)


class ResidentPatch(BaseModel):
    """Changes to a resident; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(default=None, max_length=20)
    residence_village_id: uuid.UUID | None = None
    permanent: bool | None = None
    insurance_type: str | None = Field(default=None, max_length=16)


class GuardianIn(BaseModel):
    """A guardianship to record."""

    model_config = ConfigDict(extra="forbid")

    guardian_id: uuid.UUID
    relation: str = Field(max_length=12)
