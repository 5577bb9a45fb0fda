"""The builders arrange valid records in a session without committing them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yigongti.db import make_engine
from yigongti.db.migrate import upgrade
from yigongti.kernel import parse_resident_id
from yigongti.registry.models import Resident
from yigongti.synth import builders


def test_builders_make_a_clinic_under_a_center_and_residents_with_unique_ids(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    upgrade(engine)
    with Session(engine) as session:
        town = builders.make_town(session)
        village = builders.make_village(session, town)
        community = builders.make_community(session)
        center = builders.make_institution(
            session, kind="township_center", town=town, community=community
        )
        clinic = builders.make_institution(
            session, kind="village_clinic", village=village, parent=center
        )
        doctor = builders.make_practitioner(session, clinic, title="rural_doctor")
        household = builders.make_household(session, village)
        born = date(1980, 5, 17)
        people = [
            builders.make_resident(session, village, birth_date=born, sex=sex, household=household)
            for sex in ("male", "female", "male")
        ]
        baby = builders.make_resident(session, village, id_number=None, phone=None)

        assert clinic.community_id == community.id and clinic.town_id == town.id
        assert [d.code for d in doctor.departments] == ["02"]
        assert doctor.profession == "physician"
        numbers = [p.id_number for p in people]
        assert len(set(numbers)) == 3
        for person, number in zip(people, numbers, strict=True):
            parsed = parse_resident_id(number)
            assert (parsed.birth_date, parsed.sex) == (born, person.sex)
        assert baby.id_number is None and baby.phone is None
        session.rollback()
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0
    engine.dispose()
