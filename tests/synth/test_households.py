"""Households hold one to six people around one head; every minor has a parent as guardian."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.synth.helpers import Built, age
from yigongti.registry.models import Guardianship, Household, Resident


def test_every_minor_has_a_guardian_in_his_household(county: Built) -> None:
    with Session(county.engine) as session:
        people = {r.id: r for r in session.scalars(select(Resident))}
        guardians: dict[object, list[Resident]] = {}
        for link in session.scalars(select(Guardianship)):
            guardians.setdefault(link.ward_id, []).append(people[link.guardian_id])
    minors = [r for r in people.values() if age(r.birth_date) < 18]
    assert minors
    for minor in minors:
        assert any(g.household_id == minor.household_id for g in guardians.get(minor.id, []))


def test_guardians_are_parents_old_enough_to_be(county: Built) -> None:
    with Session(county.engine) as session:
        people = {r.id: r for r in session.scalars(select(Resident))}
        links = list(session.scalars(select(Guardianship)))
    for link in links:
        guardian, ward = people[link.guardian_id], people[link.ward_id]
        assert link.relation == "parent"
        assert age(ward.birth_date) < 18
        assert age(guardian.birth_date) - age(ward.birth_date) >= 18


def test_each_household_has_one_head_and_one_to_six_members(county: Built) -> None:
    with Session(county.engine) as session:
        households = set(session.scalars(select(Household.id)))
        members = Counter(session.scalars(select(Resident.household_id)))
        heads = Counter(
            session.scalars(select(Resident.household_id).where(Resident.relation == "head"))
        )
    assert set(members) == households
    assert all(1 <= n <= 6 for n in members.values())
    assert all(heads[h] == 1 for h in households)
    assert county.summary.households == len(households)
