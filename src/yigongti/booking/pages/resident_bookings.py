"""The booking page's lists: the patients' notices and bookings, each booking as a card."""

from __future__ import annotations

import uuid

from nicegui import ui

from yigongti import booking
from yigongti.booking.codes import STATUSES
from yigongti.booking.pages.common import TOUCH, day_label, hm, period_name, touch_button
from yigongti.kernel import local
from yigongti.web.i18n import pick, t
from yigongti.web.ui.record import code_name, section, yuan

MY_BOOKINGS = 10
MY_NOTICES = 5
WATCHED = ("checked_in", "called")  # statuses whose queue position changes by itself
CANCELLABLE = ("held", "confirmed")
WITH_CODE = ("held", "confirmed", "checked_in", "called", "skipped")
STATUS_COLORS = {
    "held": "orange",
    "confirmed": "primary",
    "checked_in": "teal",
    "called": "positive",
    "skipped": "warning",
    "no_show": "negative",
    "stopped": "negative",
}


def booking_card(view: booking.BookingView, desk: MyBookings | None = None) -> None:
    """One booking: status, when and where, number, queue position, code and its actions."""
    card = ui.card().classes("w-full gap-1")
    card.props(f"data-testid=booking-card data-booking={view.id} data-status={view.status}")
    with card:
        with ui.row().classes("w-full items-center no-wrap justify-between"):
            ui.label(view.resident_name).classes("text-subtitle1 text-weight-medium")
            ui.badge(
                code_name(STATUSES, view.status), color=STATUS_COLORS.get(view.status, "grey")
            ).classes("text-body2 q-px-sm").props("data-testid=booking-status")
        ui.label(f"{view.institution_name} · {view.department_name} · {view.schedule_name}")
        ui.label(
            f"{day_label(view.day)} {period_name(view.period)} "
            f"{hm(view.starts_at)}–{hm(view.ends_at)}"
        ).props("data-testid=booking-time")
        with ui.row().classes("items-baseline gap-x-4 gap-y-0"):
            ui.label(t("第 {number} 号").format(number=view.number)).classes(
                "text-h6 text-primary"
            ).props("data-testid=booking-number")
            ui.label(t("诊室：{room}").format(room=view.room)).props("data-testid=booking-room")
            ui.label(yuan(view.fee_fen)).props("data-testid=booking-fee")
        if view.preparation:
            ui.label(t("检查须知：{text}").format(text=view.preparation)).classes(
                "text-body2 bg-amber-1 q-pa-sm rounded-borders"
            ).props("data-testid=booking-preparation")
        if view.status == "called":
            ui.label(t("正在叫号，请到 {room} 就诊").format(room=view.room)).classes(
                "text-h6 text-positive"
            ).props("data-testid=booking-called")
        elif view.waiting_ahead is not None:
            ui.label(t("前面还有 {n} 人候诊").format(n=view.waiting_ahead)).classes(
                "text-subtitle1 text-primary"
            ).props("data-testid=waiting-ahead")
        if view.hold_expires_at is not None:
            ui.label(
                t("请在 {time} 前确认，逾期号源将释放").format(time=hm(view.hold_expires_at))
            ).classes("text-negative").props("data-testid=booking-hold")
        if view.status in WITH_CODE:
            with ui.column().classes("w-full items-center gap-0 q-pa-sm bg-grey-2 rounded-borders"):
                ui.label(t("预约码（签到时出示）")).classes("text-caption text-grey-8")
                ui.label(str(view.id)).classes("text-h6 text-center").style(
                    "font-family: monospace; word-break: break-all"
                ).props("data-testid=booking-code")
        if desk is not None:
            desk.actions(view)


class MyBookings:
    """Part of ``BookingDesk`` (``resident``): notices with rebooking, bookings with actions.

    Draws into the desk's ``notice_box`` and ``bookings_box``; rebooking starts the search's
    moving mode (``start_move``).
    """

    # notices and rebooking

    def draw_notices(self) -> None:
        """The residents' notices (clinic cancelled ...), each with a way to rebook."""
        self.notice_box.clear()
        if not self.resident_mode:
            return
        with self.notice_box, self.context.work() as work:
            notices = [
                n
                for pid in self.patients
                for n in booking.notices_of(
                    work.session, work.actor, uuid.UUID(pid), limit=MY_NOTICES
                )
            ]
            if not notices:
                return
            with section(t("消息通知"), "notifications").props("data-testid=notices"):
                for notice in notices:
                    self._notice(notice)

    def _notice(self, notice: booking.Notice) -> None:
        box = ui.card().classes("w-full gap-1 bg-orange-1").props("flat bordered")
        with box.props("data-testid=notice"):
            ui.label(pick(notice.zh, notice.en)).classes(
                "text-body1" if notice.read else "text-body1 text-weight-medium"
            ).props("data-testid=notice-text")
            ui.label(f"{local(notice.created_at):%Y-%m-%d %H:%M}").classes("text-caption")
            if notice.kind == "clinic_stopped" and notice.booking_id is not None:
                target = notice.booking_id
                touch_button(
                    t("改约"), "event_repeat", lambda: self.rebook(target), "notice-rebook"
                )

    def rebook(self, booking_id: uuid.UUID) -> None:
        """Start moving the booking a notice names to another session."""
        view = None
        with self.context.work() as work:
            view = booking.get_booking(work.session, work.actor, booking_id)
        if view is not None:
            self.start_move(view)

    # my bookings

    def draw_bookings(self, *, force: bool = True) -> None:
        """The bookings of the resident and his wards (staff: those made on this page).

        The timer (``force=False``) redraws only when something changed, e.g. the queue moved.
        """
        views: list[booking.BookingView] | None = None
        with self.context.work() as work:
            if self.resident_mode:
                views = [
                    v
                    for pid in self.patients
                    for v in booking.bookings_of(
                        work.session, work.actor, uuid.UUID(pid), limit=MY_BOOKINGS
                    )
                ]
            else:
                views = [booking.get_booking(work.session, work.actor, b) for b in self.handled]
        if views is None or (not force and views == self.shown):
            return
        self.shown = views
        self.watch = any(v.status in WATCHED for v in views)
        self.bookings_box.clear()
        with self.bookings_box:
            if not views:
                ui.label(t("暂无预约")).classes("text-grey-7").props("data-testid=no-bookings")
            for view in views:
                booking_card(view, self)

    def actions(self, view: booking.BookingView) -> None:
        """The buttons of a booking card."""
        target = view.id
        with ui.row().classes("w-full gap-2"):
            if view.status == "held":
                touch_button(
                    t("确认预约"), "check_circle", lambda: self.confirm(target), "booking-confirm"
                ).classes("grow")
            if view.status in CANCELLABLE:
                ui.button(
                    t("改约"), icon="event_repeat", on_click=lambda: self.start_move(view)
                ).props("outline data-testid=booking-reschedule").classes("grow").style(TOUCH)
                ui.button(
                    t("取消预约"),
                    icon="event_busy",
                    on_click=lambda: self.ask(
                        t("确定取消该预约吗？取消后号源将释放给他人。"),
                        t("取消预约"),
                        lambda: self.cancel(target),
                    ),
                ).props("outline color=negative data-testid=booking-cancel").classes("grow").style(
                    TOUCH
                )
            if view.status == "stopped":
                ui.button(
                    t("改约"), icon="event_repeat", on_click=lambda: self.start_move(view)
                ).props("outline data-testid=booking-rebook").classes("grow").style(TOUCH)

    def cancel(self, booking_id: uuid.UUID) -> None:
        """Cancel a booking and give its place back."""
        with self.context.work() as work:
            booking.cancel(work.session, work.actor, booking_id)
            ui.notify(t("预约已取消"), type="positive")
        self.refresh()
