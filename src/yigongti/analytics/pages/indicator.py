"""One indicator (``/dashboard/indicator/{code}``): its caliber and source, its targets, and its
value per community and per institution in a period; a unit leads to the records behind it.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti import analytics
from yigongti.analytics.catalog.model import Measure
from yigongti.analytics.pages.common import (
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
    unit_label,
)
from yigongti.web.i18n import pick, t
from yigongti.web.ui.context import PageContext
from yigongti.web.ui.record import section
from yigongti.web.ui.shell import enter, to_login


def _formula(measures: list[Measure]) -> str:
    return " + ".join(name_of(m.zh, m.en) for m in measures) or "—"


def definition_card(facts: analytics.IndicatorFacts) -> None:
    """What the number means: caliber, source, the measures it divides, direction, targets."""
    indicator = facts.indicator
    with section(t("指标口径"), "menu_book").props("data-testid=caliber"):
        ui.label(pick(indicator.caliber_zh, indicator.caliber_en)).classes("text-body1")
        ui.label(
            t("来源：{source}（{version}）").format(
                source=indicator.source, version=indicator.source_version
            )
        ).classes("text-caption text-grey-8").props("data-testid=caliber-source")
        if indicator.growth_of:
            ui.label(t("同比增长率，基础指标：{code}").format(code=indicator.growth_of))
        with ui.column().classes("gap-0"):
            ui.label(t("分子：{text}").format(text=_formula(facts.numerator)))
            if facts.denominator:
                ui.label(t("分母：{text}").format(text=_formula(facts.denominator)))
        better = t("越高越好") if indicator.direction == "higher" else t("越低越好")
        ui.label(f"{t('单位')}：{unit_label(indicator.unit)} · {better}")
        for year, target in sorted(indicator.targets.items()):
            alert = (
                ""
                if target.alert is None
                else t("，预警线 {value}").format(value=figure(target.alert, indicator.unit))
            )
            line = target_text(indicator.direction, target.target, indicator.unit)
            ui.label(t("{year} 年：{target}{alert}").format(year=year, target=line, alert=alert))


class IndicatorPage:
    """The indicator's page: definition, period filter, values per community and institution."""

    def __init__(self, context: PageContext, code: str, period: str | None, community: str | None):
        self.context = context
        self.code = code
        self.lake = lake_of(context)
        self.period_arg = period
        self.community = community or None
        self.facts: analytics.IndicatorFacts | None = None
        self.units: dict[str, analytics.Unit] = {}

    def build(self) -> None:
        """Draw the page; an unknown indicator shows the service's message."""
        kind = "month"
        periods: list[str] = []
        with self.context.work(inline=True) as work:
            self.facts = analytics.indicator_facts(work.session, work.actor, self.code)
            if self.period_arg:
                kind = analytics.period_kind_of(self.period_arg)
            periods = analytics.dashboard_periods(work.session, work.actor, self.lake, kind)
            self.units = {
                u.unit_id: u for u in analytics.dashboard_units(work.session, work.actor, self.lake)
            }
        if self.facts is None:
            return
        indicator = self.facts.indicator
        ui.label(name_of(indicator.zh, indicator.en)).classes("text-h6").props(
            "data-testid=indicator-name"
        )
        definition_card(self.facts)
        chosen = (
            self.period_arg if self.period_arg in periods else (periods[0] if periods else None)
        )
        with ui.row().classes("w-full items-center gap-2"):
            self.kind = ui.select(period_kinds(), label=t("期间类型"), value=kind).classes("w-32")
            self.period = ui.select({p: p for p in periods}, label=t("期间"), value=chosen)
            self.period.classes("w-40").props("data-testid=indicator-period")
        self.kind.on_value_change(self._kind_changed)
        self.period.on_value_change(self.draw)
        self.values = ui.column().classes("w-full gap-3").props("data-testid=indicator-values")
        self.draw()

    def _kind_changed(self) -> None:
        periods: list[str] = []
        with self.context.work() as work:
            periods = analytics.dashboard_periods(
                work.session, work.actor, self.lake, self.kind.value
            )
        self.period.set_options({p: p for p in periods}, value=periods[0] if periods else None)

    def draw(self) -> None:
        """The values per community and per institution in the chosen period."""
        self.values.clear()
        period = self.period.value
        assert self.facts is not None
        grains = self.facts.indicator.grains
        with self.values:
            if not period:
                empty_note(t("暂无数据"))
                return
            self._overall(period)
            if "community" in grains and self.community is None:
                self._ranking(period, "community", t("各医共体"))
            if "institution" in grains:
                self._ranking(period, "institution", t("各机构"))
            if "institution" not in grains and "community" not in grains:
                empty_note(t("该指标只按全县计算"))

    def _overall(self, period: str) -> None:
        """The value of the whole county (or of the chosen community) in the period."""
        assert self.facts is not None
        indicator = self.facts.indicator
        unit = self.units.get(self.community or "") or next(
            u for u in self.units.values() if u.grain == "county"
        )
        if unit.grain not in indicator.grains:
            return
        trend = None
        with self.context.work() as work:
            trend = analytics.trend(
                work.session,
                work.actor,
                self.lake,
                self.code,
                unit.grain,
                unit.unit_id,
                analytics.period_kind_of(period),
            )
        point = next((p for p in trend.points if p.period == period), None) if trend else None
        with ui.card().classes("w-full q-pa-sm").props("flat bordered data-testid=overall"):
            ui.label(f"{unit.name or t('全县')} · {period}").classes("text-caption text-grey-8")
            with ui.row().classes("items-center no-wrap gap-2"):
                status_dot(point.status if point else None)
                ui.label(figure(point.value if point else None, indicator.unit)).classes("text-h6")
            target = point.target if point else None
            judged = [target_text(indicator.direction, target, indicator.unit)]
            if point and point.status:
                judged.append(status_label(point.status))
            ui.label(" · ".join(judged)).classes("text-caption")

    def _ranking(self, period: str, grain: str, title: str) -> None:
        ranking = None
        with self.context.work() as work:
            ranking = analytics.ranking(
                work.session,
                work.actor,
                self.lake,
                self.code,
                period,
                self.community if grain == "institution" else None,
                grain=grain,
            )
        if ranking is None:
            return
        with section(title, "leaderboard").props(f"data-testid=values-{grain}"):
            if not ranking.rows:
                empty_note(t("暂无数据"))
                return
            with ui.list().classes("w-full").props("separator dense"):
                for row in ranking.rows:
                    self._row(row, period)

    def _row(self, row: analytics.Ranked, period: str) -> None:
        assert self.facts is not None
        indicator = self.facts.indicator
        link = href(
            "/dashboard/records",
            indicator=self.code,
            grain=row.unit.grain,
            unit_id=row.unit.unit_id,
            period=period,
        )
        clickable = indicator.growth_of is None  # a growth has no rows of its own
        item = ui.item(on_click=(lambda: ui.navigate.to(link)) if clickable else None)
        item.props(
            f"{'clickable' if clickable else ''} data-testid=unit-row data-unit={row.unit.unit_id}"
        )
        with item:
            with ui.item_section().props("side"):
                ui.label(str(row.rank) if row.rank else "—").classes("text-grey-8")
            with ui.item_section():
                ui.item_label(row.unit.name or row.unit.unit_id).props("lines=2")
                caption = [tier_name(row.unit.tier), status_label(row.status), growth(row.yoy)]
                ui.item_label(" · ".join(c for c in caption if c)).props("caption")
            with ui.item_section().props("side"), ui.row().classes("items-center no-wrap gap-1"):
                status_dot(row.status)
                ui.label(figure(row.value, indicator.unit)).classes("text-weight-medium")


def indicator_page(
    request: Request, code: str, period: str | None = None, community_id: str | None = None
) -> RedirectResponse | None:
    """An indicator's caliber, targets and values per unit, leading to the records."""
    context = enter(request, t("指标详情"))
    if context is None:
        return to_login()
    IndicatorPage(context, code, period, community_id).build()
    return None
