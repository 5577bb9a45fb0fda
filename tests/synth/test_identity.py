"""Residents carry valid, unique GB 11643 ID numbers consistent with who they are."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.synth.helpers import Built, age
from yigongti.kernel import parse_resident_id
from yigongti.registry.models import Resident
from yigongti.settings import get_settings
from yigongti.synth.identity import OUTSIDE_AREAS

MOBILE = re.compile(r"^1[3-9]\d{9}$")


def _residents(county: Built) -> list[Resident]:
    with Session(county.engine) as session:
        return list(session.scalars(select(Resident)))


def test_every_id_number_is_valid_and_matches_birth_date_and_sex(county: Built) -> None:
    for resident in _residents(county):
        if resident.id_number is None:
            continue
        parsed = parse_resident_id(resident.id_number)
        assert parsed.birth_date == resident.birth_date, resident.id_number
        assert parsed.sex == resident.sex, resident.id_number


def test_locals_carry_the_county_code_and_migrants_another_province(county: Built) -> None:
    county_code = get_settings().county_code
    residents = [r for r in _residents(county) if r.id_number]
    for resident in residents:
        area = resident.id_number[:6]
        if resident.hukou_village_id is not None:
            assert area == county_code, resident.id_number
        else:
            assert area in OUTSIDE_AREAS and area[:2] != county_code[:2], resident.id_number
    migrants = sum(r.hukou_village_id is None for r in residents) / len(residents)
    assert 0.01 < migrants < 0.07


def test_id_numbers_are_unique(county: Built) -> None:
    with Session(county.engine) as session:
        numbers = session.scalar(select(func.count(Resident.id_number)))
        distinct = session.scalar(select(func.count(func.distinct(Resident.id_number))))
    assert numbers == distinct > 0


def test_only_infants_may_lack_an_id_number(county: Built) -> None:
    without = [r for r in _residents(county) if r.id_number is None]
    assert without, "some newborns are not registered yet"
    assert all(age(r.birth_date) < 1 for r in without)


def test_adults_mostly_have_a_mobile_number_and_young_children_none(county: Built) -> None:
    residents = _residents(county)
    adults = [r for r in residents if 18 <= age(r.birth_date) < 80]
    assert sum(r.phone is not None for r in adults) / len(adults) > 0.9
    assert all(r.phone is None for r in residents if age(r.birth_date) < 13)
    phones = [r.phone for r in residents if r.phone]
    assert all(MOBILE.match(p) for p in phones)
    assert len(set(phones)) == len(phones)
