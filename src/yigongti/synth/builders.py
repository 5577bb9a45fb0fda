"""Small builders that arrange single records for tests: added to a session and flushed, never
committed.

Each value a caller leaves out comes from the arguments and a module-level counter, so a test
reads the same every run. Codes are drawn from ranges the synthetic county never uses (towns
4xx-9xx, villages 5xx-9xx, institution codes of 12 characters), so builders can add to a built
county without collisions; ID numbers skip any already taken in the session's database.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti.clinical.codes import OBSERVATION_SYSTEM, medication_catalog
from yigongti.clinical.models import Condition, Immunization, MedicationRequest, Observation
from yigongti.kernel import now
from yigongti.kernel.resident_id import make_resident_id
from yigongti.registry import pinyin_initials
from yigongti.registry.codes import INSTITUTION_KINDS, TITLES, department_catalog
from yigongti.registry.models import (
    Department,
    Household,
    Institution,
    MedicalCommunity,
    Practitioner,
    Resident,
    Town,
    Village,
)
from yigongti.settings import get_settings
from yigongti.synth.institutions import ALL_DEPARTMENTS, CDC_DEPARTMENTS, KIND_DIGIT
from yigongti.synth.institutions import PRIMARY_DEPARTMENTS as CENTER_DEPARTMENTS
from yigongti.synth.names import GIVEN, SURNAMES
from yigongti.synth.places import FIRST, LANDFORM

AUTO = "auto"  # "make one up" for arguments where None means "none at all"
_counter = itertools.count(1)
_SURNAMES = list(SURNAMES)

DEFAULT_DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "health_bureau": (),
    "cdc": CDC_DEPARTMENTS,
    "county_hospital": ALL_DEPARTMENTS,
    "township_center": CENTER_DEPARTMENTS,
    "community_center": CENTER_DEPARTMENTS,
    "village_clinic": ("02",),
    "private_hospital": ("03", "04", "05", "12", "20", "30", "32"),
}


def _next() -> int:
    return next(_counter)


def _county() -> str:
    return get_settings().county_code


def _place_stem(n: int) -> str:
    return FIRST[n % len(FIRST)] + LANDFORM[(n // len(FIRST)) % len(LANDFORM)]


def _person_name(n: int, sex: str) -> str:
    pool = GIVEN[(1, sex == "male")]
    return _SURNAMES[n % len(_SURNAMES)] + pool[n % len(pool)] + pool[(n // len(pool)) % len(pool)]


def make_town(
    session: Session, *, name: str | None = None, kind: str = "town", code: str | None = None
) -> Town:
    """A town (``kind``: town, township or subdistrict) of the configured county."""
    n = _next()
    suffix = {"town": "镇", "township": "乡", "subdistrict": "街道"}[kind]
    town = Town(
        code=code or f"{_county()}{400 + n % 600:03d}",
        name=name or f"{_place_stem(n)}{suffix}",
        kind=kind,
        county_code=_county(),
    )
    session.add(town)
    session.flush()
    return town


def make_village(
    session: Session,
    town: Town,
    *,
    name: str | None = None,
    kind: str = "village",
    code: str | None = None,
) -> Village:
    """A village (or, with ``kind="community"``, an urban community) of ``town``."""
    n = _next()
    village = Village(
        town_id=town.id,
        code=code or f"{town.code}{500 + n % 500:03d}",
        name=name or f"{_place_stem(n)}{'村' if kind == 'village' else '社区'}",
        kind=kind,
    )
    session.add(village)
    session.flush()
    return village


def make_community(
    session: Session, *, name: str | None = None, lead: Institution | None = None
) -> MedicalCommunity:
    """A medical community; its lead hospital can be set now or later."""
    n = _next()
    community = MedicalCommunity(
        code=f"{_county()}T{n:05d}",
        name=name or f"测试医共体{n}",
        county_code=_county(),
        lead_institution_id=lead.id if lead else None,
    )
    session.add(community)
    session.flush()
    return community


def make_institution(
    session: Session,
    *,
    kind: str,
    name: str | None = None,
    town: Town | None = None,
    village: Village | None = None,
    community: MedicalCommunity | None = None,
    parent: Institution | None = None,
    departments: tuple[str, ...] | None = None,
) -> Institution:
    """An institution of ``kind`` with the departments its tier usually has."""
    n = _next()
    tier, zh, _ = INSTITUTION_KINDS[kind]
    catalog = department_catalog()
    inst = Institution(
        code=f"{_county()}{KIND_DIGIT[kind]}9{n:04d}",
        name=name or f"测试{zh}{n}",
        kind=kind,
        tier=tier,
        county_code=_county(),
        town_id=town.id if town else (village.town_id if village else None),
        village_id=village.id if village else None,
        community_id=community.id if community else (parent.community_id if parent else None),
        parent_id=parent.id if parent else None,
        ownership="private" if kind == "private_hospital" else "public",
        active=True,
    )
    codes = DEFAULT_DEPARTMENTS[kind] if departments is None else departments
    inst.departments = [Department(code=c, name=catalog[c]["zh"]) for c in codes]
    session.add(inst)
    session.flush()
    return inst


def make_practitioner(
    session: Session,
    institution: Institution,
    *,
    title: str = "attending_physician",
    department_code: str | None = None,
    name: str | None = None,
    sex: str = "male",
    phone: str | None = None,
) -> Practitioner:
    """A practitioner of ``institution``, in ``department_code`` (default: its first one)."""
    n = _next()
    name = name or _person_name(n, sex)
    departments = [d for d in institution.departments if department_code in (None, d.code)][:1]
    practitioner = Practitioner(
        name=name,
        name_initials=pinyin_initials(name),
        sex=sex,
        profession=TITLES[title][0],
        title=title,
        specialty=departments[0].name if departments else "全科医学",
        institution_id=institution.id,
        phone=phone,
        active=True,
        departments=departments,
    )
    session.add(practitioner)
    session.flush()
    return practitioner


def make_household(session: Session, village: Village, *, address: str | None = None) -> Household:
    """A household registered at an address in ``village``."""
    n = _next()
    household = Household(village_id=village.id, address=address or f"{village.name}{n}号")
    session.add(household)
    session.flush()
    return household


def _free_id_number(session: Session, area: str, birth: date, sex: str, n: int) -> str:
    """The first ID number for ``area``, ``birth`` and ``sex`` from sequence ``n`` on that
    nobody in the database holds yet."""
    for step in range(500):
        sequence = 2 * ((n + step) % 500) + (1 if sex == "male" else 0)
        number = make_resident_id(area, birth, sequence)
        if session.scalar(select(Resident.id).where(Resident.id_number == number)) is None:
            return number
    raise RuntimeError(f"no free ID number left for {area} {birth} {sex}")


def make_resident(
    session: Session,
    village: Village,
    *,
    birth_date: date | None = None,
    sex: str = "male",
    name: str | None = None,
    household: Household | None = None,
    relation: str = "head",
    id_number: str | None = AUTO,
    phone: str | None = AUTO,
    hukou_local: bool = True,
    permanent: bool = True,
    insurance_type: str = "urban_rural",
) -> Resident:
    """A resident living in ``village`` with a valid, unused ID number of the county.

    Pass ``id_number=None`` or ``phone=None`` for a resident without one.
    """
    n = _next()
    birth = birth_date or date(1960, 1, 1) + timedelta(days=(n * 37) % 20_000)
    name = name or _person_name(n, sex)
    resident = Resident(
        name=name,
        name_initials=pinyin_initials(name),
        sex=sex,
        birth_date=birth,
        id_number=_free_id_number(session, _county(), birth, sex, n)
        if id_number == AUTO
        else id_number,
        phone=f"139{n:08d}" if phone == AUTO else phone,
        household_id=household.id if household else None,
        relation=relation,
        residence_village_id=village.id,
        hukou_village_id=village.id if hukou_local else None,
        permanent=permanent,
        insurance_type=insurance_type,
    )
    session.add(resident)
    session.flush()
    return resident


def add_condition(
    session: Session, resident: Resident, code: str = "I10", *, onset: date | None = None
) -> Condition:
    """A diagnosis (ICD-10) on the resident's problem list."""
    condition = Condition(
        resident_id=resident.id,
        code=code,
        onset_date=onset or date(2020, 1, 1),
        institution_id=None,
    )
    session.add(condition)
    session.flush()
    return condition


def add_observation(
    session: Session,
    resident: Resident,
    institution: Institution,
    *,
    systolic: float = 128,
    diastolic: float = 82,
    code: str = "85354-9",
    value: float | None = None,
    unit: str | None = None,
    effective_at: datetime | None = None,
) -> Observation:
    """A blood-pressure reading (by default) or, with ``code``, ``value`` and ``unit``, another
    measurement, taken yesterday; interpreted as normal."""
    panel = code == "85354-9"
    components = [
        {"code": "8480-6", "value": systolic, "unit": "mm[Hg]", "interpretation": "N"},
        {"code": "8462-4", "value": diastolic, "unit": "mm[Hg]", "interpretation": "N"},
    ]
    observation = Observation(
        resident_id=resident.id,
        institution_id=institution.id,
        category="vital-signs" if panel else "laboratory",
        code_system=OBSERVATION_SYSTEM,
        code=code,
        value=None if panel else value,
        unit=None if panel else unit,
        components=components if panel else None,
        interpretation="N",
        critical=False,
        status="final",
        effective_at=effective_at or now() - timedelta(days=1),
    )
    session.add(observation)
    session.flush()
    return observation


def add_immunization(
    session: Session,
    resident: Resident,
    institution: Institution,
    vaccine: str = "HepB",
    dose: int = 1,
    *,
    occurred_on: date | None = None,
) -> Immunization:
    """A completed vaccine dose (by default on the resident's birth date)."""
    immunization = Immunization(
        resident_id=resident.id,
        institution_id=institution.id,
        vaccine_code=vaccine,
        dose_number=dose,
        occurred_on=occurred_on or resident.birth_date,
        status="completed",
        recorded_at=now(),
    )
    session.add(immunization)
    session.flush()
    return immunization


def add_medication_request(
    session: Session,
    resident: Resident,
    institution: Institution,
    code: str = "C08CA01",
    *,
    days_supply: int = 30,
) -> MedicationRequest:
    """An active prescription of a catalog medicine, one a day, written yesterday."""
    drug = medication_catalog()[code]
    request = MedicationRequest(
        resident_id=resident.id,
        institution_id=institution.id,
        medication_code=code,
        medication_name=drug["zh"],
        dosage_text="每日一次，每次一片",
        quantity=days_supply,
        quantity_unit=drug["unit"],
        days_supply=days_supply,
        long_prescription=days_supply > 30,
        status="active",
        authored_at=now() - timedelta(days=1),
    )
    session.add(request)
    session.flush()
    return request
