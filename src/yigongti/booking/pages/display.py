"""The waiting-room display (``/display/{institution_id}/{room}``): no login, timer-refreshed."""

from __future__ import annotations

import uuid

from fastapi import Request
from nicegui import ui

from yigongti import booking, registry
from yigongti.db import unit_of_work
from yigongti.kernel import DomainError, local, now
from yigongti.web.i18n import t
from yigongti.web.ui.context import error_text, host_of

DISPLAY_REFRESH = 3.0
DISPLAY_WAITING = 6
DISPLAY_CALLED = 3


def _display(board: ui.column, queue: booking.RoomQueue, institution: str, room: str) -> None:
    with board:
        with ui.row().classes("w-full items-baseline justify-between gap-x-6"):
            ui.label(institution).classes("text-h5 text-grey-4")
            ui.label(t("诊室 {room}").format(room=room)).classes(
                "text-h3 text-weight-bold text-white"
            ).props("data-testid=display-room")
        ui.label(t("请以下患者就诊")).classes("text-h4 text-amber-5")
        with ui.column().classes("w-full gap-2").props("data-testid=display-called"):
            if not queue.called:
                ui.label(t("暂无叫号")).classes("text-h4 text-grey-5")
            for entry in queue.called[:DISPLAY_CALLED]:
                with ui.row().classes("items-baseline gap-x-8 gap-y-0"):
                    ui.label(t("{number} 号").format(number=entry.number)).classes(
                        "text-weight-bold text-amber-5"
                    ).style("font-size: clamp(4rem, 16vw, 11rem); line-height: 1").props(
                        "data-testid=display-number"
                    )
                    ui.label(entry.name).classes("text-white").style(
                        "font-size: clamp(2.5rem, 9vw, 6rem); line-height: 1.1"
                    ).props("data-testid=display-name")
        ui.separator().props("dark")
        ui.label(t("候诊 {n} 人").format(n=len(queue.waiting))).classes("text-h4 text-grey-3")
        with (
            ui.grid()
            .classes("w-full grid-cols-1 sm:grid-cols-2 gap-2")
            .props("data-testid=display-waiting")
        ):
            for entry in queue.waiting[:DISPLAY_WAITING]:
                ui.label(f"{t('{number} 号').format(number=entry.number)}  {entry.name}").classes(
                    "text-h4 text-white"
                )
        if queue.skipped:
            skipped = t("、").join(
                f"{t('{number} 号').format(number=e.number)} {e.name}" for e in queue.skipped
            )
            ui.label(t("过号：{who}（请到分诊台重新排队）").format(who=skipped)).classes(
                "text-h6 text-grey-5"
            ).props("data-testid=display-skipped")


def display_page(request: Request, institution_id: str, room: str) -> None:
    """A waiting-room screen (no login): called numbers large, masked names, who is next."""
    engine = host_of(request).state.engine
    ui.page_title(f"{t('候诊叫号')} · {room}")
    ui.dark_mode(True)
    ui.query("body").style("background-color: #000")
    ui.context.client.content.classes("w-full p-4 sm:p-8")
    board = ui.column().classes("w-full gap-4").props("data-testid=display")
    clock = ui.label().classes("text-body2 text-grey-6 q-mt-md")
    shown: list[object] = [None]  # what the board shows: redrawn only when it changes

    def draw() -> None:
        clock.set_text(t("更新于 {time}").format(time=f"{local(now()):%H:%M:%S}"))
        try:
            where = uuid.UUID(institution_id)
            with unit_of_work(engine) as session:
                queue = booking.waiting_room_display(session, where, room)
                name = registry.get_institution(session, where).name
            now_showing: object = (queue, name)
            message = None
        except ValueError:
            now_showing = message = t("无此机构")
        except DomainError as exc:
            now_showing = message = error_text(exc)
        if now_showing == shown[0]:
            return
        shown[0] = now_showing
        board.clear()
        if message is not None:
            with board:
                ui.label(message).classes("text-h4 text-negative")
            return
        _display(board, queue, name, room)

    draw()
    ui.timer(DISPLAY_REFRESH, draw)
