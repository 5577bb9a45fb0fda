"""Indicator alerts (``/alerts``): open and closed breaches of the alert thresholds, and closing
one with a note (alert:close). Staff of an institution see their own institution's only; the
service decides which.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti import analytics
from yigongti.analytics.pages.common import (
    TOUCH,
    empty_note,
    figure,
    href,
    lake_of,
    name_of,
    status_dot,
)
from yigongti.kernel import Invalid, local
from yigongti.security import roles
from yigongti.web.i18n import t
from yigongti.web.ui.context import PageContext, error_text
from yigongti.web.ui.shell import enter, to_login

PAGE_ALERTS = 20
NOTE_MAX = 500


class AlertsDesk:
    """The alerts page: a status switch, a page of alerts, and the close dialog."""

    def __init__(self, context: PageContext) -> None:
        self.context = context
        self.lake = lake_of(context)
        self.offset = 0
        self.closing: uuid.UUID | None = None

    def build(self) -> None:
        """Draw the page; a role without alert:read sees the service's refusal."""
        self.status = ui.toggle({"open": t("待处理"), "closed": t("已关闭")}, value="open").props(
            "no-caps data-testid=alerts-status"
        )
        self.status.on_value_change(lambda: self._first_page())
        self.box = ui.column().classes("w-full gap-2").props("data-testid=alerts-list")
        self.pager = ui.row().classes("w-full items-center justify-between")
        self._dialog()
        self.draw(inline=True)

    def _first_page(self) -> None:
        self.offset = 0
        self.draw()

    def draw(self, inline: bool = False) -> None:
        """The current page of alerts of the chosen status."""
        self.box.clear()
        self.pager.clear()
        found: tuple[int, list[analytics.AlertLine]] | None = None
        with self.box, self.context.work(inline=inline) as work:
            found = analytics.alerts_for(
                work.session,
                work.actor,
                self.lake,
                status=self.status.value,
                limit=PAGE_ALERTS,
                offset=self.offset,
            )
        if found is None:
            return
        total, lines = found
        with self.box:
            if not lines:
                empty_note(t("无预警"), "no-alerts")
            for line in lines:
                self._card(line)
        self._pages(total)

    def _card(self, line: analytics.AlertLine) -> None:
        alert = line.alert
        with (
            ui.card()
            .classes("w-full q-pa-sm gap-1")
            .props(f"flat bordered data-testid=alert-card data-alert={alert.id}")
        ):
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                status_dot("red" if alert.status == "open" else None)
                ui.label(name_of(line.indicator_zh, line.indicator_en)).classes(
                    "text-subtitle1 ellipsis"
                )
            ui.label(f"{line.unit_name or t('全县')} · {alert.period}").classes("text-body2")
            ui.label(
                t("数值 {value}，预警线 {threshold}").format(
                    value=figure(alert.value, line.unit),
                    threshold=figure(alert.threshold, line.unit),
                )
            ).classes("text-body2 text-negative")
            ui.label(
                t("发现于 {time}").format(time=f"{local(alert.opened_at):%Y-%m-%d %H:%M}")
            ).classes("text-caption text-grey-7")
            if alert.status == "closed" and alert.closed_at is not None:
                ui.label(
                    t("{who} 于 {time} 关闭：{note}").format(
                        who=alert.closed_by or "",
                        time=f"{local(alert.closed_at):%Y-%m-%d %H:%M}",
                        note=alert.note or "",
                    )
                ).classes("text-caption").props("data-testid=alert-note")
            with ui.row().classes("w-full gap-2"):
                link = href(f"/dashboard/indicator/{alert.indicator}", period=alert.period)
                if self.context.actor.can(roles.AGGREGATE_READ):
                    ui.button(t("查看指标"), on_click=lambda: ui.navigate.to(link)).props(
                        "flat dense"
                    ).style(TOUCH)
                if alert.status == "open" and self.context.actor.can(roles.ALERT_CLOSE):
                    ui.button(
                        t("关闭预警"), icon="task_alt", on_click=lambda: self._ask(alert.id)
                    ).props("outline dense data-testid=alert-close").style(TOUCH)

    def _pages(self, total: int) -> None:
        if total <= PAGE_ALERTS:
            return
        last = min(self.offset + PAGE_ALERTS, total)
        with self.pager:
            back = ui.button(t("上一页"), icon="chevron_left", on_click=lambda: self._move(-1))
            back.props("flat").style(TOUCH).set_enabled(self.offset > 0)
            ui.label(
                t("第 {first}–{last} 条，共 {n} 条").format(
                    first=self.offset + 1, last=last, n=total
                )
            ).classes("text-caption")
            on = ui.button(t("下一页"), icon="chevron_right", on_click=lambda: self._move(1))
            on.props("flat").style(TOUCH).set_enabled(last < total)

    def _move(self, pages: int) -> None:
        self.offset = max(self.offset + pages * PAGE_ALERTS, 0)
        self.draw()

    def _dialog(self) -> None:
        with (
            ui.dialog() as self.dialog,
            ui.card().classes("w-full").style("max-width: 420px").props("data-testid=close-dialog"),
        ):
            ui.label(t("关闭预警")).classes("text-h6")
            self.note = (
                ui.textarea(t("处理说明"), placeholder=t("写明核实了什么、做了什么"))
                .classes("w-full")
                .props(f"maxlength={NOTE_MAX} counter data-testid=close-note")
            )
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(t("返回"), on_click=self.dialog.close).props("flat").style(TOUCH)
                ui.button(t("确认关闭"), on_click=self._close).props(
                    "unelevated data-testid=close-submit"
                ).style(TOUCH)

    def _ask(self, alert_id: uuid.UUID) -> None:
        self.closing = alert_id
        self.note.value = ""
        self.note.error = None
        self.dialog.open()

    def _close(self) -> None:
        if self.closing is None:
            return
        closed = False
        try:
            with self.context.work(passthrough=Invalid) as work:
                analytics.close_alert(work.session, work.actor, self.closing, self.note.value or "")
                closed = True
        except Invalid as exc:  # the note is what is wrong: say so under it
            self.note.error = error_text(exc)
            return
        if closed:
            ui.notify(t("预警已关闭"), type="positive")
            self.dialog.close()
            self.draw()


def alerts_page(request: Request) -> RedirectResponse | None:
    """Open and closed indicator alerts, and closing one with a note."""
    context = enter(request, t("指标预警"))
    if context is None:
        return to_login()
    AlertsDesk(context).build()
    return None
