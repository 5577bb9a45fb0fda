"""The booking jobs a scheduler runs: stock sessions ahead, lapse holds, mark no-shows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti.booking.models import Booking, ClinicSession
from yigongti.booking.service.bookings import expire_holds
from yigongti.booking.service.schedules import release_due
from yigongti.kernel import now


def run_booking_jobs(session: Session) -> dict[str, int]:
    """Run every booking job once; safe to run at any time and any number of times."""
    return {
        "sessions_opened": release_due(session),
        "holds_expired": expire_holds(session),
        "no_shows": mark_no_shows(session),
    }


def mark_no_shows(session: Session) -> int:
    """Confirmed bookings of sessions that ended without a check-in become no-shows (爽约)."""
    moment = now()
    ended = select(ClinicSession.id).where(ClinicSession.ends_at < moment)
    missed = list(
        session.scalars(
            select(Booking).where(Booking.status == "confirmed", Booking.session_id.in_(ended))
        )
    )
    for booking in missed:
        booking.status, booking.ended_at = "no_show", moment
    session.flush()
    return len(missed)
