"""Tables of the shared resident record: diagnosed conditions, encounters and their fee lines."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yigongti.db import Base, UTCDateTime, uuid_pk


class Condition(Base):
    """A chronic or long-term diagnosis on the resident's problem list."""

    __tablename__ = "conditions"

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    code: Mapped[str] = mapped_column(String(10), index=True)  # ICD-10
    onset_date: Mapped[date] = mapped_column(Date)
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"))


class Encounter(Base):
    """An outpatient, emergency or inpatient encounter (就诊) at an institution."""

    __tablename__ = "encounters"
    __table_args__ = (Index("ix_encounters_institution_started", "institution_id", "started_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("departments.id"))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    kind: Mapped[str] = mapped_column(String(12))  # outpatient | emergency | inpatient
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    diagnosis_code: Mapped[str] = mapped_column(String(10))  # ICD-10
    total_fen: Mapped[int] = mapped_column(BigInteger)
    # Came by referral (转诊): "up" from a lower tier, "down" from a higher one, and from where.
    referral: Mapped[str | None] = mapped_column(String(4))
    referred_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"))


class FeeLine(Base):
    """The amount an encounter billed in one fee category (drug, exam, lab, ...), in fen."""

    __tablename__ = "fee_lines"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    category: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
