"""API models of booking: requests in, the service's own views out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from yigongti.booking.codes import DEFAULT_QUOTAS
from yigongti.booking.service import (
    BookingMeasures,
    BookingView,
    Notice,
    Offer,
    QueueEntry,
    RoomQueue,
    Rules,
    Slice,
    StopOutcome,
)

# The service's views are the API's answers: one definition of how each is shown outside.
BookingOut = BookingView
OfferOut = Offer
SliceOut = Slice
NoticeOut = Notice
QueueOut = RoomQueue
QueueEntryOut = QueueEntry
StopOut = StopOutcome
MeasuresOut = BookingMeasures
RulesOut = Rules

Channel = Literal["online", "kiosk", "window", "phone", "external", "referral"]
Key = Field(default=None, min_length=1, max_length=64)


class BookingIn(BaseModel):
    """A booking: the session, the channel, and the patient by id or by ID number and name."""

    model_config = ConfigDict(extra="forbid")

    session_id: uuid.UUID
    channel: Channel
    resident_id: uuid.UUID | None = None
    id_number: str | None = Field(default=None, max_length=18)
    name: str | None = Field(default=None, max_length=40)
    slice_start: datetime | None = None
    idempotency_key: str | None = Key
    confirm: bool = False
    expected_fee_fen: int | None = Field(default=None, ge=0, le=1_000_000)


class RescheduleIn(BaseModel):
    """Where to move a booking."""

    model_config = ConfigDict(extra="forbid")

    session_id: uuid.UUID
    slice_start: datetime | None = None
    idempotency_key: str | None = Key


class CheckInIn(BaseModel):
    """How the patient checked in, and a priority he showed a certificate for."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["qr", "kiosk", "window"]
    priority_reason: Literal["military", "disabled"] | None = None


class TransferIn(BaseModel):
    """The room to send a patient to."""

    model_config = ConfigDict(extra="forbid")

    room: str = Field(min_length=1, max_length=30)


class StopIn(BaseModel):
    """Why a clinic session is cancelled."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=200)


class PublishIn(BaseModel):
    """How many days ahead to open a schedule's sessions (its release days by default)."""

    model_config = ConfigDict(extra="forbid")

    days: int | None = Field(default=None, ge=0, le=60)


class ScheduleIn(BaseModel):
    """A schedule to publish; quotas are percent of each session per channel (sum 100)."""

    model_config = ConfigDict(extra="forbid")

    institution_id: uuid.UUID
    department_id: uuid.UUID
    resource: Literal["doctor", "clinic", "ct", "mri", "ultrasound", "endoscopy", "vaccination"]
    room: str = Field(min_length=1, max_length=30)
    fee_fen: int = Field(ge=0, le=1_000_000)
    practitioner_id: uuid.UUID | None = None
    name: str | None = Field(default=None, max_length=60)
    slice_minutes: int = Field(default=15, ge=5, le=120)
    slice_capacity: int = Field(default=4, ge=1, le=50)
    weekdays: str = Field(default="12345", pattern=r"^[1-7]{1,7}$")
    periods: list[Literal["morning", "afternoon", "night"]] = Field(
        default_factory=lambda: ["morning", "afternoon"], min_length=1, max_length=3
    )
    release_days: int = Field(default=7, ge=1, le=30)
    release_minute: int = Field(default=480, ge=0, lt=1440)
    quotas: dict[Channel, int] = Field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    referral_release_hours: int = Field(default=24, ge=0, le=168)
    preparation: str | None = Field(default=None, max_length=500)


class ScheduleOut(BaseModel):
    """A published schedule."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    institution_id: uuid.UUID
    department_id: uuid.UUID
    practitioner_id: uuid.UUID | None
    resource: str
    name: str
    room: str
    fee_fen: int
    slice_minutes: int
    slice_capacity: int
    weekdays: str
    periods: str
    release_days: int
    release_minute: int
    quotas: dict[str, int]
    referral_release_hours: int
    preparation: str | None
    active: bool


class RulesIn(BaseModel):
    """Booking rules of an institution (or the county's, without one)."""

    model_config = ConfigDict(extra="forbid")

    institution_id: uuid.UUID | None = None
    hold_minutes: int = Field(ge=1, le=60)
    max_active: int = Field(ge=1, le=50)
    cancel_minutes_before: int = Field(ge=0, le=7 * 24 * 60)
    no_show_limit: int = Field(ge=1, le=20)
    no_show_window_days: int = Field(ge=1, le=365)
    suspension_days: int = Field(ge=0, le=365)
