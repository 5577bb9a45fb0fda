"""What the data-center pages share: how figures, units, periods and traffic lights show."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from nicegui import ui

from yigongti.registry.codes import TIERS
from yigongti.web.i18n import pick, t
from yigongti.web.ui.context import PageContext
from yigongti.web.ui.record import code_name

TOUCH = "min-height: 44px"
# The traffic light's colours: the same three everywhere, and a grey dot for "no target".
STATUS_COLOURS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", None: "#9e9e9e"}
# Each unit of the catalog (``catalog.model.UNITS``) but "%" and "‰" is its own msgid: listed
# here so that the English catalog holds every one.
UNIT_MSGIDS = (
    t("元"), t("万元"), t("元/百元"), t("人次"), t("人"), t("次"), t("天"), t("分钟"), t("张"),
)  # fmt: skip


def lake_of(context: PageContext) -> Path:
    """The lake of the server the page is served by."""
    return context.settings.lake_dir


def unit_label(unit: str) -> str:
    """An indicator's unit in the user's language (a unit is its own msgid)."""
    return t(unit)


def figure(value: float | None, unit: str) -> str:
    """A value with its unit: ``66.79%``, ``190.27 元``, ``1,204 人次``; a dash when empty."""
    if value is None:
        return "—"
    if unit in ("%", "‰"):
        return f"{value:,.2f}{unit}"
    digits = 0 if value == round(value) else 2  # counts show whole, averages with cents
    return f"{value:,.{digits}f} {unit_label(unit)}"


def growth(value: float | None) -> str:
    """A year-on-year growth in percent with its sign, or nothing."""
    return "" if value is None else t("同比 {value}").format(value=f"{value:+.1f}%")


def status_label(status: str | None) -> str:
    """What a traffic light means, in words (the dot alone is not enough for everyone)."""
    return {
        "green": t("达标"),
        "amber": t("未达标"),
        "red": t("预警"),
    }.get(status or "", t("无目标"))


def status_dot(status: str | None, size: int = 12) -> ui.element:
    """A round traffic-light dot with its meaning as the accessible name."""
    dot = ui.element("span").classes("inline-block rounded-full shrink-0")
    dot.style(f"width:{size}px;height:{size}px;background:{STATUS_COLOURS.get(status)}")
    dot.props(f'role=img aria-label="{status_label(status)}" data-status={status or "none"}')
    return dot


def target_text(direction: str, target: float | None, unit: str) -> str:
    """The target as a reader checks it: ``目标 ≥ 65.00%`` (higher is better) or ``≤``."""
    if target is None:
        return t("无目标")
    sign = "≥" if direction == "higher" else "≤"
    return t("目标 {sign} {value}").format(sign=sign, value=figure(target, unit))


def period_kinds() -> dict[str, str]:
    """The period kinds in the user's language."""
    return {"month": t("月度"), "quarter": t("季度"), "year": t("年度")}


def tier_name(tier: str | None) -> str:
    """A tier (county, township, village) in the user's language."""
    return code_name(TIERS, tier) if tier else ""


def name_of(zh: str, en: str) -> str:
    """A catalog entry's name in the user's language."""
    return pick(zh, en)


def href(path: str, **params: str | int | None) -> str:
    """``path`` with the given query parameters (empty ones left out)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def empty_note(text: str, testid: str = "empty") -> None:
    """A grey line saying there is nothing to show."""
    ui.label(text).classes("text-grey-7").props(f"data-testid={testid}")
