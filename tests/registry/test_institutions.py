"""Institutions and medical communities: the three tiers, the referral chain, registration rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.support import actor, count_rows, places
from yigongti.db import unit_of_work
from yigongti.kernel import Conflict, Forbidden, Invalid, NotFound
from yigongti.registry import (
    NewInstitution,
    add_department,
    community_trees,
    create_institution,
    institutions_of_town,
    list_communities,
    members_of_community,
    referral_chain,
)
from yigongti.registry.models import Institution, MedicalCommunity, Village

Login = Callable[[str], dict[str, str]]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with unit_of_work(engine) as session:
        yield session


def test_the_referral_chain_of_a_village_clinic_is_clinic_center_lead_hospital(
    session: Session,
) -> None:
    at = places(session)
    chain = referral_chain(session, at.clinic.id)
    assert [i.id for i in chain] == [at.clinic.id, at.center.id, at.community.lead_institution_id]
    assert [i.tier for i in chain] == ["village", "township", "county"]


def test_the_referral_chain_of_a_center_ends_at_its_lead_hospital(session: Session) -> None:
    at = places(session)
    assert [i.id for i in referral_chain(session, at.center.id)] == [at.center.id, at.lead.id]


def test_the_lead_hospital_is_its_own_chain(session: Session) -> None:
    at = places(session)
    assert [i.id for i in referral_chain(session, at.lead.id)] == [at.lead.id]


def test_every_village_clinic_chains_up_to_the_lead_of_its_own_community(
    session: Session,
) -> None:
    clinics = session.scalars(select(Institution).where(Institution.kind == "village_clinic"))
    for clinic in clinics:
        chain = referral_chain(session, clinic.id)
        community = session.get(MedicalCommunity, clinic.community_id)
        assert len(chain) == 3
        assert chain[1].kind in ("township_center", "community_center")
        assert chain[2].id == community.lead_institution_id


def test_members_of_a_community_are_its_lead_hospital_and_its_member_institutions(
    session: Session,
) -> None:
    at = places(session)
    members = members_of_community(session, at.community.id)
    assert members[0].tier == "county"
    assert at.lead.id in {m.id for m in members}
    assert {at.clinic.id, at.center.id} <= {m.id for m in members}
    assert {m.community_id for m in members} == {at.community.id}
    assert [m.tier for m in members] == sorted(m.tier for m in members)


def test_every_public_health_institution_but_the_bureau_and_cdc_belongs_to_one_community(
    session: Session,
) -> None:
    communities = list_communities(session)
    assert len(communities) >= 2
    members = [set(m.id for m in members_of_community(session, c.id)) for c in communities]
    assert all(a.isdisjoint(b) for i, a in enumerate(members) for b in members[i + 1 :])
    outside = session.scalars(select(Institution.kind).where(Institution.community_id.is_(None)))
    assert set(outside) <= {"health_bureau", "cdc", "private_hospital"}


def test_the_community_tree_puts_clinics_under_their_center(session: Session) -> None:
    at = places(session)
    trees, outside = community_trees(session)
    tree = next(t for t in trees if t.community.id == at.community.id)
    assert tree.lead is not None and tree.lead.institution.id == at.lead.id
    center = next(n for n in tree.others if n.institution.id == at.center.id)
    assert at.clinic.id in {c.institution.id for c in center.children}
    assert {i.kind for i in outside} >= {"health_bureau", "cdc"}


def test_institutions_of_a_town_are_its_center_and_its_village_clinics(session: Session) -> None:
    at = places(session)
    found = institutions_of_town(session, at.center.town_id)
    assert {i.id for i in found} >= {at.center.id, at.clinic.id}
    assert {i.town_id for i in found} == {at.center.town_id}
    assert [i.code for i in found] == sorted(i.code for i in found)


def test_asking_for_an_unknown_community_or_town_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        members_of_community(session, uuid.uuid4())
    with pytest.raises(NotFound):
        institutions_of_town(session, uuid.uuid4())
    with pytest.raises(NotFound):
        referral_chain(session, uuid.uuid4())


# --- registering institutions ----------------------------------------------------------------


def _new_clinic(session: Session, **changes: object) -> NewInstitution:
    at = places(session)
    village = (
        session.scalar(
            select(Village).where(
                Village.town_id == at.center.town_id,
                Village.id.not_in(
                    select(Institution.village_id).where(Institution.village_id.is_not(None))
                ),
            )
        )
        or at.village
    )
    fields: dict[str, object] = {
        "code": "3307847NEW01",
        "name": f"{village.name}卫生室",
        "kind": "village_clinic",
        "county_code": "330784",
        "town_id": at.center.town_id,
        "village_id": village.id,
        "community_id": at.community.id,
        "parent_id": at.center.id,
    }
    fields.update(changes)
    return NewInstitution(**fields)  # type: ignore[arg-type]


def test_a_new_village_clinic_joins_the_chain_of_its_center(session: Session) -> None:
    created = create_institution(session, actor(session, "system_admin"), _new_clinic(session))
    assert created.tier == "village"
    at = places(session)
    assert [i.id for i in referral_chain(session, created.id)] == [
        created.id,
        at.center.id,
        at.lead.id,
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "clinic"}, "kind"),
        ({"code": "abc"}, "code"),
        ({"code": "3307-847"}, "code"),
        ({"county_code": "3307"}, "county_code"),
        ({"name": "   "}, "name"),
        ({"parent_id": None}, "parent_id"),
        ({"village_id": None}, "parent_id"),
        ({"ownership": "mixed"}, "ownership"),
        ({"town_id": uuid.UUID(int=5)}, "town_id"),
        ({"village_id": uuid.UUID(int=5)}, "village_id"),
        ({"community_id": uuid.UUID(int=5)}, "community_id"),
        ({"parent_id": uuid.UUID(int=5)}, "parent_id"),
    ],
)
def test_an_institution_breaking_a_rule_is_refused_by_field(
    session: Session, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(Invalid) as caught:
        create_institution(session, actor(session, "system_admin"), _new_clinic(session, **changes))
    assert [f.field for f in caught.value.fields] == [field]


def test_a_village_from_another_town_is_refused(session: Session) -> None:
    at = places(session)
    elsewhere = session.scalar(select(Village).where(Village.town_id != at.center.town_id))
    with pytest.raises(Invalid) as caught:
        create_institution(
            session, actor(session, "system_admin"), _new_clinic(session, village_id=elsewhere.id)
        )
    assert caught.value.fields[0].field == "village_id"


def test_a_registered_institution_code_is_a_conflict(session: Session) -> None:
    at = places(session)
    with pytest.raises(Conflict):
        create_institution(
            session, actor(session, "bureau_admin"), _new_clinic(session, code=at.clinic.code)
        )


@pytest.mark.parametrize("role", ["township_doctor", "bureau_analyst", "cdc_officer", "resident"])
def test_only_administrators_register_institutions(session: Session, role: str) -> None:
    before = session.scalar(select(func.count()).select_from(Institution))
    with pytest.raises(Forbidden):
        create_institution(session, actor(session, role), _new_clinic(session))
    assert session.scalar(select(func.count()).select_from(Institution)) == before


def test_institution_registration_over_the_api_answers_201_then_409(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        new = _new_clinic(session)
    body = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in vars(new).items()}
    headers = login("bureau_admin")
    first = client.post("/api/v1/institutions", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["tier"] == "village"
    before = count_rows(engine, "institutions")
    again = client.post("/api/v1/institutions", json=body, headers=headers)
    assert again.status_code == 409
    assert again.json()["detail_zh"] == f"机构代码 {new.code} 已登记"
    assert count_rows(engine, "institutions") == before


# --- departments ------------------------------------------------------------------------------


def test_a_department_is_opened_from_the_national_catalog_once(session: Session) -> None:
    at = places(session)
    admin = actor(session, "system_admin")
    have = {d.code for d in at.clinic.departments}
    code = next(c for c in ("04", "10", "11", "13", "20", "21") if c not in have)
    dept = add_department(session, admin, at.clinic.id, code)
    assert dept.code == code and dept.name
    with pytest.raises(Conflict):
        add_department(session, admin, at.clinic.id, code)


def test_a_department_code_outside_the_catalog_is_refused(session: Session) -> None:
    at = places(session)
    with pytest.raises(Invalid) as caught:
        add_department(session, actor(session, "system_admin"), at.clinic.id, "99.99")
    assert caught.value.fields[0].field == "code"


def test_a_department_of_an_unknown_institution_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        add_department(session, actor(session, "system_admin"), uuid.uuid4(), "03")
