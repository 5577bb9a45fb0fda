"""The county ages like rural Zhejiang, and chronic disease rises with age."""

from __future__ import annotations

import statistics

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.synth.helpers import JAN_1, Built, age
from yigongti.clinical.models import Condition
from yigongti.kernel import age_on
from yigongti.registry.models import Institution, Resident, Village


def _ages(county: Built) -> list[int]:
    with Session(county.engine) as session:
        return [age(b) for b in session.scalars(select(Resident.birth_date))]


def test_age_pyramid_is_that_of_an_aging_county(county: Built) -> None:
    ages = _ages(county)
    assert len(ages) == county.summary.residents
    assert 0.19 <= sum(a >= 65 for a in ages) / len(ages) <= 0.25
    assert 0.11 <= sum(a < 15 for a in ages) / len(ages) <= 0.17
    assert 41 <= statistics.median(ages) <= 49


def test_men_slightly_outnumber_women(county: Built) -> None:
    with Session(county.engine) as session:
        sexes = list(session.scalars(select(Resident.sex)))
    assert 0.97 <= sexes.count("male") / sexes.count("female") <= 1.10


def test_most_are_permanent_and_insured_mostly_by_the_resident_scheme(county: Built) -> None:
    with Session(county.engine) as session:
        rows = session.execute(select(Resident.permanent, Resident.insurance_type)).all()
    assert 0.84 <= sum(p for p, _ in rows) / len(rows) <= 0.92
    shares = {k: sum(t == k for _, t in rows) / len(rows) for k in ("urban_rural", "employee")}
    assert 0.70 <= shares["urban_rural"] <= 0.80
    assert 0.17 <= shares["employee"] <= 0.27


def test_a_quarter_of_adults_are_hypertensive_and_a_tenth_diabetic(county: Built) -> None:
    with Session(county.engine) as session:
        adults = sum(a >= 18 for a in _ages(county))
        codes = list(session.scalars(select(Condition.code)))
    assert 0.21 <= codes.count("I10") / adults <= 0.29
    assert 0.07 <= codes.count("E11.900") / adults <= 0.13
    assert county.summary.conditions == len(codes)


def test_conditions_belong_to_adults_and_are_kept_by_their_center(county: Built) -> None:
    with Session(county.engine) as session:
        query = (
            select(Condition, Resident, Village, Institution)
            .join(Resident, Resident.id == Condition.resident_id)
            .join(Village, Village.id == Resident.residence_village_id)
            .join(Institution, Institution.id == Condition.institution_id)
        )
        for condition, resident, village, center in session.execute(query):
            assert center.kind in ("township_center", "community_center")
            assert center.town_id == village.town_id
            assert age_on(resident.birth_date, condition.onset_date) >= 18
            assert condition.onset_date < JAN_1
