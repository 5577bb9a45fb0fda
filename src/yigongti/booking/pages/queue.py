"""The queue console (``/queue``): check-in, and calling the patients of a room."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti import booking
from yigongti.booking.codes import CHECKIN_METHODS, PRIORITIES
from yigongti.booking.pages.common import TOUCH, hm, touch_button
from yigongti.kernel import local, now
from yigongti.web.i18n import pick, t
from yigongti.web.ui.context import PageContext
from yigongti.web.ui.record import code_name
from yigongti.web.ui.shell import enter, to_login

# A queue console's buttons for one entry: (label, icon, handler, test id)
QueueActions = list[tuple[str, str, Callable[["booking.QueueEntry"], None], str]]
QUEUE_REFRESH = 5.0


class QueueConsole:
    """Check-in and calling for one room of the actor's institution, refreshed by a timer."""

    def __init__(self, context: PageContext) -> None:
        self.context = context
        self.moving: uuid.UUID | None = None  # the patient being transferred
        self.shown: booking.RoomQueue | None = None

    def build(self) -> None:
        """Draw the page; a role that does not run queues sees the service's refusal."""
        rooms: list[str] | None = None
        with self.context.work(inline=True) as work:
            rooms = booking.rooms_of(work.session, work.actor)
        if rooms is None:
            return
        self._checkin()
        with ui.card().classes("w-full").props("data-testid=queue-panel"):
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                self.room = ui.select(
                    rooms, label=t("诊室"), value=rooms[0] if rooms else None
                ).classes("grow")
                self.room.props("data-testid=queue-room")
                self.room.on_value_change(self.draw)
                self.display = ui.button(t("候诊屏"), icon="tv", on_click=self._open_display)
                self.display.props("flat data-testid=display-link").style(TOUCH)
            touch_button(t("呼叫下一位"), "campaign", self.call_next, "call-next").classes(
                "w-full text-h6"
            ).style("min-height: 56px")
            self.board = ui.column().classes("w-full gap-2").props("data-testid=queue-board")
            self.updated = ui.label().classes("text-caption text-grey-7")
        self._transfer_dialog()
        self.draw()
        ui.timer(QUEUE_REFRESH, lambda: self.draw(force=False))

    def _checkin(self) -> None:
        with ui.card().classes("w-full").props("data-testid=checkin"):
            ui.label(t("签到")).classes("text-subtitle1 text-weight-medium")
            with ui.grid().classes("w-full grid-cols-1 sm:grid-cols-3 gap-x-4 gap-y-0"):
                self.checkin_id = ui.input(t("预约码")).props(
                    "clearable maxlength=36 data-testid=checkin-id"
                )
                self.method = ui.select(
                    {code: code_name(CHECKIN_METHODS, code) for code in CHECKIN_METHODS},
                    label=t("签到方式"),
                    value="window",
                ).props("data-testid=checkin-method")
                self.priority = ui.select(
                    {code: pick(p[1], p[2]) for code, p in PRIORITIES.items()},
                    label=t("优先类别（凭证件）"),
                    clearable=True,
                ).props("data-testid=checkin-priority")
            touch_button(t("签到"), "how_to_reg", self.check_in, "checkin-submit")

    def _open_display(self) -> None:
        room, institution = self.room.value, self.context.actor.institution_id
        if room and institution:
            ui.navigate.to(f"/display/{institution}/{quote(room, safe='')}", new_tab=True)

    def check_in(self) -> None:
        """Check the patient of a booking code in and show his room's queue."""
        self.checkin_id.error = None
        try:
            booking_id = uuid.UUID((self.checkin_id.value or "").strip())
        except ValueError:
            self.checkin_id.error = t("请输入完整的预约码")
            return
        room = None
        with self.context.work() as work:
            view = booking.check_in(
                work.session,
                work.actor,
                booking_id,
                self.method.value,
                priority_reason=self.priority.value or None,
            )
            ui.notify(
                t("已签到：{number} 号 {name}，请到 {room} 候诊").format(
                    number=view.number, name=view.resident_name, room=view.room
                ),
                type="positive",
            )
            room = view.room
            rooms = booking.rooms_of(work.session, work.actor)
        if room is None:
            return
        self.checkin_id.value = ""
        self.priority.value = None
        self.room.set_options(rooms, value=self.room.value or room)
        self.draw()

    def draw(self, *_: object, force: bool = True) -> None:
        """The room's queue: called, waiting in order, skipped.

        The timer redraws only when the queue changed, so a button is never replaced
        under the finger that presses it.
        """
        room = self.room.value
        if not room:
            self.shown = None
            self.board.clear()
            with self.board:
                ui.label(t("今日暂无候诊患者；签到后诊室会出现在上方")).classes("text-grey-7")
            return
        queue = None
        with self.context.work() as work:
            queue = booking.room_queue(work.session, work.actor, room)
        if queue is None:
            return
        self.updated.set_text(t("更新于 {time}").format(time=f"{local(now()):%H:%M:%S}"))
        if not force and queue == self.shown:
            return
        self.shown = queue
        self.board.clear()
        with self.board:
            self._entries(t("正在就诊"), queue.called, "queue-called", self._called)
            self._entries(
                t("候诊（{n} 人）").format(n=len(queue.waiting)),
                queue.waiting,
                "queue-waiting",
                self._waiting,
            )
            if queue.skipped:
                self._entries(t("过号"), queue.skipped, "queue-skipped", self._skipped)

    def _entries(
        self,
        title: str,
        entries: list[booking.QueueEntry],
        testid: str,
        actions: Callable[[], QueueActions],
    ) -> None:
        ui.label(title).classes("text-subtitle2 q-mt-sm")
        with ui.column().classes("w-full gap-2").props(f"data-testid={testid}"):
            if not entries:
                ui.label(t("无")).classes("text-grey-7")
            for entry in entries:
                self._entry(entry, actions())

    def _entry(self, entry: booking.QueueEntry, actions: QueueActions) -> None:
        card = ui.card().classes("w-full q-pa-sm gap-1")
        with card.props(f"flat bordered data-testid=queue-entry data-booking={entry.booking_id}"):
            with ui.row().classes("w-full items-center no-wrap gap-3"):
                ui.label(t("{number} 号").format(number=entry.number)).classes(
                    "text-h5 text-primary"
                ).props("data-testid=entry-number")
                with ui.column().classes("gap-0 grow min-w-0"):
                    ui.label(entry.name).classes("text-subtitle1").props("data-testid=entry-name")
                    tags = [t("预约 {time}").format(time=hm(entry.slot_start))]
                    if entry.priority_reason in PRIORITIES:
                        names = PRIORITIES[entry.priority_reason]
                        tags.append(pick(names[1], names[2]))
                    if entry.on_time is False:
                        tags.append(t("迟到"))
                    if entry.calls > 1:
                        tags.append(t("已呼叫 {n} 次").format(n=entry.calls))
                    ui.label(" · ".join(tags)).classes("text-caption text-grey-8")
            with ui.row().classes("w-full gap-2"):
                for label, icon, handler, testid in actions:
                    ui.button(label, icon=icon, on_click=lambda h=handler: h(entry)).props(
                        f"outline dense data-testid={testid}"
                    ).classes("grow").style(TOUCH)

    def _called(self) -> QueueActions:
        return [
            (
                t("重呼"),
                "replay",
                self._act(booking.recall, t("已重呼 {number} 号")),
                "queue-recall",
            ),
            (t("完成"), "done", self._act(booking.finish, t("{number} 号已就诊")), "queue-finish"),
            (t("过号"), "skip_next", self._act(booking.skip, t("{number} 号已过号")), "queue-skip"),
            (t("转诊室"), "move_down", self._ask_transfer, "queue-transfer"),
        ]

    def _waiting(self) -> QueueActions:
        return [(t("转诊室"), "move_down", self._ask_transfer, "queue-transfer")]

    def _skipped(self) -> QueueActions:
        return [
            (
                t("重新排队"),
                "undo",
                self._act(booking.requeue, t("{number} 号已重新排队")),
                "queue-requeue",
            )
        ]

    def _act(
        self, action: Callable[..., booking.BookingView], done: str
    ) -> Callable[[booking.QueueEntry], None]:
        def run(entry: booking.QueueEntry) -> None:
            with self.context.work() as work:
                action(work.session, work.actor, entry.booking_id)
                ui.notify(done.format(number=entry.number))
            self.draw()

        return run

    def call_next(self) -> None:
        """Call the first waiting patient of the room."""
        room = self.room.value
        if not room:
            ui.notify(t("请先选择诊室"))
            return
        with self.context.work() as work:
            called = booking.call_next(work.session, work.actor, room)
            if called is None:
                ui.notify(t("当前无候诊患者"))
            else:
                ui.notify(
                    t("请 {number} 号 {name} 到 {room} 就诊").format(
                        number=called.number, name=called.resident_name, room=room
                    ),
                    type="positive",
                )
        self.draw()

    def _transfer_dialog(self) -> None:
        with (
            ui.dialog() as self.transfer,
            ui.card().classes("w-full").style("max-width: 420px").props("data-testid=transfer"),
        ):
            self.transfer_text = ui.label().classes("text-body1")
            self.transfer_room = ui.input(t("转到诊室")).props(
                "maxlength=30 data-testid=transfer-room"
            )
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(t("返回"), on_click=self.transfer.close).props("flat").style(TOUCH)
                touch_button(t("转诊室"), "move_down", self._do_transfer, "transfer-submit")

    def _ask_transfer(self, entry: booking.QueueEntry) -> None:
        self.moving = entry.booking_id
        self.transfer_text.set_text(
            t("将 {number} 号 {name} 转到其他诊室，保留排队顺序").format(
                number=entry.number, name=entry.name
            )
        )
        self.transfer_room.value = ""
        self.transfer.open()

    def _do_transfer(self) -> None:
        if self.moving is None:
            return
        with self.context.work() as work:
            view = booking.transfer(
                work.session, work.actor, self.moving, self.transfer_room.value or ""
            )
            ui.notify(
                t("已转到 {room}").format(room=view.room),
                type="positive",
            )
            self.transfer.close()
            rooms = booking.rooms_of(work.session, work.actor)
            self.room.set_options(rooms, value=self.room.value)
        self.draw()


def queue_page(request: Request) -> RedirectResponse | None:
    """The queue console of a room: check-in, call next, recall, skip, requeue, transfer."""
    context = enter(request, t("叫号台"))
    if context is None:
        return to_login()
    QueueConsole(context).build()
    return None
