"""Tables of the master patient index: source records, reviews, link history and merges.

A source record is a patient record as one institution sent it, keyed by (institution,
medical-record number): re-sending it updates the row. Every change of the resident it is
linked to writes a link-history row, so no link is ever silently lost.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yigongti.db import Base, UTCDateTime, uuid_pk
from yigongti.kernel import now


class SourceRecord(Base):
    """One patient record of one institution (病案号/门诊号) and the resident it is linked to."""

    __tablename__ = "empi_source_records"
    __table_args__ = (UniqueConstraint("institution_id", "mrn", name="uq_empi_source_mrn"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    mrn: Mapped[str | None] = mapped_column(String(40))  # None: no re-send key
    name: Mapped[str] = mapped_column(String(40))
    sex: Mapped[str | None] = mapped_column(String(6))
    birth_date: Mapped[date | None] = mapped_column(Date)
    id_number: Mapped[str | None] = mapped_column(String(20))  # as sent, possibly mistyped
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"), index=True)
    # id_number | probabilistic | review | new | manual; None while waiting (backlog, review)
    link_method: Mapped[str | None] = mapped_column(String(14))
    match_probability: Mapped[float | None] = mapped_column(Float)
    match_weight: Mapped[float | None] = mapped_column(Float)


class Review(Base):
    """A record the linker could not decide: a clerk compares it with the candidate."""

    __tablename__ = "empi_reviews"
    __table_args__ = (Index("ix_empi_reviews_status", "status"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    source_record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("empi_source_records.id"), index=True
    )
    candidate_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"))
    probability: Mapped[float] = mapped_column(Float)
    match_weight: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(20))  # score | id_conflict
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | decided
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(10))  # same | different


class LinkChange(Base):
    """One change of the resident a source record is linked to: who, when, from, to, why."""

    __tablename__ = "empi_link_history"

    id: Mapped[uuid.UUID] = uuid_pk()
    source_record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("empi_source_records.id"), index=True
    )
    from_resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"))
    to_resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"))
    method: Mapped[str] = mapped_column(String(14))
    why: Mapped[str] = mapped_column(String(200))
    merge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("empi_merges.id"), index=True)
    changed_by: Mapped[str] = mapped_column(String(60))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Merge(Base):
    """Two residents found to be one person: ``merged`` now points to ``survivor``."""

    __tablename__ = "empi_merges"

    id: Mapped[uuid.UUID] = uuid_pk()
    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    merged_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    merged_by: Mapped[str] = mapped_column(String(60))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    reason: Mapped[str] = mapped_column(String(200))
    undone_by: Mapped[str | None] = mapped_column(String(60))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
