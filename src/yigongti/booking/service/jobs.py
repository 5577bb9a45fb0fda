"""The booking jobs a scheduler runs: stock sessions ahead, lapse holds, mark no-shows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yigongti.booking.service.bookings import expire_holds, mark_no_shows
from yigongti.booking.service.schedules import release_due


def run_booking_jobs(session: Session) -> dict[str, int]:
    """Run every booking job once; safe to run at any time and any number of times."""
    return {
        "sessions_opened": release_due(session),
        "holds_expired": expire_holds(session),
        "no_shows": mark_no_shows(session),
    }
