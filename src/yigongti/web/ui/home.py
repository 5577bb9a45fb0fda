"""The home page: what a user sees first depends on his role."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti import booking, clinical, registry
from yigongti.booking.pages.common import day_label, period_name
from yigongti.kernel import local
from yigongti.web.i18n import pick, t
from yigongti.web.ui import home_staff
from yigongti.web.ui.context import PageContext, Work
from yigongti.web.ui.record import (
    conditions_list,
    encounters_list,
    people_list,
    record_link,
    resident_card,
    section,
)
from yigongti.web.ui.shell import enter, to_login

RECENT_ENCOUNTERS = 10
HOME_BOOKINGS = 3
HOME_NOTICES = 2
UPCOMING = ("held", "confirmed", "checked_in", "called", "skipped")


def register() -> None:
    """Declare the home page."""
    ui.page("/")(home_page)


def home_page(request: Request) -> RedirectResponse | None:
    """The role's home: a resident's own record, a doctor's scope, the bureau's figures."""
    context = enter(request, t("首页"))
    if context is None:
        return to_login()
    with ui.column().classes("w-full gap-3").props(f"data-testid=home-{context.role}"):
        HOMES.get(context.role, home_staff.staff_home)(context)
    return None


def resident_home(context: PageContext) -> None:
    """A resident's card, the family members he is guardian of, his visits and conditions."""
    me = context.actor.resident_id
    if me is None:
        ui.label(t("该账号未关联居民档案")).classes("text-grey-7")
        return
    with context.work(inline=True) as work:
        view = registry.get_resident(work.session, work.actor, me)
        wards = registry.wards_of(work.session, work.actor)
        conditions = clinical.conditions_of(work.session, work.actor, me)
        total, visits = clinical.encounters_of(
            work.session, work.actor, me, limit=RECENT_ENCOUNTERS
        )
        resident_card(context, view)
        _bookings_summary(work, [me, *(ward.id for ward in wards)])
        with section(t("我监护的家庭成员"), "family_restroom"):
            people_list(wards, empty=t("无"), testid="wards", href=record_link)
        with section(t("慢病记录"), "monitor_heart"):
            conditions_list(conditions)
        with section(t("最近就诊"), "history"):
            encounters_list(work.session, total, visits)


def _bookings_summary(work: Work, people: list[uuid.UUID]) -> None:
    """The family's upcoming bookings and latest notices, and the way to book."""
    upcoming = [
        v
        for person in people
        for v in booking.bookings_of(work.session, work.actor, person, limit=HOME_BOOKINGS)
        if v.status in UPCOMING
    ]
    notices = [
        n
        for person in people
        for n in booking.notices_of(work.session, work.actor, person, limit=HOME_NOTICES)
    ]
    with section(t("我的预约"), "event_note").props("data-testid=home-bookings"):
        for notice in notices[:HOME_NOTICES]:
            ui.label(pick(notice.zh, notice.en)).classes("text-negative").props(
                "data-testid=home-notice"
            )
        if not upcoming:
            ui.label(t("暂无预约")).classes("text-grey-7")
        for v in upcoming[:HOME_BOOKINGS]:
            ui.label(
                f"{v.resident_name} · {day_label(v.day)} {period_name(v.period)} "
                f"{local(v.starts_at):%H:%M} · {v.schedule_name} · "
                + t("第 {number} 号").format(number=v.number)
            ).props("data-testid=home-booking")
        ui.button(
            t("预约挂号"), icon="event_available", on_click=lambda: ui.navigate.to("/booking")
        ).props("unelevated data-testid=home-book").style("min-height: 44px")


HOMES: dict[str, Callable[[PageContext], None]] = {
    "resident": resident_home,
    "bureau_analyst": home_staff.bureau_home,
    "bureau_admin": home_staff.bureau_home,
    "window_clerk": home_staff.clerk_home,
    "system_admin": home_staff.admin_home,
}
