"""The booking page (``/booking``): residents book for themselves and their wards; window staff
book by ID card.

The page is one ``BookingDesk`` made of its use cases: the slot search
(``resident_search``), the booking dialog that holds, confirms or moves a place
(``resident_book``), and the notices and bookings of the patient (``resident_bookings``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti import booking, registry
from yigongti.booking.codes import CHANNELS
from yigongti.booking.pages.common import TOUCH
from yigongti.booking.pages.resident_book import BookingDialog
from yigongti.booking.pages.resident_bookings import MyBookings
from yigongti.booking.pages.resident_search import SlotSearch
from yigongti.security import roles
from yigongti.web.i18n import t
from yigongti.web.ui.context import PageContext
from yigongti.web.ui.record import code_name
from yigongti.web.ui.shell import enter, to_login

STAFF_CHANNELS = ("window", "kiosk", "phone")  # staff book by ID card through these
BOOKINGS_REFRESH = 15.0


class _Ask:
    """A yes/no dialog before an action that cannot be undone."""

    def __init__(self) -> None:
        self.action: Callable[[], None] | None = None
        with ui.dialog() as self.dialog, ui.card().classes("w-full").style("max-width: 420px"):
            self.text = ui.label().classes("text-body1").props("data-testid=ask-text")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(t("返回"), on_click=self.dialog.close).props(
                    "flat data-testid=ask-no"
                ).style(TOUCH)
                self.yes = ui.button(on_click=self._yes).props("unelevated data-testid=ask-yes")
                self.yes.style(TOUCH)

    def __call__(self, text: str, yes: str, action: Callable[[], None]) -> None:
        self.text.set_text(text)
        self.yes.set_text(yes)
        self.action = action
        self.dialog.open()

    def _yes(self) -> None:
        self.dialog.close()
        if self.action is not None:
            self.action()


class BookingDesk(SlotSearch, BookingDialog, MyBookings):
    """The booking page: notices, the pool search, the booking dialog and my bookings.

    A resident books online for himself and his wards; staff (a window clerk) book through
    their counter's channel for a patient named by ID number and name.
    """

    def __init__(self, context: PageContext) -> None:
        self.context = context
        actor = context.actor
        self.resident_mode = actor.resident_id is not None
        codes = ("online",) if self.resident_mode else STAFF_CHANNELS
        usable = [c for c in codes if actor.can(roles.channel(c))] or list(codes[:1])
        self.channels = {c: code_name(CHANNELS, c) for c in usable}
        self.patients: dict[str, str] = {}
        self.handled: list[uuid.UUID] = []  # staff: bookings made on this page
        self.moving: booking.BookingView | None = None
        self.offer: booking.Offer | None = None
        self.key = ""
        self.watch = False
        self.shown: list[booking.BookingView] = []
        self.ask = _Ask()

    # building

    def build(self) -> None:
        """Draw the page."""
        if self.resident_mode and not self._load_patients():
            return
        self.notice_box = ui.column().classes("w-full gap-2")
        mine = t("我的预约") if self.resident_mode else t("本次办理")
        with ui.tabs().classes("w-full text-primary").props("no-caps") as tabs:
            self.find_tab = ui.tab("find", t("查找号源"), icon="search")
            self.find_tab.props("data-testid=tab-find")
            self.mine_tab = ui.tab("mine", mine, icon="event_note")
            self.mine_tab.props("data-testid=tab-mine")
        with ui.tab_panels(tabs, value=self.find_tab).classes("w-full bg-transparent") as panels:
            self.panels = panels
            with ui.tab_panel(self.find_tab).classes("q-pa-none gap-3"):
                self.moving_box = ui.column().classes("w-full")
                self._search_form()
                self.offers_box = ui.column().classes("w-full gap-2").props("data-testid=offers")
            with ui.tab_panel(self.mine_tab).classes("q-pa-none"):
                self.bookings_box = (
                    ui.column().classes("w-full gap-2").props("data-testid=my-bookings")
                )
        self._dialog()
        self.draw_notices()
        self.draw_bookings()
        self.search()
        ui.timer(BOOKINGS_REFRESH, lambda: self.watch and self.draw_bookings(force=False))

    def _load_patients(self) -> bool:
        me = self.context.actor.resident_id
        assert me is not None
        loaded = False
        with self.context.work(inline=True) as work:
            own = registry.get_resident(work.session, work.actor, me)
            wards = registry.wards_of(work.session, work.actor)
            self.patients = {str(own.id): t("{name}（本人）").format(name=own.name)}
            self.patients.update({str(w.id): w.name for w in wards})
            loaded = True
        return loaded

    def refresh(self) -> None:
        """Redraw what a change of a booking changes."""
        self.draw_bookings()
        self.draw_notices()
        self.search()


def booking_page(request: Request) -> RedirectResponse | None:
    """Search the county's slot pool, hold and confirm a place, see and change one's bookings."""
    context = enter(request, t("预约挂号"))
    if context is None:
        return to_login()
    BookingDesk(context).build()
    return None
