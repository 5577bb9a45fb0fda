"""The indicator catalog (``/indicators``): every indicator with its caliber, source, formula and
targets, and every measure; for the bureau's administrators (indicator:manage) a form to add
or change an indicator or a measure, a check that lists its problems before saving, and the
versions saved so far.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti import analytics
from yigongti.analytics.catalog.check import Problem, measures_of
from yigongti.analytics.catalog.model import (
    AGGREGATES,
    DIRECTIONS,
    UNITS,
    Catalog,
    Indicator,
    Measure,
)
from yigongti.analytics.lake.schema import DATASETS
from yigongti.analytics.pages.common import (
    TOUCH,
    name_of,
    target_text,
    unit_label,
)
from yigongti.analytics.pages.indicator import definition_card
from yigongti.analytics.results import GRAINS
from yigongti.kernel import Invalid, local, now
from yigongti.security import roles
from yigongti.web.i18n import pick, t
from yigongti.web.ui.context import PageContext
from yigongti.web.ui.shell import enter, to_login

TARGET_ROWS = 3  # years of targets the form edits at once


def grain_names() -> dict[str, str]:
    """The grains in the user's language."""
    return {"institution": t("机构"), "community": t("医共体"), "county": t("全县")}


def problem_lines(box: ui.column, problems: list[Problem]) -> None:
    """The problems of a form, or that there are none."""
    box.clear()
    with box:
        if not problems:
            ui.label(t("检查通过，可以保存")).classes("text-positive").props("data-testid=check-ok")
        for problem in problems:
            ui.label(f"{problem.field}：{pick(problem.zh, problem.en)}").classes(
                "text-negative"
            ).props("data-testid=check-problem")


class EntryForm:
    """A dialog that edits one catalog entry's stored form, checks it and saves it."""

    def __init__(self, page: CatalogPage, kind: str) -> None:
        self.page = page
        self.kind = kind  # indicator | measure
        self.fields: dict[str, Any] = {}
        with ui.dialog() as self.dialog, ui.card().classes("w-full").style("max-width: 640px"):
            self.card = ui.column().classes("w-full gap-1").props(f"data-testid={kind}-form")

    def open(self, entry: Indicator | Measure | None) -> None:
        """Fill the form with ``entry`` (a change) or leave it empty (a new entry)."""
        self.card.clear()
        data = entry.as_dict() if entry is not None else {}
        with self.card:
            title = t("修改指标") if self.kind == "indicator" else t("修改指标项")
            if entry is None:
                title = t("新增指标") if self.kind == "indicator" else t("新增指标项")
            ui.label(title).classes("text-h6")
            if self.kind == "indicator":
                self._indicator_fields(data)
            else:
                self._measure_fields(data)
            self.note = ui.input(t("修改说明（选填）")).classes("w-full").props("maxlength=200")
            self.problems = ui.column().classes("w-full gap-0").props("data-testid=form-problems")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(t("返回"), on_click=self.dialog.close).props("flat").style(TOUCH)
                ui.button(t("检查"), icon="rule", on_click=self.check).props(
                    "outline data-testid=form-check"
                ).style(TOUCH)
                ui.button(t("保存"), icon="save", on_click=self.save).props(
                    "unelevated data-testid=form-save"
                ).style(TOUCH)
        self.dialog.open()

    def _text(self, name: str, label: str, data: dict[str, Any], **props: str) -> None:
        field = ui.input(label, value=str(data.get(name) or "")).classes("w-full")
        field.props(f"data-testid=form-{name} " + " ".join(f"{k}={v}" for k, v in props.items()))
        self.fields[name] = field

    def _indicator_fields(self, data: dict[str, Any]) -> None:
        catalog = self.page.catalog
        self.fields = {}
        self._text("code", t("代码（英文小写与下划线）"), data, maxlength="40")
        if data:
            self.fields["code"].props("readonly")
        self._text("zh", t("中文名称"), data, maxlength="60")
        self._text("en", t("英文名称"), data, maxlength="80")
        self._text("caliber_zh", t("口径（中文）"), data, maxlength="500")
        self._text("caliber_en", t("口径（英文）"), data, maxlength="500")
        self._text("source", t("来源文件"), data, maxlength="200")
        self._text("source_version", t("来源版本"), data, maxlength="20")
        self._text("numerator", t("分子（指标项代码的四则运算）"), data, maxlength="300")
        self._text("denominator", t("分母（可空）"), data, maxlength="300")
        with ui.grid().classes("w-full grid-cols-2 gap-x-3 gap-y-0"):
            self.fields["unit"] = ui.select(
                {u: unit_label(u) for u in UNITS}, label=t("单位"), value=data.get("unit") or "%"
            )
            self.fields["direction"] = ui.select(
                {"higher": t("越高越好"), "lower": t("越低越好")},
                label=t("方向"),
                value=data.get("direction") or DIRECTIONS[0],
            )
            self.fields["scale"] = ui.number(t("倍数"), value=data.get("scale", 1.0))
            self.fields["growth_of"] = ui.select(
                {"": t("无"), **{c: name_of(i.zh, i.en) for c, i in catalog.indicators.items()}},
                label=t("同比增长率的基础指标"),
                value=data.get("growth_of") or "",
            )
        self.fields["grains"] = ui.select(
            grain_names(), label=t("统计层级"), multiple=True,
            value=list(data.get("grains") or GRAINS),
        ).classes("w-full")  # fmt: skip
        ui.label(t("年度目标与预警线")).classes("text-subtitle2 q-mt-sm")
        targets = sorted((data.get("targets") or {}).items())
        self.targets = []
        for n in range(TARGET_ROWS):
            year, target = targets[n] if n < len(targets) else ("", {})
            with ui.row().classes("w-full no-wrap gap-2"):
                self.targets.append(
                    (
                        ui.input(t("年份"), value=year).classes("w-20").props("maxlength=4"),
                        ui.number(t("目标"), value=target.get("target")).classes("grow"),
                        ui.number(t("预警线"), value=target.get("alert")).classes("grow"),
                    )
                )

    def _measure_fields(self, data: dict[str, Any]) -> None:
        self.fields = {}
        self._text("code", t("代码（英文小写与下划线）"), data, maxlength="40")
        if data:
            self.fields["code"].props("readonly")
        self._text("zh", t("中文名称"), data, maxlength="60")
        self._text("en", t("英文名称"), data, maxlength="80")
        datasets = {d.name: pick(d.zh, d.en) for d in DATASETS.values() if d.name != "institutions"}
        with ui.grid().classes("w-full grid-cols-2 gap-x-3 gap-y-0"):
            self.fields["dataset"] = ui.select(
                datasets, label=t("数据集"), value=data.get("dataset") or next(iter(datasets))
            )
            self.fields["aggregate"] = ui.select(
                {"sum": t("求和"), "count": t("计数")},
                label=t("汇总方式"),
                value=data.get("aggregate") or AGGREGATES[0],
            )
        self._text("column", t("求和的列（计数时留空）"), data, maxlength="60")
        self._text("where", t("条件（SQL，可空）"), data, maxlength="500")
        stock = ui.switch(t("存量（季度、年度取期末月）"), value=bool(data.get("stock")))
        self.fields["stock"] = stock

    def form(self) -> dict[str, Any]:
        """The form's values in the catalog's stored form."""
        values = {name: field.value for name, field in self.fields.items()}
        if self.kind == "indicator":
            values["targets"] = {
                str(year.value).strip(): {"target": target.value, "alert": alert.value}
                for year, target, alert in self.targets
                if str(year.value or "").strip()
            }
            values["growth_of"] = values.get("growth_of") or None
        return {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}

    def problems_of(self, data: dict[str, Any]) -> list[Problem] | None:
        """What the catalog's checks find wrong with the form (None if the check failed)."""
        check = (
            analytics.check_indicator_definition
            if self.kind == "indicator"
            else analytics.check_measure_definition
        )
        problems = None
        with self.page.context.work() as work:
            problems = check(work.session, work.actor, data)
        return problems

    def check(self) -> None:
        """Show the problems of the form (the same checks the save runs)."""
        problems = self.problems_of(self.form())
        if problems is not None:
            problem_lines(self.problems, problems)

    def save(self) -> None:
        """Save the form as a new version; its problems are shown if it has any."""
        data = self.form()
        save: Callable[..., Any] = (
            analytics.save_indicator if self.kind == "indicator" else analytics.save_measure
        )
        saved = False
        try:
            with self.page.context.work(passthrough=Invalid) as work:
                save(work.session, work.actor, data, note=self.note.value or "")
                saved = True
        except Invalid as exc:  # the save's own check: its problems, field by field
            problems = [Problem(f.field, f.zh, f.en) for f in exc.fields]
            problem_lines(self.problems, problems or [Problem("", exc.zh, exc.en)])
            return
        if saved:
            ui.notify(t("已保存新版本；重新计算后生效"), type="positive")
            self.dialog.close()
            self.page.draw()


class CatalogPage:
    """The catalog page: indicators and measures, each with its versions; the forms."""

    def __init__(self, context: PageContext) -> None:
        self.context = context
        self.catalog: Catalog = Catalog({}, {})
        self.manager = context.actor.can(roles.INDICATOR_MANAGE)

    def build(self) -> None:
        """Draw the page."""
        with ui.tabs().classes("w-full text-primary").props("no-caps") as tabs:
            indicators = ui.tab("indicators", t("指标"), icon="insights")
            measures = ui.tab("measures", t("指标项"), icon="functions")
        with ui.tab_panels(tabs, value=indicators).classes("w-full bg-transparent"):
            with ui.tab_panel(indicators).classes("q-pa-none gap-2"):
                self.indicators_box = (
                    ui.column().classes("w-full gap-2").props("data-testid=catalog-indicators")
                )
            with ui.tab_panel(measures).classes("q-pa-none gap-2"):
                self.measures_box = (
                    ui.column().classes("w-full gap-2").props("data-testid=catalog-measures")
                )
        if self.manager:
            self.indicator_form = EntryForm(self, "indicator")
            self.measure_form = EntryForm(self, "measure")
        self.draw(inline=True)

    def draw(self, inline: bool = False) -> None:
        """Redraw both lists from the catalog in force."""
        found = None
        with self.context.work(inline=inline) as work:
            found = analytics.catalog_of(work.session, work.actor)
        if found is None:
            return
        self.catalog = found
        self.indicators_box.clear()
        self.measures_box.clear()
        with self.indicators_box:
            if self.manager:
                ui.button(
                    t("新增指标"), icon="add", on_click=lambda: self.indicator_form.open(None)
                ).props("unelevated data-testid=indicator-new").style(TOUCH)
            for indicator in found.indicators.values():
                self._indicator(indicator)
        with self.measures_box:
            if self.manager:
                ui.button(
                    t("新增指标项"), icon="add", on_click=lambda: self.measure_form.open(None)
                ).props("unelevated data-testid=measure-new").style(TOUCH)
            for measure in found.measures.values():
                self._measure(measure)

    def _indicator(self, indicator: Indicator) -> None:
        better = t("越高越好") if indicator.direction == "higher" else t("越低越好")
        summary = [unit_label(indicator.unit), better]
        target = indicator.target_for(f"{local(now()):%Y}")
        if target is not None:
            summary.append(target_text(indicator.direction, target.target, indicator.unit))
        item = ui.expansion(name_of(indicator.zh, indicator.en), caption=" · ".join(summary))
        item.classes("w-full").props(
            f"dense data-testid=catalog-indicator data-code={indicator.code}"
        )
        with item:
            ui.label(f"{indicator.code} · v{indicator.version}").classes("text-caption text-grey-7")
            definition_card(self._facts(indicator))
            if self.manager:
                ui.button(
                    t("修改"), icon="edit", on_click=lambda: self.indicator_form.open(indicator)
                ).props("flat data-testid=indicator-edit").style(TOUCH)
            history = ui.column().classes("w-full gap-0").props("data-testid=versions")
        item.on_value_change(
            lambda e: e.value and self._versions(history, "indicator", indicator.code)
        )

    def _facts(self, indicator: Indicator) -> analytics.IndicatorFacts:
        def named(formula: str | None) -> list[Measure]:
            known = self.catalog.measures
            return [known[m] for m in measures_of(formula) if m in known]

        return analytics.IndicatorFacts(
            indicator, named(indicator.numerator), named(indicator.denominator)
        )

    def _measure(self, measure: Measure) -> None:
        dataset = DATASETS.get(measure.dataset)
        how = t("计数")
        if measure.aggregate == "sum":
            how = t("求和 {column}").format(column=measure.column)
        caption = f"{pick(dataset.zh, dataset.en) if dataset else measure.dataset} · {how}"
        item = ui.expansion(name_of(measure.zh, measure.en), caption=caption).classes("w-full")
        item.props(f"dense data-testid=catalog-measure data-code={measure.code}")
        with item:
            ui.label(f"{measure.code} · v{measure.version}").classes("text-caption text-grey-7")
            ui.label(t("条件：{where}").format(where=measure.where or t("无")))
            if measure.stock:
                ui.label(t("存量（季度、年度取期末月）"))
            if self.manager:
                ui.button(
                    t("修改"), icon="edit", on_click=lambda: self.measure_form.open(measure)
                ).props("flat data-testid=measure-edit").style(TOUCH)
            history = ui.column().classes("w-full gap-0").props("data-testid=versions")
        item.on_value_change(lambda e: e.value and self._versions(history, "measure", measure.code))

    def _versions(self, box: ui.column, kind: str, code: str) -> None:
        box.clear()
        versions = None
        with box, self.context.work() as work:
            versions = analytics.indicator_history(work.session, work.actor, code, kind=kind)
        if versions is None:
            return
        with box:
            ui.label(t("版本记录")).classes("text-subtitle2")
            for version in versions:
                when = (
                    t("内置")
                    if version.saved_at is None
                    else f"{local(version.saved_at):%Y-%m-%d %H:%M}"
                )
                who = t("内置") if version.saved_at is None else version.saved_by
                ui.label(
                    t("v{version} · {who} · {time} {note}").format(
                        version=version.version, who=who, time=when, note=version.note or ""
                    )
                ).classes("text-caption").props("data-testid=version")


def catalog_page(request: Request) -> RedirectResponse | None:
    """The indicator catalog, and for indicator managers its forms and checks."""
    context = enter(request, t("指标目录"))
    if context is None:
        return to_login()
    CatalogPage(context).build()
    return None
