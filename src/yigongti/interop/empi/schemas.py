"""Requests and responses of the master patient index's JSON API."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class PatientRecordIn(BaseModel):
    """A patient record as an institution sends it."""

    institution_id: uuid.UUID
    mrn: str | None = Field(default=None, max_length=40)
    name: str = Field(min_length=1, max_length=40)
    sex: str | None = Field(default=None, pattern="^(male|female)$")
    birth_date: date | None = None
    id_number: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=120)


class LinkOutcomeOut(BaseModel):
    """Where the record was linked, and how."""

    model_config = ConfigDict(from_attributes=True)

    source_record_id: uuid.UUID
    resident_id: uuid.UUID | None
    decision: str
    method: str
    probability: float | None


class CandidateOut(BaseModel):
    """A resident who may be the record's person."""

    model_config = ConfigDict(from_attributes=True)

    resident_id: uuid.UUID
    probability: float
    match_weight: float
    agreements: dict[str, str]


class PersonSideOut(BaseModel):
    """One side of a review (ID number and phone masked)."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    sex: str | None
    birth_date: date | None
    id_number: str | None
    phone: str | None
    address: str | None


class ReviewOut(BaseModel):
    """An open review: the record and the candidate side by side."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    source_record_id: uuid.UUID
    institution_id: uuid.UUID
    mrn: str | None
    candidate_id: uuid.UUID | None
    probability: float
    reason: str
    opened_at: datetime
    record: PersonSideOut
    candidate: PersonSideOut | None
    agreements: dict[str, str]


class ReviewPage(BaseModel):
    """A page of open reviews."""

    total: int
    items: list[ReviewOut]


class DecisionIn(BaseModel):
    """A clerk's decision: the same person as ``same_as``, or (null) a different person."""

    same_as: uuid.UUID | None = None


class DecisionOut(BaseModel):
    """The resident the record is now linked to."""

    resident_id: uuid.UUID


class MergeIn(BaseModel):
    """Merge ``merged_id`` into ``survivor_id``."""

    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=200)


class MergeOut(BaseModel):
    """A merge and how many records it moved (or moved back)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    reason: str
    merged_by: str
    merged_at: datetime
    undone_at: datetime | None
    records_moved: int


class BacklogIn(BaseModel):
    """Link every waiting record of this institution."""

    institution_id: uuid.UUID


class BacklogJobOut(BaseModel):
    """A backlog run's progress."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    institution_id: uuid.UUID
    total: int
    done: int
    state: str
    linked: int
    review: int
    new: int
    error: str | None
