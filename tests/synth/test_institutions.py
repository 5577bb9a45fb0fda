"""The county's institutions form three medical communities over every town and village."""

from __future__ import annotations

import sys
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.synth.helpers import Built
from yigongti.registry.codes import INSTITUTION_KINDS, TEAM_ROLES
from yigongti.registry.models import (
    FamilyDoctorTeam,
    Institution,
    MedicalCommunity,
    Practitioner,
    Town,
    Village,
)
from yigongti.settings import get_settings
from yigongti.synth.institutions import PRIMARY_DEPARTMENTS
from yigongti.synth.places import FIRST, LANDFORM, PREFIX

CENTER_KINDS = ("township_center", "community_center")


def _institutions(session: Session) -> dict[object, Institution]:
    return {i.id: i for i in session.scalars(select(Institution))}


def test_every_village_clinic_reaches_a_center_of_a_community_led_by_a_county_hospital(
    county: Built,
) -> None:
    with Session(county.engine) as session:
        institutions = _institutions(session)
        communities = {c.id: c for c in session.scalars(select(MedicalCommunity))}
        clinics = [i for i in institutions.values() if i.kind == "village_clinic"]
        villages = {v.id: v for v in session.scalars(select(Village))}
        assert clinics
        for clinic in clinics:
            center = institutions[clinic.parent_id]
            assert center.kind == "township_center" or center.kind == "community_center"
            assert center.town_id == clinic.town_id == villages[clinic.village_id].town_id
            assert clinic.community_id == center.community_id is not None
            lead = institutions[communities[center.community_id].lead_institution_id]
            assert lead.kind == "county_hospital" and lead.community_id == center.community_id


def test_each_town_has_one_center_and_each_community_six_to_eight(county: Built) -> None:
    with Session(county.engine) as session:
        towns = list(session.scalars(select(Town)))
        centers = [i for i in _institutions(session).values() if i.kind in CENTER_KINDS]
    assert Counter(c.town_id for c in centers) == Counter(t.id for t in towns)
    kinds = {t.id: t.kind for t in towns}
    assert all(
        (kinds[c.town_id] == "subdistrict") == (c.kind == "community_center") for c in centers
    )
    per_community = Counter(c.community_id for c in centers)
    assert len(per_community) == 3 and all(6 <= n <= 8 for n in per_community.values())


def test_institutions_follow_the_code_table(county: Built) -> None:
    with Session(county.engine) as session:
        institutions = list(_institutions(session).values())
        clinics_share = len([i for i in institutions if i.kind == "village_clinic"]) / len(
            list(session.scalars(select(Village.id)))
        )
    kinds = Counter(i.kind for i in institutions)
    assert kinds["health_bureau"] == kinds["cdc"] == 1 and kinds["private_hospital"] == 2
    assert 3 <= kinds["county_hospital"] <= 6
    assert 0.45 <= clinics_share <= 0.70
    county_code = get_settings().county_code
    assert len({i.code for i in institutions}) == len(institutions)
    for inst in institutions:
        assert inst.tier == INSTITUTION_KINDS[inst.kind][0]
        assert inst.code.startswith(county_code)
        assert (inst.ownership == "private") == (inst.kind == "private_hospital")
        if inst.kind in ("private_hospital", "health_bureau", "cdc"):
            assert inst.community_id is None


def test_departments_fit_the_tier(county: Built) -> None:
    with Session(county.engine) as session:
        for inst in _institutions(session).values():
            codes = {d.code for d in inst.departments}
            if inst.kind == "village_clinic":
                assert codes == {"02"}
            elif inst.kind in CENTER_KINDS:
                assert codes == set(PRIMARY_DEPARTMENTS)
            elif inst.kind == "county_hospital":
                assert {"02", "03", "32"} <= codes or len(codes) >= 7


def test_practitioners_work_where_their_titles_fit(county: Built) -> None:
    with Session(county.engine) as session:
        institutions = _institutions(session)
        staff = Counter()
        for p in session.scalars(select(Practitioner)):
            inst = institutions[p.institution_id]
            staff[inst.id] += 1
            assert p.departments and all(d.institution_id == inst.id for d in p.departments)
            assert (p.title == "rural_doctor") == (inst.kind == "village_clinic")
            assert p.name_initials.isupper() and len(p.name_initials) == len(p.name)
    for inst in institutions.values():
        if inst.kind in CENTER_KINDS:
            assert 15 <= staff[inst.id] <= 35
        if inst.kind == "village_clinic":
            assert 1 <= staff[inst.id] <= 2


def test_teams_are_one_gp_one_nurse_or_public_health_doctor_and_county_specialists(
    county: Built,
) -> None:
    with Session(county.engine) as session:
        institutions = _institutions(session)
        communities = {c.id: c for c in session.scalars(select(MedicalCommunity))}
        teams = list(session.scalars(select(FamilyDoctorTeam)))
        per_center = Counter(t.institution_id for t in teams)
        for team in teams:
            center = institutions[team.institution_id]
            roles = Counter(m.role for m in team.members)
            assert center.kind in CENTER_KINDS
            assert set(roles) <= set(TEAM_ROLES)
            assert roles["gp"] == 1 and roles["nurse"] + roles["public_health"] == 1
            assert 1 <= roles["specialist"] <= 2
            lead = communities[center.community_id].lead_institution_id
            for member in team.members:
                home = member.practitioner.institution_id
                assert home == (lead if member.role == "specialist" else center.id)
    assert all(3 <= n <= 8 for n in per_center.values())
    assert len(per_center) == sum(i.kind in CENTER_KINDS for i in institutions.values())


def test_place_names_come_from_our_syllable_pools_not_faker(county: Built) -> None:
    syllables = set(FIRST + LANDFORM + PREFIX)
    with Session(county.engine) as session:
        towns = list(session.scalars(select(Town.name)))
        villages = list(session.scalars(select(Village.name)))
    for name, suffixes in [(t, ("街道", "镇", "乡")) for t in towns] + [
        (v, ("社区", "村")) for v in villages
    ]:
        suffix = next(s for s in suffixes if name.endswith(s))
        assert set(name.removesuffix(suffix)) <= syllables, name
    assert len(set(towns + villages)) == len(towns) + len(villages)
    assert "faker" not in sys.modules
