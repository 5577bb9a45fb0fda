"""The booking dialog: choose a slice and the patient, hold and confirm, or move a booking."""

from __future__ import annotations

import uuid
from datetime import datetime

from nicegui import ui

from yigongti import booking
from yigongti.booking.pages.common import TOUCH, day_label, hm, period_name, touch_button
from yigongti.web.i18n import t
from yigongti.web.ui.record import yuan


class BookingDialog:
    """Part of ``BookingDesk`` (``resident``): book the chosen session, or move a booking to it.

    A booking made or moved redraws the desk (``refresh``).
    """

    # the booking dialog: slice, patient, fee, hold, confirm

    def _dialog(self) -> None:
        with ui.dialog() as self.dialog:
            self.dialog_card = ui.card().classes("w-full").style("max-width: 480px")
            self.dialog_card.props("data-testid=book-dialog")

    def open_offer(self, offer: booking.Offer) -> None:
        """Show the session's time slices and what a booking there costs."""
        self.offer = offer
        slices: list[booking.Slice] = []
        with self.context.work() as work:
            slices = booking.slices_of(work.session, offer.session_id, self._channel())
        self.key = str(uuid.uuid4())
        self.dialog_card.clear()
        with self.dialog_card:
            ui.label(offer.schedule_name).classes("text-h6")
            ui.label(
                f"{offer.institution_name} · {offer.department_name} · "
                f"{day_label(offer.day)} {period_name(offer.period)}"
            ).classes("text-body2 text-grey-8")
            free = {
                s.starts_at.isoformat(): f"{hm(s.starts_at)}–{hm(s.ends_at)}　"
                + t("余 {n}").format(n=s.available)
                for s in slices
                if s.available > 0
            }
            if not free:
                ui.label(t("该场次已无可用号源")).classes("text-negative")
                ui.button(t("关闭"), on_click=self.dialog.close).props("flat").style(TOUCH)
                self.dialog.open()
                return
            ui.label(t("就诊时段")).classes("text-subtitle2")
            self.slice = ui.radio(free, value=next(iter(free))).props("data-testid=book-slices")
            self.slice.on_value_change(self._new_attempt)
            self._patient_fields()
            ui.label(t("挂号费：{fee}").format(fee=yuan(offer.fee_fen))).classes(
                "text-subtitle1"
            ).props("data-testid=book-fee")
            if offer.preparation:
                ui.label(t("检查须知：{text}").format(text=offer.preparation)).classes(
                    "text-body2 bg-amber-1 q-pa-sm rounded-borders"
                )
            self.result = ui.column().classes("w-full").props("data-testid=book-result")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(t("关闭"), on_click=self.dialog.close).props(
                    "flat data-testid=book-close"
                ).style(TOUCH)
                if self.moving is not None:
                    self.go = touch_button(t("确认改约"), "event_repeat", self.move, "book-move")
                else:
                    self.go = touch_button(t("锁号"), "lock_clock", self.hold, "book-hold")
        self.dialog.open()

    def _patient_fields(self) -> None:
        if self.moving is not None:
            ui.label(t("就诊人：{name}").format(name=self.moving.resident_name))
        elif self.resident_mode:
            self.patient = ui.select(
                self.patients, label=t("就诊人"), value=next(iter(self.patients))
            ).props("data-testid=book-patient")
            self.patient.on_value_change(self._new_attempt)
        else:
            self.id_number = ui.input(t("身份证号")).props(
                "maxlength=18 data-testid=book-id-number"
            )
            self.name = ui.input(t("姓名")).props("maxlength=40 data-testid=book-name")
            self.id_number.on_value_change(self._new_attempt)
            self.name.on_value_change(self._new_attempt)

    def _new_attempt(self) -> None:
        # Another slice or patient is another booking: a retry key must not replay the last.
        self.key = str(uuid.uuid4())

    def _request(self) -> booking.BookingRequest:
        assert self.offer is not None
        patient = {}
        if self.resident_mode:
            patient["resident_id"] = uuid.UUID(self.patient.value)
        else:
            patient["id_number"] = (self.id_number.value or "").strip()
            patient["name"] = (self.name.value or "").strip()
        return booking.BookingRequest(
            session_id=self.offer.session_id,
            channel=self._channel(),
            slice_start=datetime.fromisoformat(self.slice.value),
            idempotency_key=self.key,
            confirm=False,
            **patient,
        )

    def hold(self) -> None:
        """Hold the chosen place; the resident confirms it before the hold lapses."""
        with self.context.work() as work:
            view = booking.book(work.session, work.actor, self._request())
            self.go.visible = False
            self.result.clear()
            with self.result:
                ui.label(
                    t("已锁定第 {number} 号（{time}），请在 {expiry} 前确认").format(
                        number=view.number,
                        time=hm(view.starts_at),
                        expiry=hm(view.hold_expires_at) if view.hold_expires_at else "",
                    )
                ).classes("text-body1 text-weight-medium").props("data-testid=hold-expiry")
                ui.label(t("应付挂号费：{fee}").format(fee=yuan(view.fee_fen))).classes(
                    "text-subtitle1 text-primary"
                )
                target = view.id
                touch_button(
                    t("确认预约"), "check_circle", lambda: self.confirm(target), "book-confirm"
                )
            self.remember(view)
        self.draw_bookings()

    def confirm(self, booking_id: uuid.UUID) -> None:
        """Confirm a held booking."""
        with self.context.work() as work:
            view = booking.confirm(work.session, work.actor, booking_id)
            ui.notify(
                t("预约成功：{when} 第 {number} 号").format(
                    when=f"{view.day:%Y-%m-%d} {hm(view.starts_at)}", number=view.number
                ),
                type="positive",
            )
            self.dialog.close()
            self.panels.set_value("mine")
        self.refresh()

    def move(self) -> None:
        """Move the booking being rescheduled (or stopped) to the chosen slice, at once."""
        assert self.moving is not None and self.offer is not None
        with self.context.work() as work:
            view = booking.reschedule(
                work.session,
                work.actor,
                self.moving.id,
                self.offer.session_id,
                slice_start=datetime.fromisoformat(self.slice.value),
                idempotency_key=self.key,
            )
            ui.notify(
                t("已改约：{when} 第 {number} 号").format(
                    when=f"{view.day:%Y-%m-%d} {hm(view.starts_at)}", number=view.number
                ),
                type="positive",
            )
            self.remember(view)
            self.dialog.close()
            self.moving = None
            self.moving_box.clear()
            self.panels.set_value("mine")
        self.refresh()

    def remember(self, view: booking.BookingView) -> None:
        """Staff keep the bookings they made on the page in its list."""
        if not self.resident_mode and view.id not in self.handled:
            self.handled.insert(0, view.id)
