"""Code tables fit the columns that store their codes, on every backend."""

from __future__ import annotations

import pytest
from sqlalchemy import Column

from yigongti.registry.codes import (
    INSTITUTION_KINDS,
    INSURANCE_TYPES,
    RELATIONS,
    SEXES,
    TEAM_ROLES,
    TIERS,
    TITLES,
    department_catalog,
)
from yigongti.registry.models import (
    Department,
    Guardianship,
    Institution,
    Practitioner,
    Resident,
    TeamMember,
)

# code table -> the columns its codes are stored in
STORED_IN: list[tuple[str, object, list[Column]]] = [
    ("titles", TITLES, [Practitioner.__table__.c.title]),
    ("professions", {p for p, _, _ in TITLES.values()}, [Practitioner.__table__.c.profession]),
    ("institution kinds", INSTITUTION_KINDS, [Institution.__table__.c.kind]),
    ("tiers", TIERS, [Institution.__table__.c.tier]),
    ("team roles", TEAM_ROLES, [TeamMember.__table__.c.role]),
    ("insurance types", INSURANCE_TYPES, [Resident.__table__.c.insurance_type]),
    ("relations", RELATIONS, [Resident.__table__.c.relation, Guardianship.__table__.c.relation]),
    ("sexes", SEXES, [Resident.__table__.c.sex, Practitioner.__table__.c.sex]),
    ("departments", department_catalog(), [Department.__table__.c.code]),
]


@pytest.mark.parametrize(("name", "codes", "columns"), STORED_IN, ids=[s[0] for s in STORED_IN])
def test_every_code_fits_its_column(name: str, codes: object, columns: list[Column]) -> None:
    longest = max(codes, key=len)  # type: ignore[call-overload]
    for column in columns:
        assert len(longest) <= column.type.length, f"{name}: '{longest}' > {column}"


def test_every_title_belongs_to_a_profession_a_team_role_can_hold() -> None:
    professions = {profession for profession, _, _ in TITLES.values()}
    assert professions == {"physician", "nurse", "public_health", "technician"}
    assert {"nurse", "public_health"} <= set(TEAM_ROLES)
