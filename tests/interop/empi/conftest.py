"""Arrangements of the master patient index tests: records as an institution sends them."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from tests.support import places
from yigongti.interop.empi import PatientRecord
from yigongti.registry.models import Resident, Town, Village

_mrn = itertools.count(1)


def address_of(session: Session, resident: Resident) -> str:
    """The resident's town and village as a clinic writes them."""
    village = session.get(Village, resident.residence_village_id)
    assert village is not None
    town = session.get(Town, village.town_id)
    assert town is not None
    return f"{town.name}{village.name}"


def record_of(session: Session, resident: Resident, **changes: object) -> PatientRecord:
    """The record the township center would send of ``resident``, with ``changes``."""
    fields: dict[str, object] = {
        "institution_id": places(session).center.id,
        "mrn": f"MZ{next(_mrn):06d}",
        "name": resident.name,
        "sex": resident.sex,
        "birth_date": resident.birth_date,
        "id_number": resident.id_number,
        "phone": resident.phone,
        "address": address_of(session, resident),
    }
    fields.update(changes)
    return PatientRecord(**fields)  # type: ignore[arg-type]


def stranger(session: Session, **changes: object) -> PatientRecord:
    """A record of somebody the index has never seen."""
    fields: dict[str, object] = {
        "institution_id": places(session).center.id,
        "mrn": f"MZ{next(_mrn):06d}",
        "name": "欧阳新",
        "sex": "male",
        "birth_date": date(1931, 2, 3),
        "id_number": None,
        "phone": None,
        "address": None,
    }
    fields.update(changes)
    return PatientRecord(**fields)  # type: ignore[arg-type]
