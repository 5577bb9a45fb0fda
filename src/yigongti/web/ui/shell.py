"""The frame of every logged-in page: header, navigation drawer, language switch, logout."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti.db import unit_of_work
from yigongti.kernel import Unauthenticated
from yigongti.security import Actor, active_user, actor_for, roles
from yigongti.web.i18n import LANGUAGES, current_language, pick, set_language, t
from yigongti.web.ui.context import (
    PageContext,
    client_ip,
    forget_login,
    host_of,
    logged_in_user_id,
)

# Pages read best in one column of limited width, centred on wide screens.
CONTENT_CLASSES = "w-full max-w-screen-lg mx-auto"


@dataclass(frozen=True)
class NavItem:
    """An entry of the navigation drawer."""

    path: str
    icon: str
    label: str


def nav_items(actor: Actor) -> list[NavItem]:
    """What the actor's role may use, in drawer order (the services still check every call)."""
    items = [
        (NavItem("/", "home", t("首页")), True),
        (
            NavItem("/residents", "people", t("居民档案")),
            actor.can(roles.RESIDENT_READ) and actor.role_def.scope != roles.SELF,
        ),
        (
            NavItem("/booking", "event_available", t("预约挂号")),
            actor.can(roles.BOOKING_BOOK),
        ),
        (NavItem("/queue", "campaign", t("叫号台")), actor.can(roles.QUEUE_RUN)),
        (
            NavItem("/schedules", "calendar_month", t("排班管理")),
            actor.can(roles.SCHEDULE_MANAGE),
        ),
        (NavItem("/dashboard", "insights", t("数据驾驶舱")), actor.can(roles.AGGREGATE_READ)),
        (NavItem("/alerts", "notification_important", t("指标预警")), actor.can(roles.ALERT_READ)),
        (NavItem("/indicators", "functions", t("指标目录")), actor.can(roles.AGGREGATE_READ)),
        (
            NavItem("/data-center", "storage", t("数据中心")),
            actor.can(roles.LAKE_LOAD) or actor.can(roles.LAKE_EXPORT),
        ),
        (
            NavItem("/empi/reviews", "join_inner", t("患者主索引审核")),
            actor.can(roles.EMPI_REVIEW),
        ),
        (NavItem("/institutions", "account_tree", t("医疗机构")), True),
        (NavItem("/practitioners", "medical_services", t("医务人员")), True),
        (NavItem("/audit", "policy", t("审计日志")), actor.can(roles.AUDIT_READ)),
        (NavItem("/users", "manage_accounts", t("用户管理")), actor.can(roles.USER_MANAGE)),
    ]
    return [item for item, allowed in items if allowed]


def role_name(role: str) -> str:
    """A role's name in the user's language."""
    definition = roles.ROLES[role]
    return pick(definition.zh, definition.en)


def to_login() -> RedirectResponse:
    """The answer to a page request without a valid login."""
    return RedirectResponse("/login", status_code=303)


def enter(request: Request, title: str) -> PageContext | None:
    """Build the frame of a logged-in page; ``None`` if the browser has no valid login."""
    host = host_of(request)
    user_id = logged_in_user_id(host.state.settings)
    if user_id is None:
        return None
    with unit_of_work(host.state.engine) as session:
        try:
            user = active_user(session, user_id)
        except Unauthenticated:
            forget_login()
            return None
        context = PageContext(
            host=host,
            user_id=user.id,
            client_ip=client_ip(request),
            actor=actor_for(user, client_ip(request)),
            display_name=user.display_name,
        )
    ui.page_title(f"{title} · {t('医共体信息平台')}")
    _frame(context, title)
    return context


def _frame(context: PageContext, title: str) -> None:
    ui.colors(primary="#1565c0")
    with ui.header(elevated=True).classes("items-center no-wrap gap-1 px-2 py-1"):
        drawer_button = ui.button(icon="menu").props("flat round dense color=white")
        drawer_button.props(f'aria-label="{t("菜单")}"')
        with ui.column().classes("gap-0 min-w-0 grow"):
            ui.label(t("医共体信息平台")).classes("text-caption ellipsis gt-xs")
            ui.label(title).classes("text-subtitle1 ellipsis").props("data-testid=page-title")
        language_switch()
        with ui.button(icon="account_circle").props("flat round dense color=white") as account:
            account.props("data-testid=account-menu")
            with ui.menu():
                with ui.item().props("dense"), ui.item_section():
                    ui.item_label(context.display_name).props("data-testid=account-name")
                    ui.item_label(role_name(context.role)).props("caption")
                ui.separator()
                ui.menu_item(t("退出登录"), on_click=lambda: ui.navigate.to("/logout")).props(
                    "data-testid=logout"
                )
    with ui.left_drawer(bordered=True).classes("p-0") as drawer:
        # Below Quasar's "md" width the drawer folds away behind the menu button.
        drawer.props("width=220 breakpoint=1023")
        with ui.list().classes("w-full").props("data-testid=nav"):
            for item in nav_items(context.actor):
                with ui.item(on_click=lambda path=item.path: ui.navigate.to(path)).props(
                    f"clickable data-nav={item.path}"
                ):
                    with ui.item_section().props("avatar"):
                        ui.icon(item.icon)
                    ui.item_section(item.label)
    drawer_button.on_click(drawer.toggle)
    ui.context.client.content.classes(CONTENT_CLASSES)


def language_switch() -> None:
    """A button to the other language; the choice is kept per user and the page reloads."""
    other = "en" if current_language() == "zh" else "zh"

    def switch() -> None:
        set_language(other)
        ui.navigate.reload()

    ui.button(LANGUAGES[other], on_click=switch).props(
        "flat dense no-caps color=white data-testid=lang-switch"
    )
