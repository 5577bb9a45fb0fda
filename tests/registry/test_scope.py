"""Who sees which residents: the scope rules of every role (the heart of the registry)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.support import (
    actor,
    add_encounter,
    all_residents,
    last_audit,
    max_seq,
    other_town,
    places,
    resident_outside,
    resident_where,
    residents_of_villages,
    towns_of_community,
    treated_at,
    villages_of_towns,
    visible_ids,
    wards,
)
from yigongti.db import unit_of_work
from yigongti.kernel import Forbidden, NotFound
from yigongti.registry import get_resident, household_of, search_residents
from yigongti.registry.models import Guardianship, Institution, Resident, Village
from yigongti.security import Actor

REASON = "传染病密切接触者核查"


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with unit_of_work(engine) as session:
        yield session


def test_village_doctor_sees_his_village_and_his_clinics_patients_only(session: Session) -> None:
    at = places(session)
    expected = residents_of_villages(session, {at.clinic.village_id}) | treated_at(
        session, at.clinic.id
    )
    assert visible_ids(session, actor(session, "village_doctor")) == expected
    assert at.resident.id in expected


def test_village_doctor_does_not_see_a_resident_of_the_next_village(session: Session) -> None:
    at = places(session)
    doctor = actor(session, "village_doctor")
    neighbour = resident_where(
        session,
        Resident.residence_village_id.in_(villages_of_towns(session, {at.village.town_id})),
        Resident.residence_village_id != at.village.id,
        Resident.id.not_in(treated_at(session, at.clinic.id)),
    )
    with pytest.raises(NotFound):
        get_resident(session, doctor, neighbour.id)


def test_township_doctor_sees_his_town_and_his_centers_patients_only(session: Session) -> None:
    at = places(session)
    town_villages = villages_of_towns(session, {at.center.town_id})
    expected = residents_of_villages(session, town_villages) | treated_at(session, at.center.id)
    assert visible_ids(session, actor(session, "township_doctor")) == expected


def test_township_doctor_does_not_see_residents_of_another_town(session: Session) -> None:
    at = places(session)
    doctor = actor(session, "township_doctor")
    elsewhere = other_town(session, at.center.town_id)
    stranger = resident_where(
        session,
        Resident.residence_village_id.in_(villages_of_towns(session, {elsewhere.id})),
        Resident.id.not_in(treated_at(session, at.center.id)),
    )
    with pytest.raises(NotFound):
        get_resident(session, doctor, stranger.id)
    _, found = search_residents(session, doctor, stranger.name)
    assert stranger.id not in {r.id for r in found}


def test_window_clerk_sees_what_the_township_doctor_of_his_center_sees(session: Session) -> None:
    assert visible_ids(session, actor(session, "window_clerk")) == visible_ids(
        session, actor(session, "township_doctor")
    )


def test_county_doctor_sees_every_town_of_his_community_and_his_hospitals_patients(
    session: Session,
) -> None:
    at = places(session)
    towns = towns_of_community(session, at.community.id)
    assert at.center.town_id in towns
    assert len(towns) > 1
    expected = residents_of_villages(session, villages_of_towns(session, towns)) | treated_at(
        session, at.lead.id
    )
    assert visible_ids(session, actor(session, "county_doctor")) == expected


def test_county_doctor_sees_a_resident_of_another_community_once_treated_at_his_hospital(
    session: Session,
) -> None:
    at = places(session)
    doctor = actor(session, "county_doctor")
    outsider = resident_outside(session, doctor)
    with pytest.raises(NotFound):
        get_resident(session, doctor, outsider.id)
    add_encounter(session, outsider.id, at.lead.id)
    assert get_resident(session, doctor, outsider.id).id == outsider.id


def test_county_doctor_does_not_see_residents_of_another_community(session: Session) -> None:
    at = places(session)
    doctor = actor(session, "county_doctor")
    other_centers = select(Institution.town_id).where(
        Institution.kind.in_(("township_center", "community_center")),
        Institution.community_id != at.community.id,
    )
    other_villages = select(Village.id).where(Village.town_id.in_(other_centers))
    seen = visible_ids(session, doctor)
    elsewhere = residents_of_villages(session, set(session.scalars(other_villages)))
    assert elsewhere
    assert seen & elsewhere <= treated_at(session, at.lead.id)


def test_center_reader_at_the_lead_hospital_sees_what_its_county_doctor_sees(
    session: Session,
) -> None:
    assert visible_ids(session, actor(session, "center_reader")) == visible_ids(
        session, actor(session, "county_doctor")
    )


def test_resident_sees_himself_and_his_wards_only(session: Session) -> None:
    at = places(session)
    me = actor(session, "resident")
    my_wards = wards(session, at.resident.id)
    assert my_wards
    assert visible_ids(session, me) == {at.resident.id} | my_wards


def test_resident_does_not_see_a_household_member_he_is_not_guardian_of(
    session: Session,
) -> None:
    at = places(session)
    me = actor(session, "resident")
    relative = resident_where(
        session,
        Resident.household_id == at.resident.household_id,
        Resident.id != at.resident.id,
        Resident.id.not_in(wards(session, at.resident.id)),
    )
    with pytest.raises(NotFound):
        get_resident(session, me, relative.id)
    household = {r.id for r in household_of(session, me, at.resident.id)}
    assert relative.id not in household
    assert household == {
        at.resident.id,
        *(w for w in wards(session, at.resident.id) if _same_household(session, w, at.resident)),
    }


def _same_household(session: Session, resident_id: object, other: Resident) -> bool:
    return session.get(Resident, resident_id).household_id == other.household_id


def test_resident_sees_a_new_ward_once_the_guardianship_is_recorded(session: Session) -> None:
    at = places(session)
    me = actor(session, "resident")
    stranger = resident_outside(session, me)
    session.add(Guardianship(guardian_id=at.resident.id, ward_id=stranger.id, relation="other"))
    session.flush()
    assert get_resident(session, me, stranger.id).id == stranger.id


def test_resident_account_without_a_person_sees_nobody(session: Session) -> None:
    nobody = Actor(user_id=None, username="orphan", role="resident")
    assert visible_ids(session, nobody) == set()


def test_staff_account_without_an_institution_sees_nobody(session: Session) -> None:
    homeless = Actor(user_id=None, username="homeless", role="township_doctor")
    assert visible_ids(session, homeless) == set()


@pytest.mark.parametrize("role", ["cdc_officer", "system_admin"])
def test_county_wide_roles_see_every_resident_of_the_county(session: Session, role: str) -> None:
    assert visible_ids(session, actor(session, role)) == all_residents(session)


@pytest.mark.parametrize("role", ["bureau_analyst", "bureau_admin"])
def test_bureau_roles_are_refused_personal_records_without_a_reason(
    session: Session, role: str
) -> None:
    at = places(session)
    official = actor(session, role)
    for reason in (None, "", "   ", "查看"):
        with pytest.raises(Forbidden) as caught:
            get_resident(session, official, at.resident.id, reason=reason)
        assert "须填写事由" in caught.value.zh
    with pytest.raises(Forbidden):
        search_residents(session, official, at.resident.name)


@pytest.mark.parametrize("role", ["bureau_analyst", "bureau_admin"])
def test_bureau_roles_read_any_resident_with_a_reason_that_is_audited(
    session: Session, role: str
) -> None:
    at = places(session)
    official = actor(session, role)
    assert visible_ids(session, official, REASON) == all_residents(session)
    view = get_resident(session, official, at.resident.id, reason=REASON)
    assert view.id == at.resident.id
    session.commit()  # audit rows are chained and written at commit
    row = last_audit(session)
    assert (row.actor_role, row.action, row.person_id, row.reason) == (
        role,
        "read",
        at.resident.id,
        REASON,
    )


@pytest.mark.parametrize("role", ["bureau_analyst", "bureau_admin", "center_reader"])
def test_roles_without_reveal_cannot_unmask_id_numbers(session: Session, role: str) -> None:
    at = places(session)
    reader = actor(session, role)
    reason = REASON if role.startswith("bureau") else None
    assert get_resident(session, reader, at.resident.id, reason=reason).revealed is False
    with pytest.raises(Forbidden):
        get_resident(session, reader, at.resident.id, reveal=True, reason=reason)


def test_a_refused_reveal_is_not_recorded_as_a_reveal(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        before = max_seq(session)
        reader = actor(session, "center_reader")
    with pytest.raises(Forbidden), unit_of_work(engine) as session:
        get_resident(session, reader, at.resident.id, reveal=True)
    with unit_of_work(engine) as session:
        assert last_audit(session).seq == before


@pytest.mark.parametrize(
    "role", ["village_doctor", "township_doctor", "county_doctor", "cdc_officer", "window_clerk"]
)
def test_roles_with_reveal_see_the_full_id_number_and_phone(session: Session, role: str) -> None:
    at = places(session)
    view = get_resident(session, actor(session, role), at.resident.id, reveal=True)
    assert view.revealed is True
    assert view.id_number == at.resident.id_number
    assert view.phone == at.resident.phone
