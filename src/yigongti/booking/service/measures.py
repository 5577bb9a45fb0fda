"""Booking measures for the bureau and the data center (按时就诊率, 爽约率, online share ...).

The same figures are exported row by row through two database views, ``booking_facts`` (one
row per booking) and ``slot_facts`` (one row per slot), which the data center reads in bulk.
"""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yigongti.booking.codes import CHANNELS
from yigongti.booking.models import Booking, ClinicSession, Slot
from yigongti.kernel import SHANGHAI, invalid_field
from yigongti.security import Actor, roles

# Bookings that reached their day: the denominator of the on-time and no-show rates.
ATTENDED = ("checked_in", "called", "skipped", "completed")
MAX_DAYS = 400


@dataclass(frozen=True)
class BookingMeasures:
    """Booking figures of a period (days ``first`` to ``last``), county-wide or one institution.

    Rates are ``None`` when their denominator is zero. Waits are minutes from check-in to the
    first call.
    """

    first: date
    last: date
    bookings: int
    by_channel: dict[str, int]
    online_share: float | None  # online and external platform
    self_service_share: float | None  # online, external and kiosk (自助)
    on_time_rate: float | None
    no_show_rate: float | None
    median_wait_minutes: float | None
    slots: int
    slot_utilisation: float | None
    referral_slots: int
    referral_slots_used: float | None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def booking_measures(
    session: Session,
    actor: Actor,
    first: date,
    last: date,
    institution_id: uuid.UUID | None = None,
) -> BookingMeasures:
    """The booking measures of a period; aggregate readers, or staff for their institution."""
    if not actor.can(roles.AGGREGATE_READ):
        actor.require(roles.QUEUE_RUN)
        institution_id = actor.institution_id
    if last < first or (last - first).days > MAX_DAYS:
        raise invalid_field(
            "last", f"A period is 1 to {MAX_DAYS} days", f"统计期间应为 1 到 {MAX_DAYS} 天"
        )
    where = [Booking.day >= first, Booking.day <= last]
    if institution_id is not None:
        where.append(Booking.institution_id == institution_id)
    counts = dict(
        session.execute(
            select(Booking.status, func.count()).where(*where).group_by(Booking.status)
        ).all()
    )
    channels = dict(
        session.execute(
            select(Booking.channel, func.count())
            .where(*where, Booking.status.not_in(("held", "expired")))
            .group_by(Booking.channel)
        ).all()
    )
    booked = sum(channels.values())
    attended = sum(counts.get(s, 0) for s in ATTENDED)
    on_time = session.scalar(select(func.count()).where(*where, Booking.on_time.is_(True))) or 0
    due = attended + counts.get("no_show", 0)
    waits = [
        (called - checked).total_seconds() / 60
        for checked, called in session.execute(
            select(Booking.checked_in_at, Booking.called_at).where(
                *where, Booking.called_at.is_not(None), Booking.checked_in_at.is_not(None)
            )
        )
    ]
    start = datetime.combine(first, datetime.min.time(), tzinfo=SHANGHAI)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    slot_where = [
        ClinicSession.starts_at >= start,
        ClinicSession.starts_at < end,
        ClinicSession.status == "open",
    ]
    if institution_id is not None:
        slot_where.append(ClinicSession.institution_id == institution_id)
    slot_rows = dict(
        session.execute(
            select(Slot.channel, func.count())
            .join(ClinicSession, ClinicSession.id == Slot.session_id)
            .where(*slot_where)
            .group_by(Slot.channel)
        ).all()
    )
    slots = sum(slot_rows.values())
    used = (
        session.scalar(
            select(func.count())
            .select_from(Booking)
            .join(Slot, Slot.id == Booking.slot_id)
            .where(*where, Booking.status.not_in(("held", "expired", "cancelled", "stopped")))
        )
        or 0
    )
    referral_used = (
        session.scalar(
            select(func.count())
            .select_from(Booking)
            .join(Slot, Slot.id == Booking.slot_id)
            .where(
                *where,
                Slot.channel == "referral",
                Booking.channel == "referral",
                Booking.status.not_in(("held", "expired", "cancelled", "stopped")),
            )
        )
        or 0
    )
    return BookingMeasures(
        first=first,
        last=last,
        bookings=booked,
        by_channel={c: channels.get(c, 0) for c in CHANNELS},
        online_share=_rate(channels.get("online", 0) + channels.get("external", 0), booked),
        self_service_share=_rate(
            sum(channels.get(c, 0) for c in ("online", "external", "kiosk")), booked
        ),
        on_time_rate=_rate(on_time, attended),
        no_show_rate=_rate(counts.get("no_show", 0), due),
        median_wait_minutes=statistics.median(waits) if waits else None,
        slots=slots,
        slot_utilisation=_rate(used, slots),
        referral_slots=slot_rows.get("referral", 0),
        referral_slots_used=_rate(referral_used, slot_rows.get("referral", 0)),
    )
