"""API models of security."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenOut(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds


class OAuthErrorOut(BaseModel):
    """An OAuth2 error answer of the token endpoint (RFC 6749 5.2)."""

    error: str
    error_description: str = ""


class MeOut(BaseModel):
    """The logged-in account and what its role may do."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    role: str
    institution_id: uuid.UUID | None
    practitioner_id: uuid.UUID | None
    resident_id: uuid.UUID | None
    permissions: list[str] = []


class UserIn(BaseModel):
    """A new account."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=1, max_length=128)
    role: str = Field(max_length=24)
    display_name: str = Field(min_length=1, max_length=60)
    institution_id: uuid.UUID | None = None
    practitioner_id: uuid.UUID | None = None
    resident_id: uuid.UUID | None = None


class UserOut(BaseModel):
    """An account as listed to user managers."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    role: str
    institution_id: uuid.UUID | None
    active: bool
    locked_until: datetime | None
    last_login_at: datetime | None


class UserActiveIn(BaseModel):
    """Enable or disable an account."""

    model_config = ConfigDict(extra="forbid")

    active: bool


class AuditEventOut(BaseModel):
    """One row of the audit log."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    actor_name: str
    actor_role: str
    person_id: uuid.UUID | None
    action: str
    object_type: str
    object_id: str | None
    client: str | None
    reason: str | None
    detail: str | None
    hash: str
