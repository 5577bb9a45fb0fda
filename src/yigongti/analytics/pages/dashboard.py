"""The bureau's dashboard (``/dashboard``, 数据驾驶舱): headline tiles with targets and traffic
lights, the trend of one indicator, the institutions' ranking, two-way referral between the
tiers, and the open alerts; filtered by community, institution and period.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti import analytics
from yigongti.analytics.pages.common import (
    STATUS_COLOURS,
    TOUCH,
    empty_note,
    figure,
    growth,
    href,
    lake_of,
    name_of,
    period_kinds,
    status_dot,
    status_label,
    target_text,
    tier_name,
)
from yigongti.security import roles
from yigongti.web.i18n import t
from yigongti.web.ui.context import PageContext
from yigongti.web.ui.record import section
from yigongti.web.ui.shell import enter, to_login

RANKED_ON_DASHBOARD = 15  # bars in the ranking chart; the indicator page lists every unit
ALERTS_ON_DASHBOARD = 8


def tile_card(tile: analytics.Tile, link: str) -> None:
    """One headline tile: name, value, traffic light, target, period and growth; a link."""
    with (
        ui.card()
        .classes("w-full cursor-pointer gap-1 q-pa-sm")
        .props(f"flat bordered data-testid=tile data-indicator={tile.indicator}")
        .on("click", lambda: ui.navigate.to(link))
    ):
        ui.label(name_of(tile.zh, tile.en)).classes("text-caption text-grey-8 ellipsis-2-lines")
        with ui.row().classes("items-center no-wrap gap-2"):
            status_dot(tile.status).props("data-testid=tile-status")
            ui.label(figure(tile.value, tile.unit)).classes("text-h6 text-weight-medium").props(
                "data-testid=tile-value"
            )
        judged = [target_text(tile.direction, tile.target, tile.unit)]
        if tile.status is not None:
            judged.append(status_label(tile.status))
        ui.label(" · ".join(judged)).classes("text-caption")
        details = [tile.period or t("暂无数据"), growth(tile.yoy)]
        ui.label(" · ".join(d for d in details if d)).classes("text-caption text-grey-7")


class Dashboard:
    """The dashboard of one page: its filters and the sections they redraw."""

    def __init__(self, context: PageContext) -> None:
        self.context = context
        self.lake = lake_of(context)
        self.units: list[analytics.Unit] = []
        self.tiles: list[analytics.Tile] = []
        self.quiet = False

    # building

    def build(self) -> None:
        """Draw the page; before the first compute, the service's message and the way on."""
        ready = False
        with self.context.work(inline=True) as work:
            self.units = analytics.dashboard_units(work.session, work.actor, self.lake)
            ready = True
        if not ready:
            if self.context.actor.can(roles.LAKE_EXPORT):
                ui.button(
                    t("前往数据中心"),
                    icon="storage",
                    on_click=lambda: ui.navigate.to("/data-center"),
                ).props("unelevated data-testid=to-data-center").style(TOUCH)
            return
        self._filters()
        self.tiles_box = ui.grid().classes("w-full grid-cols-2 sm:grid-cols-3 md:grid-cols-5 gap-2")
        self.tiles_box.props("data-testid=tiles")
        with section(t("趋势"), "show_chart").props("data-testid=trend"):
            self.trend_indicator = ui.select({}, label=t("指标")).classes("w-full")
            self.trend_indicator.props("data-testid=trend-indicator")
            # A choice redraws the charts; a redraw of the tiles resets the choice quietly, as
            # the charts are drawn after the tiles anyway.
            self.trend_indicator.on_value_change(lambda: self.quiet or self.draw_charts())
            self.trend_box = ui.column().classes("w-full")
        with section(t("机构排名"), "leaderboard").props("data-testid=ranking"):
            self.ranking_box = ui.column().classes("w-full")
        with section(t("双向转诊"), "swap_vert").props("data-testid=referrals"):
            self.flows_box = ui.column().classes("w-full")
        if self.context.actor.can(roles.ALERT_READ):
            with section(t("待处理预警"), "notification_important").props("data-testid=alerts"):
                self.alerts_box = ui.column().classes("w-full gap-1")
        self.draw()

    def _filters(self) -> None:
        communities = {u.unit_id: u.name or u.unit_id for u in self.units if u.grain == "community"}
        with (
            ui.card().classes("w-full q-pa-sm").props("flat bordered data-testid=filters"),
            ui.grid().classes("w-full grid-cols-2 sm:grid-cols-4 gap-x-3 gap-y-0"),
        ):
            self.community = ui.select(
                {"": t("全县"), **communities}, label=t("医共体"), value=""
            ).props("data-testid=filter-community")
            self.institution = ui.select(
                {}, label=t("机构"), with_input=True, clearable=True
            ).props("data-testid=filter-institution")
            self.kind = ui.select(period_kinds(), label=t("期间类型"), value="month").props(
                "data-testid=filter-kind"
            )
            self.period = ui.select({}, label=t("期间")).props("data-testid=filter-period")
        self._institution_options()
        self._period_options()
        self.community.on_value_change(lambda: (self._institution_options(), self.draw()))
        self.institution.on_value_change(lambda: self.draw_charts())
        self.kind.on_value_change(lambda: (self._period_options(), self.draw()))
        self.period.on_value_change(lambda: self.draw())

    def _institution_options(self) -> None:
        community = self.community.value or None
        options = {
            u.unit_id: u.name or u.unit_id
            for u in self.units
            if u.grain == "institution" and (community is None or u.community_id == community)
        }
        self.institution.set_options(options, value=None)

    def _period_options(self) -> None:
        periods: list[str] = []
        with self.context.work() as work:
            periods = analytics.dashboard_periods(
                work.session, work.actor, self.lake, self.kind.value
            )
        self.period.set_options({"": t("最新"), **{p: p for p in periods}}, value="")

    # drawing

    def draw(self) -> None:
        """Redraw every section for the filters as they are now."""
        self.draw_tiles()
        self.draw_charts()
        self.draw_alerts()

    def draw_tiles(self) -> None:
        """The headline tiles of the chosen community (or the county) and period."""
        self.tiles_box.clear()
        self.tiles = []
        with self.context.work() as work:
            self.tiles = analytics.headline(
                work.session,
                work.actor,
                self.lake,
                self.period.value or None,
                self.community.value or None,
                period_kind=self.kind.value,
            )
        with self.tiles_box:
            for tile in self.tiles:
                link = href(
                    f"/dashboard/indicator/{tile.indicator}",
                    period=tile.period,
                    community_id=self.community.value,
                )
                tile_card(tile, link)
        options = {tile.indicator: name_of(tile.zh, tile.en) for tile in self.tiles}
        keep = self.trend_indicator.value if self.trend_indicator.value in options else None
        self.quiet = True
        try:
            self.trend_indicator.set_options(options, value=keep or next(iter(options), None))
        finally:
            self.quiet = False

    def _chosen_tile(self) -> analytics.Tile | None:
        return next((x for x in self.tiles if x.indicator == self.trend_indicator.value), None)

    def draw_charts(self) -> None:
        """The trend, ranking and referral charts of the chosen indicator and unit."""
        tile = self._chosen_tile()
        for box in (self.trend_box, self.ranking_box, self.flows_box):
            box.clear()
        if tile is None:
            return
        self._trend(tile)
        self._ranking(tile)
        self._flows(tile.period or self.period.value or None)

    def _trend_unit(self, tile: analytics.Tile) -> tuple[str, str, str]:
        """(grain, unit id, name) the trend is drawn for: the institution, if one is chosen and
        the indicator is computed per institution, else the community or county of the tiles."""
        institution = self.institution.value
        if institution and "institution" in tile.grains:
            unit = next(u for u in self.units if u.unit_id == institution)
            return "institution", institution, unit.name or institution
        name = self.community.options.get(tile.unit_id, t("全县"))
        return tile.grain, tile.unit_id, name if tile.grain == "community" else t("全县")

    def _trend(self, tile: analytics.Tile) -> None:
        grain, unit_id, name = self._trend_unit(tile)
        trend = None
        with self.context.work() as work:
            trend = analytics.trend(
                work.session, work.actor, self.lake, tile.indicator, grain, unit_id, self.kind.value
            )
        with self.trend_box:
            title = t("{unit}的{indicator}").format(unit=name, indicator=name_of(tile.zh, tile.en))
            ui.label(title).classes("text-subtitle2")
            if trend is None or not trend.points:
                empty_note(t("暂无数据"))
                return
            trend_chart(tile, trend)

    def _ranking(self, tile: analytics.Tile) -> None:
        grain = "institution" if "institution" in tile.grains else "community"
        if grain not in tile.grains or tile.period is None:
            with self.ranking_box:
                empty_note(t("该指标不按机构排名"))
            return
        ranking = None
        with self.context.work() as work:
            ranking = analytics.ranking(
                work.session,
                work.actor,
                self.lake,
                tile.indicator,
                tile.period,
                self.community.value or None,
                grain=grain,
            )
        with self.ranking_box:
            if ranking is None:
                return
            shown = [row for row in ranking.rows if row.rank is not None][:RANKED_ON_DASHBOARD]
            if not shown:
                empty_note(t("暂无数据"))
                return
            ui.label(
                t("{period}，共 {n} 个单位，由好到差前 {shown} 名").format(
                    period=ranking.period, n=len(ranking.rows), shown=len(shown)
                )
            ).classes("text-caption text-grey-8")
            ranking_chart(tile, shown)
            link = href(
                f"/dashboard/indicator/{tile.indicator}",
                period=ranking.period,
                community_id=self.community.value,
            )
            ui.button(t("全部排名与明细"), on_click=lambda: ui.navigate.to(link)).props(
                "flat data-testid=ranking-all"
            ).style(TOUCH)

    def _flows(self, period: str | None) -> None:
        if period is None:
            return
        flows = None
        with self.context.work() as work:
            flows = analytics.referral_flows(
                work.session, work.actor, self.lake, period, self.community.value or None
            )
        with self.flows_box:
            if flows is None:
                return
            ui.label(period).classes("text-caption text-grey-8")
            if not flows.links:
                empty_note(t("本期无转诊记录"))
                return
            flows_chart(flows)
            if flows.unattributed:
                ui.label(t("另有 {n} 人次转诊未注明转出机构").format(n=flows.unattributed)).classes(
                    "text-caption text-grey-7"
                )

    def draw_alerts(self) -> None:
        """The newest open alerts the user may see."""
        if not hasattr(self, "alerts_box"):
            return
        self.alerts_box.clear()
        found: tuple[int, list[analytics.AlertLine]] | None = None
        with self.context.work() as work:
            found = analytics.alerts_for(
                work.session, work.actor, self.lake, limit=ALERTS_ON_DASHBOARD
            )
        with self.alerts_box:
            if found is None:
                return
            total, lines = found
            alert_lines(lines, total)
            if total:
                ui.button(t("全部预警"), on_click=lambda: ui.navigate.to("/alerts")).props(
                    "flat data-testid=alerts-all"
                ).style(TOUCH)


def alert_lines(lines: list[analytics.AlertLine], total: int) -> None:
    """Alerts as short lines: red dot, indicator, unit, period, value against the threshold."""
    if not lines:
        empty_note(t("无待处理预警"), "no-alerts")
        return
    ui.label(t("共 {n} 条").format(n=total)).classes("text-caption text-grey-8")
    for line in lines:
        alert = line.alert
        with ui.row().classes("w-full items-center no-wrap gap-2").props("data-testid=alert-line"):
            status_dot("red" if alert.status == "open" else None)
            with ui.column().classes("gap-0 min-w-0"):
                where = line.unit_name or t("全县")
                ui.label(f"{name_of(line.indicator_zh, line.indicator_en)} · {where}").classes(
                    "ellipsis"
                )
                ui.label(
                    t("{period}：{value}，预警线 {threshold}").format(
                        period=alert.period,
                        value=figure(alert.value, line.unit),
                        threshold=figure(alert.threshold, line.unit),
                    )
                ).classes("text-caption text-grey-8")


def trend_chart(tile: analytics.Tile, trend: analytics.Trend) -> None:
    """The indicator's line, each point coloured by its traffic light, with the target."""
    name = name_of(tile.zh, tile.en)
    values = [
        {"value": None if p.value is None else round(p.value, 2),
         "itemStyle": {"color": STATUS_COLOURS.get(p.status)}}
        for p in trend.points
    ]  # fmt: skip
    series = [{"name": name, "type": "line", "data": values, "symbolSize": 8}]
    if any(p.target is not None for p in trend.points):
        series.append(
            {
                "name": t("目标"),
                "type": "line",
                "data": [p.target for p in trend.points],
                "symbol": "none",
                "lineStyle": {"type": "dashed", "color": "#757575"},
                "itemStyle": {"color": "#757575"},
            }
        )
    ui.echart(
        {
            "grid": {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "xAxis": {"type": "category", "data": [p.period for p in trend.points]},
            "yAxis": {"type": "value", "scale": True},
            "series": series,
        }
    ).classes("w-full h-64").props("data-testid=trend-chart")


def ranking_chart(tile: analytics.Tile, rows: list[analytics.Ranked]) -> None:
    """Horizontal bars, the best at the top, each coloured by its traffic light."""
    ui.echart(
        {
            "grid": {"left": 8, "right": 56, "top": 8, "bottom": 8, "containLabel": True},
            "tooltip": {"trigger": "item"},
            "xAxis": {"type": "value", "scale": False},
            "yAxis": {
                "type": "category",
                "inverse": True,
                "data": [row.unit.name or row.unit.unit_id for row in rows],
                "axisLabel": {"width": 110, "overflow": "truncate"},
            },
            "series": [
                {
                    "type": "bar",
                    "name": name_of(tile.zh, tile.en),
                    "data": [_bar(row) for row in rows],
                    "label": {"show": True, "position": "right"},
                }
            ],
        }
    ).classes("w-full").style(f"height: {28 * len(rows) + 40}px").props("data-testid=ranking-chart")


def _bar(row: analytics.Ranked) -> dict[str, object]:
    colour = STATUS_COLOURS.get(row.status)
    return {"value": round(row.value or 0, 2), "itemStyle": {"color": colour}}


def flows_chart(flows: analytics.Flows) -> None:
    """A Sankey from the referring tier to the receiving tier."""

    def label(node_id: str) -> str:
        side, tier = node_id.split(":", 1)
        return (t("转出：{tier}") if side == "from" else t("接收：{tier}")).format(
            tier=tier_name(tier)
        )

    merged: dict[tuple[str, str], int] = {}
    for link in flows.links:  # up and down between the same tiers draw as one band
        key = (link.source, link.target)
        merged[key] = merged.get(key, 0) + link.visits
    ui.echart(
        {
            "tooltip": {"trigger": "item"},
            "series": [
                {
                    "type": "sankey",
                    "left": 8,
                    "right": 96,
                    "top": 8,
                    "bottom": 8,
                    "nodeGap": 16,
                    "emphasis": {"focus": "adjacency"},
                    "data": [{"name": label(node.id)} for node in flows.nodes],
                    "links": [
                        {"source": label(s), "target": label(d), "value": n}
                        for (s, d), n in merged.items()
                    ],
                    "label": {"fontSize": 12},
                }
            ],
        }
    ).classes("w-full h-64").props("data-testid=flows-chart")


def dashboard_page(request: Request) -> RedirectResponse | None:
    """The bureau's dashboard of indicators with targets, trends, ranking, referral, alerts."""
    context = enter(request, t("数据驾驶舱"))
    if context is None:
        return to_login()
    Dashboard(context).build()
    return None
