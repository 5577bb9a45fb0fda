"""What institutions send and what the index answers; checks of an incoming record; the
features of records and residents; candidates by blocking and their scores.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import TypeVar

from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.interop.empi.features import Features, Gazetteer, clean_name, features_of
from yigongti.interop.empi.model import Score, trained_model
from yigongti.interop.empi.models import SourceRecord
from yigongti.kernel import invalid_field, parse_resident_id
from yigongti.registry.models import Resident

NAME = re.compile(r"^[\u4e00-\u9fff·]{1,20}$|^[A-Za-z][A-Za-z .'-]{0,39}$")
SEXES = ("male", "female")
P = TypeVar("P")


@dataclass(frozen=True)
class PatientRecord:
    """A patient record as an institution sends it."""

    institution_id: uuid.UUID
    mrn: str | None  # the institution's medical-record number (病案号/门诊号)
    name: str
    sex: str | None  # "male" | "female" | None
    birth_date: date | None
    id_number: str | None
    phone: str | None
    address: str | None


@dataclass(frozen=True)
class LinkOutcome:
    """Where an incoming record was linked, and how."""

    source_record_id: uuid.UUID
    resident_id: uuid.UUID | None  # None only when sent to review
    decision: str  # "linked" | "review" | "new"
    method: str  # "id_number" | "probabilistic" | "new" (or "review"/"manual": a clerk's)
    probability: float | None


@dataclass(frozen=True)
class Candidate:
    """A resident who may be the person of a record."""

    resident_id: uuid.UUID
    probability: float  # 0..1
    match_weight: float
    agreements: dict[str, str]  # field -> "exact" | "close" | "different" | "missing"


def checked_record(record: PatientRecord, *, strict_id: bool) -> PatientRecord:
    """The record cleaned, or ``Invalid`` naming the field.

    ``strict_id``: an ID number that fails GB 11643 is refused, naming the position (the
    FHIR face, one record typed now). Without it the number is kept as sent and compared as
    noisy data (a backlog of records typed years ago).
    """
    name = clean_name(record.name.strip()) if record.name else ""
    if not NAME.match(name):
        raise invalid_field(
            "name", "Name: Chinese characters or a Latin-script name", "姓名须为汉字或拉丁字母姓名"
        )
    if record.sex is not None and record.sex not in SEXES:
        raise invalid_field(
            "sex", "Sex is 'male', 'female' or absent", "性别须为 male、female 或空"
        )
    if record.birth_date is not None and record.birth_date > date.today():
        raise invalid_field("birth_date", "Birth date is in the future", "出生日期不能晚于今天")
    number = (record.id_number or "").strip().upper() or None
    if number and strict_id:
        number = parse_resident_id(number).number
    if number and len(number) > 20:
        raise invalid_field("id_number", "ID number is too long", "身份证号过长")
    mrn = (record.mrn or "").strip() or None
    if mrn and len(mrn) > 40:
        raise invalid_field("mrn", "Medical-record number: at most 40 characters", "病案号最长40位")
    phone = (record.phone or "").strip() or None
    if phone and len(phone) > 20:
        raise invalid_field("phone", "Phone: at most 20 characters", "电话最长20位")
    address = (record.address or "").strip()[:120] or None
    return replace(record, name=name, id_number=number, mrn=mrn, phone=phone, address=address)


def gazetteer(session: Session) -> Gazetteer:
    """The county's towns and villages, to read addresses."""
    return Gazetteer.of((t, v) for t, v, _ in registry.county_places(session))


def record_features(source: SourceRecord, places: Gazetteer) -> Features:
    """Comparison features of a stored source record."""
    town, village = places.place_of(source.address)
    return features_of(
        name=source.name,
        sex=source.sex,
        birth_date=source.birth_date,
        id_number=source.id_number,
        phone=source.phone,
        town=town,
        village=village,
    )


def resident_features(resident: Resident) -> Features:
    """Comparison features of a resident of the index."""
    village = resident.residence_village
    return features_of(
        name=resident.name,
        sex=resident.sex,
        birth_date=resident.birth_date,
        id_number=resident.id_number,
        phone=resident.phone,
        town=village.town.name,
        village=village.name,
    )


def without_id(features: Features) -> Features:
    """The features with the ID number left out (an ID not to be trusted)."""
    return features | {"id_number": None, "id_a": None, "id_b": None}


def scored_candidates(
    session: Session, features: Features, *, use_id: bool = True
) -> list[tuple[Resident, Score]]:
    """Residents found by blocking, scored by the trained model, best first."""
    if not use_id:
        features = without_id(features)
    found = registry.match_candidates_by_keys(session, blocking_keys(features))
    return ranked(features, [(r, resident_features(r)) for r in found])


def blocking_keys(features: Features) -> registry.BlockingKeys:
    """The keys a record's candidates share with it (any one of them)."""
    born = date.fromisoformat(features["birth_date"]) if features["birth_date"] else None
    return registry.BlockingKeys(
        birth_date=born,
        phone=features["phone"],
        id_number=features["id_number"],
        id_prefix=features["id_a"],
        initials=(features["initials"] or "").upper()[:10] or None,
        sex=features["sex"],
    )


def ranked(features: Features, people: list[tuple[P, Features]]) -> list[tuple[P, Score]]:
    """People (with their features) scored against a record's features, best first."""
    model = trained_model()
    scored = [(person, model.score(features, theirs)) for person, theirs in people]
    scored.sort(key=lambda pair: pair[1].match_weight, reverse=True)
    return scored


def row_features(row: registry.CandidateRow, places: dict[uuid.UUID, tuple[str, str]]) -> Features:
    """Comparison features of a resident found by a batch's blocking; ``places`` gives each
    village id its (town name, village name)."""
    town, village = places[row.residence_village_id]
    return features_of(
        name=row.name,
        sex=row.sex,
        birth_date=row.birth_date,
        id_number=row.id_number,
        phone=row.phone,
        town=town,
        village=village,
    )
