"""Helpers of the synthetic-county tests: a built county and a fingerprint of its residents."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select

from yigongti.kernel import age_on
from yigongti.registry.models import Resident
from yigongti.synth import CountySummary

YEAR = 2025
JAN_1 = date(YEAR, 1, 1)  # ages in the tests are full years on this day


@dataclass(frozen=True)
class Built:
    """A county built into its own database."""

    engine: Engine
    summary: CountySummary


Builder = Callable[..., Built]


def resident_fingerprint(engine: Engine) -> str:
    """A hash of every resident's id, ID number, name and birth date, in id order."""
    digest = hashlib.sha256()
    query = select(Resident.id, Resident.id_number, Resident.name, Resident.birth_date)
    with engine.connect() as connection:
        for row in connection.execute(query.order_by(Resident.id)):
            digest.update("|".join(str(value) for value in row).encode())
    return digest.hexdigest()


def age(birth: date) -> int:
    """Full years of age on the first day of the built year."""
    return age_on(birth, JAN_1)
