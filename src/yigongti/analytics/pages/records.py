"""The records behind a number (``/dashboard/records``): the lake rows an indicator's numerator
or denominator was counted from at one unit in one period, page by page.

The rows name no person (a pseudonymous ``resident_key``); each page read is audited by the
service.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti import analytics
from yigongti.analytics.lake.schema import DATASETS
from yigongti.analytics.pages.common import TOUCH, href, lake_of, name_of
from yigongti.kernel import local
from yigongti.web.i18n import pick, t
from yigongti.web.ui.context import PageContext
from yigongti.web.ui.record import yuan
from yigongti.web.ui.shell import enter, to_login

PAGE_ROWS = 20


def cell(column: str, value: Any) -> str:
    """A lake value as the table shows it: fen as yuan, times in China time."""
    if value is None:
        return ""
    if column.endswith("_fen") and isinstance(value, int):
        return yuan(value)
    if isinstance(value, datetime):
        return f"{local(value):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, bool):
        return t("是") if value else t("否")
    return str(value)


def amount_text(part: analytics.MeasureRecords) -> str:
    """What the rows of a measure add up to: a count, a sum of fen as yuan, or a plain sum."""
    if part.aggregate == "count":
        return t("{n} 条").format(n=f"{part.total:,}")
    if part.column and part.column.endswith("_fen"):
        return yuan(round(part.amount))
    return f"{part.amount:,.0f}"


def records_table(part: analytics.MeasureRecords, hidden: tuple[str, ...] = ()) -> None:
    """One measure's rows as a table with the lake schema's column names, less ``hidden``."""
    dataset = DATASETS[part.dataset]
    shown = [c for c in part.columns if c not in hidden]
    columns = [
        {
            "name": c,
            "label": pick(dataset.column(c).zh, dataset.column(c).en),
            "field": c,
            "align": "left",
        }
        for c in shown
    ]
    rows = [{**{c: cell(c, row.get(c)) for c in shown}, "_n": n} for n, row in enumerate(part.rows)]
    table = ui.table(columns=columns, rows=rows, row_key="_n").classes("w-full")
    table.props(f'dense flat bordered no-data-label="{t("无记录")}" data-testid=records-table')


class RecordsView:
    """The records page: which side, the unit and period, and a pager."""

    def __init__(self, context: PageContext, query: dict[str, str]) -> None:
        self.context = context
        self.lake = lake_of(context)
        self.query = query
        self.side = query.get("side") or "numerator"
        offset = query.get("offset") or "0"
        self.offset = int(offset) if offset.isdigit() else 0  # a bad offset is the first page

    def build(self) -> None:
        """Draw the page for the query's indicator, unit, period and side."""
        q = self.query
        page = facts = None
        unit_name = None
        with self.context.work(inline=True) as work:
            facts = analytics.indicator_facts(work.session, work.actor, q.get("indicator", ""))
            units = analytics.dashboard_units(work.session, work.actor, self.lake)
            unit = next((u for u in units if u.unit_id == q.get("unit_id")), None)
            unit_name = (unit.name if unit else None) or t("全县")
            page = analytics.records_behind(
                work.session,
                work.actor,
                self.lake,
                q.get("indicator", ""),
                q.get("grain", ""),
                q.get("unit_id", ""),
                q.get("period", ""),
                side=self.side,
                limit=PAGE_ROWS,
                offset=self.offset,
            )
        if page is None or facts is None:
            return
        indicator = facts.indicator
        ui.label(name_of(indicator.zh, indicator.en)).classes("text-h6").props(
            "data-testid=records-indicator"
        )
        ui.label(f"{unit_name} · {page.period}").classes("text-subtitle1").props(
            "data-testid=records-unit"
        )
        self._sides(facts)
        with ui.column().classes("w-full gap-3").props("data-testid=records"):
            for part in page.measures:
                with ui.card().classes("w-full q-pa-sm").props("flat bordered"):
                    ui.label(
                        t("{measure}：合计 {amount}，共 {n} 条").format(
                            measure=name_of(part.zh, part.en),
                            amount=amount_text(part),
                            n=f"{part.total:,}",
                        )
                    ).classes("text-subtitle2").props("data-testid=records-total")
                    # One institution's rows all name it: its column would only push the rest
                    # off a phone's screen.
                    hidden = ("institution_id",) if page.grain == "institution" else ()
                    records_table(part, hidden)
        self._pager(page)
        note = t("明细只含假名化居民键，不含姓名、身份证号或电话；每次查看均记入审计日志")
        ui.label(note).classes("text-caption text-grey-7")

    def _link(self, **changes: str | int) -> str:
        params = {**self.query, **{k: str(v) for k, v in changes.items()}}
        return href("/dashboard/records", **params)

    def _sides(self, facts: analytics.IndicatorFacts) -> None:
        if not facts.denominator:
            return
        sides = {"numerator": t("分子"), "denominator": t("分母")}
        toggle = ui.toggle(sides, value=self.side).props("no-caps data-testid=records-side")
        toggle.on_value_change(lambda e: ui.navigate.to(self._link(side=e.value, offset=0)))

    def _pager(self, page: analytics.RecordsPage) -> None:
        total = max((m.total for m in page.measures), default=0)
        if total <= page.limit:
            return
        last = min(page.offset + page.limit, total)
        previous = max(page.offset - page.limit, 0)
        with ui.row().classes("w-full items-center justify-between").props("data-testid=pager"):
            back = (
                ui.button(
                    t("上一页"),
                    icon="chevron_left",
                    on_click=lambda: ui.navigate.to(self._link(offset=previous)),
                )
                .props("flat data-testid=page-previous")
                .style(TOUCH)
            )
            back.set_enabled(page.offset > 0)
            ui.label(
                t("第 {first}–{last} 条，共 {n} 条").format(
                    first=page.offset + 1, last=last, n=f"{total:,}"
                )
            ).classes("text-caption")
            on = (
                ui.button(
                    t("下一页"),
                    icon="chevron_right",
                    on_click=lambda: ui.navigate.to(self._link(offset=page.offset + page.limit)),
                )
                .props("flat data-testid=page-next")
                .style(TOUCH)
            )
            on.set_enabled(last < total)


def records_page(request: Request) -> RedirectResponse | None:
    """The lake rows behind one side of an indicator at a unit in a period."""
    context = enter(request, t("指标明细"))
    if context is None:
        return to_login()
    keys = ("indicator", "grain", "unit_id", "period", "side", "offset")
    query = {k: request.query_params[k] for k in keys if k in request.query_params}
    RecordsView(context, query).build()
    return None
