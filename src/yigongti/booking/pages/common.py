"""What the booking pages share: how names and times show, and the touch-sized button."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from nicegui import ui

from yigongti.booking.codes import PERIODS
from yigongti.kernel import local
from yigongti.registry.codes import TITLES
from yigongti.web.i18n import pick, t

TOUCH = "min-height: 44px"
SEARCH_DAYS = 6


# --- names and times as the pages show them -----------------------------------------------


def weekday_names() -> list[str]:
    """Monday to Sunday in the user's language (index 0 is Monday)."""
    return [t("周一"), t("周二"), t("周三"), t("周四"), t("周五"), t("周六"), t("周日")]


def period_name(code: str) -> str:
    """A clinic period (上午, 下午, 夜间门诊) in the user's language."""
    names = PERIODS.get(code)
    return pick(names[0], names[1]) if names else code


def title_name(code: str | None) -> str:
    """A professional title in the user's language, or nothing."""
    names = TITLES.get(code or "")
    return pick(names[1], names[2]) if names else ""


def weekdays_text(digits: str) -> str:
    """ISO weekday digits (``12345``) as the days they name."""
    if digits == "1234567":
        return t("每天")
    if digits == "12345":
        return t("周一至周五")
    names = weekday_names()
    return t("、").join(names[int(d) - 1] for d in digits)


def day_label(value: date) -> str:
    """A day with its weekday: ``2025-03-04 周二``."""
    return f"{value:%Y-%m-%d} {weekday_names()[value.weekday()]}"


def hm(moment: datetime) -> str:
    """A moment as China time of day."""
    return f"{local(moment):%H:%M}"


def parse_day(value: str | None) -> date | None:
    """A date input's value as a day; ``None`` when it is empty."""
    return date.fromisoformat(value) if value else None


def touch_button(label: str, icon: str, handler: Callable[[], None], testid: str) -> ui.button:
    """An unelevated button at least 44 px high, with a test id."""
    return (
        ui.button(label, icon=icon, on_click=handler)
        .props(f"unelevated data-testid={testid}")
        .style(TOUCH)
    )
