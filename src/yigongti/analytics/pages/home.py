"""The data center's parts of the home pages: the bureau's headline tiles, an institution's open
alerts, and the ways to the data-center pages a role may use."""

from __future__ import annotations

from nicegui import ui

from yigongti import analytics
from yigongti.analytics.pages.common import TOUCH, href, lake_of
from yigongti.analytics.pages.dashboard import alert_lines, tile_card
from yigongti.security import roles
from yigongti.web.i18n import t
from yigongti.web.ui.context import PageContext, error_text
from yigongti.web.ui.record import section

HOME_ALERTS = 5


def dashboard_summary(context: PageContext) -> None:
    """The headline tiles of the county, each leading to its indicator, and the dashboard."""
    tiles: list[analytics.Tile] = []
    waiting: str | None = None
    try:
        with context.work(inline=True, passthrough=analytics.NotComputed) as work:
            tiles = analytics.headline(work.session, work.actor, lake_of(context))
    except analytics.NotComputed as exc:  # not an error: the data center has not run yet
        waiting = error_text(exc)
    with section(t("数据驾驶舱"), "dashboard").props("data-testid=home-dashboard"):
        if waiting is not None:
            ui.label(waiting).classes("text-grey-8").props("data-testid=not-computed")
        with ui.grid().classes("w-full grid-cols-2 sm:grid-cols-5 gap-2"):
            for tile in tiles:
                tile_card(tile, href(f"/dashboard/indicator/{tile.indicator}", period=tile.period))
        ui.button(
            t("打开数据驾驶舱"), icon="dashboard", on_click=lambda: ui.navigate.to("/dashboard")
        ).props("unelevated data-testid=to-dashboard").style(TOUCH)


def alerts_summary(context: PageContext) -> None:
    """The newest open alerts the user may see: his institution's, or all for the county."""
    if not context.actor.can(roles.ALERT_READ):
        return
    found: tuple[int, list[analytics.AlertLine]] | None = None
    with context.work(inline=True) as work:
        found = analytics.alerts_for(work.session, work.actor, lake_of(context), limit=HOME_ALERTS)
    if found is None:
        return
    county_wide = context.actor.role_def.scope in (roles.COUNTY, roles.WITH_REASON)
    title = t("指标预警") if county_wide else t("本机构指标预警")
    with section(title, "notification_important").props("data-testid=home-alerts"):
        total, lines = found
        alert_lines(lines, total)
        if total:
            ui.button(t("全部预警"), on_click=lambda: ui.navigate.to("/alerts")).props(
                "flat data-testid=home-alerts-all"
            ).style(TOUCH)


def data_center_links(context: PageContext) -> list[tuple[str, str, str, str]]:
    """(path, icon, title, caption) of the data-center pages the role may use."""
    actor = context.actor
    links = [
        (
            "/dashboard",
            "dashboard",
            t("数据驾驶舱"),
            t("指标、目标与排名"),
            actor.can(roles.AGGREGATE_READ),
        ),
        (
            "/indicators",
            "menu_book",
            t("指标目录"),
            t("指标口径、来源与目标"),
            actor.can(roles.AGGREGATE_READ) or actor.can(roles.INDICATOR_MANAGE),
        ),
        ("/alerts", "notification_important", t("指标预警"), t("超出预警线的指标"),
         actor.can(roles.ALERT_READ)),
        (
            "/data-center",
            "storage",
            t("数据中心"),
            t("上传文件、导出与计算"),
            actor.can(roles.LAKE_LOAD) or actor.can(roles.LAKE_EXPORT),
        ),
    ]  # fmt: skip
    return [link[:4] for link in links if link[4]]
