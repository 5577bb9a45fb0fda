"""API models of the shared resident record."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class ConditionOut(BaseModel):
    """A diagnosis on the problem list."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    onset_date: date


class EncounterOut(BaseModel):
    """An encounter, with its total in yuan."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    institution_id: uuid.UUID
    started_at: datetime
    diagnosis_code: str
    total_fen: int
