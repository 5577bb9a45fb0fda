"""Booking rules: the county's defaults, an institution's own, and who may change them."""

from __future__ import annotations

import time
import uuid
import weakref
from dataclasses import asdict, dataclass, fields

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.booking.models import BookingPolicy
from yigongti.kernel import Forbidden, invalid_field
from yigongti.security import Actor, audit, roles


@dataclass(frozen=True)
class Rules:
    """The rules a booking is held to; the defaults are those Chinese hospitals commonly use."""

    hold_minutes: int = 5  # a hold lapses unless confirmed within this time
    max_active: int = 5  # live bookings per resident at once
    cancel_minutes_before: int = 120  # cancellation closes this long before the slot
    no_show_limit: int = 3  # this many no-shows ...
    no_show_window_days: int = 90  # ... within this many days ...
    suspension_days: int = 90  # ... suspend online booking for this long


LIMITS: dict[str, tuple[int, int]] = {
    "hold_minutes": (1, 60),
    "max_active": (1, 50),
    "cancel_minutes_before": (0, 7 * 24 * 60),
    "no_show_limit": (1, 20),
    "no_show_window_days": (1, 365),
    "suspension_days": (0, 365),
}


# Rules read per database, kept for a few seconds: every booking needs them, and they change
# a few times a year. A change in this process clears them at once; other server processes
# see it within ``RULES_TTL`` seconds.
RULES_TTL = 5.0
_known: weakref.WeakKeyDictionary[Engine, dict[uuid.UUID | None, tuple[float, Rules]]]
_known = weakref.WeakKeyDictionary()


def rules_for(session: Session, institution_id: uuid.UUID | None) -> Rules:
    """The rules at an institution: its own row, else the county's row, else the defaults."""
    known = _known.setdefault(session.get_bind().engine, {})
    cached = known.get(institution_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    rules = _read_rules(session, institution_id)
    known[institution_id] = (time.monotonic() + RULES_TTL, rules)
    return rules


def _read_rules(session: Session, institution_id: uuid.UUID | None) -> Rules:
    rows = {
        row.institution_id: row
        for row in session.scalars(
            select(BookingPolicy).where(
                (BookingPolicy.institution_id == institution_id)
                | BookingPolicy.institution_id.is_(None)
            )
        )
    }
    row = rows.get(institution_id) or rows.get(None)
    if row is None:
        return Rules()
    return Rules(**{f.name: getattr(row, f.name) for f in fields(Rules)})


def set_rules(
    session: Session, actor: Actor, institution_id: uuid.UUID | None, rules: Rules
) -> Rules:
    """Set an institution's rules (or the county's, without one); schedule managers only.

    A manager sets his own institution's rules; county-wide rules, and any institution's, need
    a county-wide role (the system administrator).
    """
    actor.require(roles.SCHEDULE_MANAGE)
    if actor.role_def.scope != roles.COUNTY and institution_id != actor.institution_id:
        raise Forbidden(
            en="You may set the booking rules of your own institution only",
            zh="只能设置本机构的预约规则",
        )
    if institution_id is not None:
        registry.get_institution(session, institution_id)
    for name, (low, high) in LIMITS.items():
        value = getattr(rules, name)
        if not low <= value <= high:
            raise invalid_field(
                name, f"{name} must be {low} to {high}", f"{name} 应在 {low} 到 {high} 之间"
            )
    row = session.scalar(
        select(BookingPolicy).where(
            BookingPolicy.institution_id.is_(None)
            if institution_id is None
            else BookingPolicy.institution_id == institution_id
        )
    )
    if row is None:
        row = BookingPolicy(institution_id=institution_id)
        session.add(row)
    for name, value in asdict(rules).items():
        setattr(row, name, value)
    session.flush()
    _known.pop(session.get_bind().engine, None)
    audit.record(
        session, actor, "update", "booking_policy", institution_id, detail=str(asdict(rules))
    )
    return rules
