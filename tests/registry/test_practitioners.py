"""Practitioners and "1+1+X" family-doctor teams."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.support import actor, count_rows, places
from yigongti.db import unit_of_work
from yigongti.kernel import Forbidden, Invalid, NotFound
from yigongti.registry import (
    NewPractitioner,
    NewTeam,
    PractitionerQuery,
    create_practitioner,
    create_team,
    list_practitioners,
    pinyin_initials,
)
from yigongti.registry.codes import TITLES
from yigongti.registry.models import Department, Institution, Practitioner

Login = Callable[[str], dict[str, str]]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with unit_of_work(engine) as session:
        yield session


def _staff(session: Session, institution_id: uuid.UUID, *professions: str) -> Practitioner:
    found = session.scalar(
        select(Practitioner)
        .where(
            Practitioner.institution_id == institution_id,
            Practitioner.profession.in_(professions),
        )
        .order_by(Practitioner.name)
        .limit(1)
    )
    assert found is not None, f"no {professions} at this institution in the test county"
    return found


def _county_hospital_of_another_community(session: Session, community_id: uuid.UUID) -> uuid.UUID:
    found = session.scalar(
        select(Institution.id).where(
            Institution.kind == "county_hospital",
            Institution.community_id.is_not(None),
            Institution.community_id != community_id,
        )
    )
    assert found is not None
    return found


def test_pinyin_initials_of_chinese_names() -> None:
    assert pinyin_initials("张三丰") == "ZSF"
    assert pinyin_initials("欧阳 修") == "OYX"
    assert pinyin_initials("李秀英") == "LXY"


def test_practitioners_are_found_by_pinyin_initials_in_either_case(session: Session) -> None:
    at = places(session)
    doctor = _staff(session, at.center.id, "physician")
    for q in (doctor.name_initials, doctor.name_initials.lower(), doctor.name_initials[:1]):
        total, found = list_practitioners(session, PractitionerQuery(at.center.id, q=q))
        assert doctor.id in {p.id for p in found}
        assert all(p.name_initials.startswith(q.upper()) for p in found)
        assert total >= len(found)


def test_practitioners_are_found_by_part_of_their_name(session: Session) -> None:
    at = places(session)
    doctor = _staff(session, at.lead.id, "physician")
    _, found = list_practitioners(session, PractitionerQuery(q=doctor.name[1:]))
    assert doctor.id in {p.id for p in found}


def test_practitioners_are_filtered_by_institution_department_and_title(
    session: Session,
) -> None:
    at = places(session)
    dept = session.scalar(
        select(Department)
        .join(Department.institution)
        .where(Department.institution_id == at.lead.id)
        .order_by(Department.code)
    )
    _, found = list_practitioners(
        session, PractitionerQuery(institution_id=at.lead.id, department_id=dept.id, limit=200)
    )
    assert found
    assert all(p.institution_id == at.lead.id for p in found)
    assert all(dept.id in {d.id for d in p.departments} for p in found)
    title = found[0].title
    _, titled = list_practitioners(session, PractitionerQuery(title=title, limit=200))
    assert {p.title for p in titled} == {title}


def test_a_registered_practitioner_gets_profession_from_title_and_pinyin_initials(
    session: Session,
) -> None:
    at = places(session)
    dept = at.center.departments[0]
    made = create_practitioner(
        session,
        actor(session, "system_admin"),
        NewPractitioner("王建国", "male", "attending_physician", "全科", at.center.id, (dept.id,)),
    )
    assert (made.profession, made.name_initials) == ("physician", "WJG")
    assert [d.id for d in made.departments] == [dept.id]


def test_a_practitioner_of_every_title_can_be_registered(session: Session) -> None:
    at = places(session)
    admin = actor(session, "system_admin")
    for title, (profession, _, _) in TITLES.items():
        made = create_practitioner(
            session, admin, NewPractitioner("王建国", "male", title, "", at.lead.id)
        )
        assert (made.title, made.profession) == (title, profession)
    session.flush()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "王"}, "name"),
        ({"sex": "m"}, "sex"),
        ({"title": "professor"}, "title"),
        ({"phone": "12345"}, "phone"),
    ],
)
def test_a_practitioner_breaking_a_rule_is_refused_by_field(
    session: Session, changes: dict[str, object], field: str
) -> None:
    at = places(session)
    fields: dict[str, object] = {
        "name": "王建国",
        "sex": "male",
        "title": "physician",
        "specialty": "",
        "institution_id": at.center.id,
    }
    fields.update(changes)
    with pytest.raises(Invalid) as caught:
        create_practitioner(session, actor(session, "system_admin"), NewPractitioner(**fields))
    assert [f.field for f in caught.value.fields] == [field]


def test_a_practitioner_in_a_department_of_another_institution_is_refused(
    session: Session,
) -> None:
    at = places(session)
    foreign = at.lead.departments[0]
    with pytest.raises(Invalid) as caught:
        create_practitioner(
            session,
            actor(session, "system_admin"),
            NewPractitioner("王建国", "male", "physician", "", at.center.id, (foreign.id,)),
        )
    assert caught.value.fields[0].field == "department_ids"


def test_a_department_listed_twice_is_refused(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        dept = str(at.center.departments[0].id)
    before = count_rows(engine, "practitioners")
    answer = client.post(
        "/api/v1/practitioners",
        json={
            "name": "王建国",
            "sex": "male",
            "title": "physician",
            "institution_id": str(at.center.id),
            "department_ids": [dept, dept],
        },
        headers=login("system_admin"),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "department_ids"
    assert count_rows(engine, "practitioners") == before


def test_a_practitioner_at_an_unknown_institution_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        create_practitioner(
            session,
            actor(session, "system_admin"),
            NewPractitioner("王建国", "male", "physician", "", uuid.uuid4()),
        )


def test_doctors_cannot_register_practitioners(session: Session) -> None:
    at = places(session)
    with pytest.raises(Forbidden):
        create_practitioner(
            session,
            actor(session, "county_doctor"),
            NewPractitioner("王建国", "male", "physician", "", at.center.id),
        )


# --- "1+1+X" teams ----------------------------------------------------------------------------


def _team(session: Session, **changes: object) -> NewTeam:
    at = places(session)
    fields: dict[str, object] = {
        "name": "石溪家庭医生团队",
        "institution_id": at.center.id,
        "gp_id": _staff(session, at.center.id, "physician").id,
        "partner_id": _staff(session, at.center.id, "nurse", "public_health").id,
        "specialist_ids": (_staff(session, at.lead.id, "physician").id,),
    }
    fields.update(changes)
    return NewTeam(**fields)  # type: ignore[arg-type]


def test_a_team_is_a_gp_a_nurse_or_public_health_doctor_and_county_specialists(
    session: Session,
) -> None:
    new = _team(session)
    team = create_team(session, actor(session, "bureau_admin"), new)
    roles = {m.practitioner_id: m.role for m in team.members}
    partner = session.get(Practitioner, new.partner_id)
    assert roles == {
        new.gp_id: "gp",
        new.partner_id: partner.profession,
        new.specialist_ids[0]: "specialist",
    }
    assert team.leader_id == new.gp_id


def test_a_team_without_specialists_is_a_valid_1_plus_1(session: Session) -> None:
    team = create_team(session, actor(session, "bureau_admin"), _team(session, specialist_ids=()))
    assert len(team.members) == 2


def test_a_team_is_not_based_at_a_village_clinic_or_county_hospital(session: Session) -> None:
    at = places(session)
    for base in (at.clinic.id, at.lead.id):
        with pytest.raises(Invalid) as caught:
            create_team(
                session, actor(session, "bureau_admin"), _team(session, institution_id=base)
            )
        assert caught.value.fields[0].field == "institution_id"


def test_the_team_leader_must_be_a_physician_of_the_center(session: Session) -> None:
    at = places(session)
    admin = actor(session, "bureau_admin")
    nurse = _staff(session, at.center.id, "nurse", "public_health")
    outsider = _staff(session, at.lead.id, "physician")
    for gp in (nurse.id, outsider.id):
        with pytest.raises(Invalid) as caught:
            create_team(session, admin, _team(session, gp_id=gp))
        assert caught.value.fields[0].field == "gp_id"


def test_the_second_member_must_be_a_nurse_or_public_health_doctor_of_the_center(
    session: Session,
) -> None:
    at = places(session)
    doctor = _staff(session, at.center.id, "physician")
    with pytest.raises(Invalid) as caught:
        create_team(session, actor(session, "bureau_admin"), _team(session, partner_id=doctor.id))
    assert caught.value.fields[0].field == "partner_id"


def test_specialists_come_from_county_hospitals_of_the_same_community(session: Session) -> None:
    at = places(session)
    admin = actor(session, "bureau_admin")
    foreign = _staff(
        session, _county_hospital_of_another_community(session, at.community.id), "physician"
    )
    township = _staff(session, at.center.id, "physician")
    for specialist in (foreign.id, township.id):
        with pytest.raises(Invalid) as caught:
            create_team(session, admin, _team(session, specialist_ids=(specialist,)))
        assert caught.value.fields[0].field == "specialist_ids"


def test_a_specialist_listed_twice_is_refused(
    client: TestClient, login: Login, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        new = _team(session)
    before = count_rows(engine, "family_doctor_teams")
    answer = client.post(
        "/api/v1/teams",
        json={
            "name": new.name,
            "institution_id": str(new.institution_id),
            "gp_id": str(new.gp_id),
            "partner_id": str(new.partner_id),
            "specialist_ids": [str(new.specialist_ids[0])] * 2,
        },
        headers=login("bureau_admin"),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "specialist_ids"
    assert count_rows(engine, "family_doctor_teams") == before


def test_only_administrators_form_teams(session: Session) -> None:
    with pytest.raises(Forbidden):
        create_team(session, actor(session, "township_doctor"), _team(session))


def test_teams_are_listed_by_institution(client: TestClient, login: Login, engine: Engine) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        team = create_team(session, actor(session, "system_admin"), _team(session))
    listed = client.get(
        "/api/v1/teams", params={"institution_id": str(at.center.id)}, headers=login("resident")
    ).json()
    assert str(team.id) in {t["id"] for t in listed}
    assert {t["institution_id"] for t in listed} == {str(at.center.id)}
    one = client.get(f"/api/v1/teams/{team.id}", headers=login("resident")).json()
    assert {m["role"] for m in one["members"]} >= {"gp", "specialist"}
