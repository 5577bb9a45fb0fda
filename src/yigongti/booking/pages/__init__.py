"""Web pages of unified appointments: booking, the queue console, schedules, the hall display.

Pages render what the booking services return and call them; every rule and permission check
is the services' (a refusal shows as the service's message). Pages are built for a 390-px
phone first: one column, buttons at least 44 px high.
"""

from __future__ import annotations

from nicegui import ui

from yigongti.booking.pages.display import display_page
from yigongti.booking.pages.queue import queue_page
from yigongti.booking.pages.resident import booking_page
from yigongti.booking.pages.schedules import schedules_page


def register() -> None:
    """Declare the booking pages."""
    ui.page("/booking")(booking_page)
    ui.page("/queue")(queue_page)
    ui.page("/schedules")(schedules_page)
    ui.page("/display/{institution_id}/{room}")(display_page)
