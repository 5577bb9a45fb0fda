"""Small helpers that find people and places in the test county and act as its demo accounts.

The county is synthetic and seeded, so tests never hard-code names or ids: they ask the
database for "a resident of another town" and state the rule about that resident.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from yigongti.clinical.models import Encounter
from yigongti.kernel import make_resident_id, now
from yigongti.registry import resident_filter
from yigongti.registry.models import (
    Guardianship,
    Institution,
    MedicalCommunity,
    Resident,
    Town,
    Village,
)
from yigongti.security import Actor, AuditEvent, User, actor_for

CLIENT = "203.0.113.9"  # the client address service tests act from (TEST-NET-3)


def username_of(role: str) -> str:
    """The demo account's username for ``role``."""
    return role.replace("_", "-")


def user_of(session: Session, role: str) -> User:
    """The demo account of ``role``."""
    user = session.scalar(select(User).where(User.username == username_of(role)))
    assert user is not None, f"no demo account for {role}"
    return user


def actor(session: Session, role: str) -> Actor:
    """The demo account of ``role`` as the actor of a service call."""
    return actor_for(user_of(session, role), CLIENT)


@dataclass(frozen=True)
class Places:
    """Where the demo accounts work: the resident's village, clinic, center and hospital."""

    resident: Resident
    village: Village
    clinic: Institution
    center: Institution
    lead: Institution
    community: MedicalCommunity
    bureau: Institution
    cdc: Institution


def places(session: Session) -> Places:
    """The demo accounts' places (``create_demo_accounts`` puts every role around one resident)."""
    resident = session.get(Resident, user_of(session, "resident").resident_id)
    clinic = session.get(Institution, user_of(session, "village_doctor").institution_id)
    center = session.get(Institution, user_of(session, "township_doctor").institution_id)
    lead = session.get(Institution, user_of(session, "county_doctor").institution_id)
    bureau = session.get(Institution, user_of(session, "bureau_admin").institution_id)
    cdc = session.get(Institution, user_of(session, "cdc_officer").institution_id)
    assert resident and clinic and center and lead and bureau and cdc
    village = session.get(Village, resident.residence_village_id)
    community = session.get(MedicalCommunity, center.community_id)
    assert village and community
    return Places(resident, village, clinic, center, lead, community, bureau, cdc)


def visible_ids(session: Session, who: Actor, reason: str | None = None) -> set[uuid.UUID]:
    """Every resident ``who`` may see, by the service's own scope rule."""
    return set(session.scalars(select(Resident.id).where(resident_filter(session, who, reason))))


def residents_of_villages(session: Session, village_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Residents living in the given villages."""
    return set(
        session.scalars(select(Resident.id).where(Resident.residence_village_id.in_(village_ids)))
    )


def villages_of_towns(session: Session, town_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The villages of the given towns."""
    return set(session.scalars(select(Village.id).where(Village.town_id.in_(town_ids))))


def towns_of_community(session: Session, community_id: uuid.UUID) -> set[uuid.UUID]:
    """Towns whose township or community health center belongs to the community."""
    return set(
        session.scalars(
            select(Institution.town_id).where(
                Institution.community_id == community_id,
                Institution.kind.in_(("township_center", "community_center")),
            )
        )
    )


def treated_at(session: Session, institution_id: uuid.UUID) -> set[uuid.UUID]:
    """Residents with an encounter at the institution."""
    return set(
        session.scalars(
            select(Encounter.resident_id).where(Encounter.institution_id == institution_id)
        )
    )


def all_residents(session: Session) -> set[uuid.UUID]:
    """Every resident of the county."""
    return set(session.scalars(select(Resident.id)))


def resident_where(session: Session, *conditions: object) -> Resident:
    """The first resident (by ID number) meeting ``conditions``; the test fails if none does."""
    found = session.scalar(
        select(Resident).where(*conditions).order_by(Resident.id_number, Resident.id).limit(1)
    )
    assert found is not None, "the test county has no resident for this test"
    return found


def resident_outside(session: Session, who: Actor) -> Resident:
    """A resident ``who`` may not see."""
    return resident_where(session, Resident.id.not_in(visible_ids(session, who)))


def other_town(session: Session, town_id: uuid.UUID) -> Town:
    """A town other than ``town_id`` that has residents."""
    found = session.scalar(
        select(Town)
        .join(Village, Village.town_id == Town.id)
        .join(Resident, Resident.residence_village_id == Village.id)
        .where(Town.id != town_id)
        .order_by(Town.code)
        .limit(1)
    )
    assert found is not None
    return found


def add_encounter(session: Session, resident_id: uuid.UUID, institution_id: uuid.UUID) -> None:
    """Record an outpatient visit of a resident at an institution (yesterday)."""
    started = now() - timedelta(days=1)
    session.add(
        Encounter(
            resident_id=resident_id,
            institution_id=institution_id,
            kind="outpatient",
            started_at=started,
            ended_at=started + timedelta(minutes=20),
            diagnosis_code="J06.9",
            total_fen=4_500,
        )
    )
    session.flush()


def new_id_number(session: Session, birth: date = date(1988, 6, 1), male: bool = True) -> str:
    """An ID number of the county no resident holds yet."""
    for sequence in range(1 if male else 2, 1000, 2):
        number = make_resident_id("330784", birth, sequence)
        taken = session.scalar(select(Resident.id).where(Resident.id_number == number))
        if not taken:
            return number
    raise AssertionError("no free ID number left for this birth date")


def count_rows(engine: Engine, table: str) -> int:
    """How many rows a table holds, read outside any session of the test."""
    with engine.connect() as connection:
        return connection.scalar(text(f"SELECT count(*) FROM {table}"))


def last_audit(session: Session) -> AuditEvent:
    """The newest audit row."""
    found = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert found is not None
    return found


def audit_rows_after(session: Session, seq: int) -> list[AuditEvent]:
    """Audit rows written after row ``seq``, oldest first."""
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq))
    )


def max_seq(session: Session) -> int:
    """The sequence number of the newest audit row (0 if none)."""
    return session.scalar(select(func.max(AuditEvent.seq))) or 0


def wards(session: Session, guardian_id: uuid.UUID) -> set[uuid.UUID]:
    """The residents ``guardian_id`` is guardian of."""
    return set(
        session.scalars(select(Guardianship.ward_id).where(Guardianship.guardian_id == guardian_id))
    )
