"""The booking page's slot search: the pool's filters, the sessions found, the rebooking mode."""

from __future__ import annotations

from datetime import timedelta

from nicegui import ui

from yigongti import booking
from yigongti.booking.codes import RESOURCES
from yigongti.booking.pages.common import (
    SEARCH_DAYS,
    TOUCH,
    day_label,
    hm,
    parse_day,
    period_name,
    title_name,
    touch_button,
)
from yigongti.kernel import local, now
from yigongti.registry.codes import TIERS, department_catalog
from yigongti.web.i18n import pick, t
from yigongti.web.ui.record import code_name, yuan


class SlotSearch:
    """Part of ``BookingDesk`` (``resident``): search the county's pool and offer its sessions.

    Draws into the desk's ``moving_box`` and ``offers_box``; a session chosen opens the
    desk's booking dialog (``open_offer``).
    """

    def _search_form(self) -> None:
        today = local(now()).date()
        catalog = department_catalog()
        with ui.card().classes("w-full").props("data-testid=pool-search"):
            with ui.grid().classes("w-full grid-cols-1 sm:grid-cols-3 gap-x-4 gap-y-0"):
                self.department = ui.select(
                    {code: pick(d["zh"], d["en"]) for code, d in catalog.items()},
                    label=t("就诊科室"),
                    clearable=True,
                ).props("data-testid=pool-department")
                self.tier = ui.select(
                    {code: code_name(TIERS, code) for code in TIERS},
                    label=t("机构层级"),
                    clearable=True,
                ).props("data-testid=pool-tier")
                self.resource = ui.select(
                    {code: code_name(RESOURCES, code) for code in RESOURCES},
                    label=t("号源类型"),
                    clearable=True,
                ).props("data-testid=pool-resource")
                self.day_from = ui.input(t("起始日期"), value=today.isoformat()).props(
                    "type=date stack-label data-testid=pool-from"
                )
                self.day_to = ui.input(
                    t("结束日期"), value=(today + timedelta(days=SEARCH_DAYS)).isoformat()
                ).props("type=date stack-label data-testid=pool-to")
                self.channel = ui.select(
                    self.channels, label=t("预约渠道"), value=next(iter(self.channels))
                ).props("data-testid=pool-channel")
                self.channel.visible = len(self.channels) > 1
            touch_button(t("查询号源"), "search", self.search, "pool-submit").classes(
                "w-full sm:w-auto"
            )

    # moving a booking: the search chooses its new session

    def start_move(self, view: booking.BookingView | None) -> None:
        """Enter (or, with ``None``, leave) the mode where choosing a session moves ``view``."""
        self.moving = view
        self.moving_box.clear()
        if view is not None:
            with (
                self.moving_box,
                ui.card().classes("w-full bg-amber-1").props("flat bordered data-testid=moving"),
            ):
                ui.label(
                    t("正在为 {name} 改约：{when} {schedule}。请查询并选择新的场次。").format(
                        name=view.resident_name,
                        when=f"{day_label(view.day)} {period_name(view.period)}",
                        schedule=view.schedule_name,
                    )
                ).classes("text-body1")
                ui.button(t("放弃改约"), on_click=lambda: self.start_move(None)).props(
                    "flat data-testid=moving-cancel"
                ).style(TOUCH)
            self.panels.set_value("find")
        self.search()

    # the pool

    def _channel(self) -> str:
        return self.channel.value or next(iter(self.channels))

    def search(self) -> None:
        """Search the county's pool and list the sessions found."""
        self.offers_box.clear()
        query = booking.SlotQuery(
            department_code=self.department.value or None,
            tier=self.tier.value or None,
            resource=self.resource.value or None,
            day_from=parse_day(self.day_from.value),
            day_to=parse_day(self.day_to.value),
            channel=self._channel(),
        )
        with self.offers_box, self.context.work() as work:
            offers = booking.search_pool(work.session, query)
            ui.label(t("共 {n} 个出诊场次").format(n=len(offers))).classes("text-grey-8").props(
                "data-testid=offers-total"
            )
            for offer in offers:
                self._offer(offer)

    def _offer(self, offer: booking.Offer) -> None:
        card = ui.card().classes("w-full gap-1")
        with card.props(f"data-testid=offer data-session={offer.session_id}"):
            with ui.row().classes("w-full items-start no-wrap justify-between"):
                with ui.column().classes("gap-0 min-w-0"):
                    who = " · ".join(filter(None, (offer.schedule_name, title_name(offer.title))))
                    ui.label(who).classes("text-subtitle1 text-weight-medium").props(
                        "data-testid=offer-name"
                    )
                    ui.label(f"{offer.institution_name} · {offer.department_name}").classes(
                        "text-body2 text-grey-8"
                    )
                ui.label(yuan(offer.fee_fen)).classes("text-subtitle1 text-primary").props(
                    "data-testid=offer-fee"
                )
            ui.label(
                f"{day_label(offer.day)} {period_name(offer.period)} "
                f"{hm(offer.starts_at)}–{hm(offer.ends_at)}"
            ).props("data-testid=offer-time")
            ui.label(
                f"{code_name(RESOURCES, offer.resource)} · "
                + t("诊室：{room}").format(room=offer.room)
            ).classes("text-body2 text-grey-8")
            if offer.status == "stopped":
                state, ok = t("停诊"), False
            elif not offer.released:
                opens = f"{local(offer.release_at):%m-%d %H:%M}"
                state, ok = t("{time} 开放预约").format(time=opens), False
            elif offer.available == 0:
                state, ok = t("已约满"), False
            else:
                state, ok = t("余号 {n}").format(n=offer.available), True
            with ui.row().classes("w-full items-center justify-between no-wrap"):
                ui.label(state).classes("text-body1 " + ("text-positive" if ok else "text-grey-7"))
                if ok:
                    label = t("改约到此场次") if self.moving else t("预约")
                    touch_button(
                        label, "event_available", lambda: self.open_offer(offer), "offer-book"
                    )
