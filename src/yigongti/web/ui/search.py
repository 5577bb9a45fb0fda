"""The resident search box: name, pinyin initials, ID number or phone, within the actor's scope.

Bureau roles read personal records only with a stated reason; the box asks them for one and
passes it on to the record page. The service decides whether a reason is needed and enough.
"""

from __future__ import annotations

from urllib.parse import urlencode

from nicegui import ui

from yigongti import registry
from yigongti.security import roles
from yigongti.web.i18n import t
from yigongti.web.ui.context import PageContext
from yigongti.web.ui.record import people_list

PAGE_SIZE = 20


def asks_reason(context: PageContext) -> bool:
    """Whether the user's role reads records with a stated reason (shown as a field)."""
    return context.actor.role_def.scope == roles.WITH_REASON


def record_href(person_id: object, reason: str | None) -> str:
    """The record page of a resident, carrying the reason a bureau user gave."""
    query = f"?{urlencode({'reason': reason})}" if reason else ""
    return f"/residents/{person_id}{query}"


def reason_input(value: str = "") -> ui.input:
    """The field for the reason of a bureau user's read (recorded in the audit log)."""
    field = ui.input(t("查询事由（将记入审计日志）"), value=value).classes("w-full")
    return field.props("data-testid=search-reason maxlength=200")


def resident_search(context: PageContext, *, initial: str = "", reason: str = "") -> None:
    """A search form and its results; each result links to the resident's record page."""
    with ui.column().classes("w-full gap-0").props("data-testid=resident-search"):
        with ui.row().classes("w-full items-center no-wrap gap-2"):
            query = ui.input(t("姓名、拼音首字母、身份证号或手机号"), value=initial)
            query.classes("grow").props("clearable data-testid=search-query maxlength=40")
            button = ui.button(icon="search").props("round unelevated data-testid=search-submit")
            button.props(f'aria-label="{t("查询")}"')
        why = reason_input(reason) if asks_reason(context) else None
    results = ui.column().classes("w-full").props("data-testid=search-results")

    def search() -> None:
        results.clear()
        stated = why.value.strip() if why is not None else None
        with context.work() as work:
            total, people = registry.search_residents(
                work.session, work.actor, query.value or "", reason=stated, limit=PAGE_SIZE
            )
            with results:
                ui.label(t("共找到 {total} 人").format(total=total)).classes("text-grey-8").props(
                    "data-testid=search-total"
                )
                people_list(
                    people,
                    empty=t("未找到符合条件的居民"),
                    testid="search-hits",
                    href=lambda person: record_href(person.id, stated),
                )
                if total > len(people):
                    ui.label(t("仅显示前 {n} 人，请缩小查询范围").format(n=len(people))).classes(
                        "text-caption text-grey-7"
                    )

    button.on_click(search)
    query.on("keydown.enter", search)
    if why is not None:
        why.on("keydown.enter", search)
    if initial:
        search()
