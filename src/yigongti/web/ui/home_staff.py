"""Home pages of the staff roles: doctors and readers, CDC, service window, bureau, IT admin."""

from __future__ import annotations

from nicegui import ui

from yigongti import clinical, registry
from yigongti.analytics.pages import home as data_center
from yigongti.registry.codes import INSTITUTION_KINDS, TIERS
from yigongti.security import roles
from yigongti.web.i18n import pick, t
from yigongti.web.ui.context import PageContext
from yigongti.web.ui.record import code_name, section
from yigongti.web.ui.resident_form import register_form
from yigongti.web.ui.search import resident_search


def _figure(label: str, value: int | str, testid: str) -> None:
    with ui.card().classes("items-center gap-0 p-3").props("flat bordered"):
        ui.label(f"{value:,}" if isinstance(value, int) else value).classes(
            "text-h5 text-primary"
        ).props(f"data-testid={testid}")
        ui.label(label).classes("text-caption text-grey-8 text-center")


def institution_summary(context: PageContext) -> None:
    """The user's institution and how many residents his scope holds."""
    with context.work(inline=True) as work:
        institution_id = context.actor.institution_id
        if institution_id is None:
            return
        institution = registry.get_institution(work.session, institution_id)
        community = registry.community_of(work.session, institution_id)
        in_scope = registry.count_residents(work.session, work.actor)
        kind = INSTITUTION_KINDS.get(institution.kind)
        with section(t("本机构"), "local_hospital"):
            ui.label(institution.name).classes("text-h6").props("data-testid=my-institution")
            details = [pick(kind[1], kind[2]) if kind else institution.kind]
            details.append(code_name(TIERS, institution.tier))
            if community is not None:
                details.append(community.name)
            ui.label(" · ".join(details)).classes("text-grey-8")
            with ui.row().classes("gap-2"):
                _figure(t("服务范围内居民"), in_scope, "residents-in-scope")


def _link_cards(links: list[tuple[str, str, str, str]], testid: str) -> None:
    """Cards leading to other pages: (path, icon, title, caption)."""
    with (
        ui.grid().classes("w-full grid-cols-1 sm:grid-cols-3 gap-3").props(f"data-testid={testid}")
    ):
        for path, icon, title, caption in links:
            with (
                ui.card()
                .classes("cursor-pointer")
                .on("click", lambda p=path: ui.navigate.to(p))
                .props(f"data-link={path}"),
                ui.row().classes("items-center no-wrap"),
            ):
                ui.icon(icon, color="primary", size="md")
                with ui.column().classes("gap-0"):
                    ui.label(title).classes("text-subtitle1")
                    ui.label(caption).classes("text-caption text-grey-7")


def booking_links(context: PageContext) -> None:
    """Ways to the booking desks the role works at: queue console, schedules, booking."""
    actor = context.actor
    links = [
        ("/queue", "campaign", t("叫号台"), t("签到、叫号和候诊队列"), roles.QUEUE_RUN),
        (
            "/schedules",
            "calendar_month",
            t("排班管理"),
            t("排班、放号和停诊"),
            roles.SCHEDULE_MANAGE,
        ),
        (
            "/booking",
            "event_available",
            t("预约挂号"),
            t("查找号源，为患者预约"),
            roles.BOOKING_BOOK,
        ),
    ]
    shown = [link[:4] for link in links if actor.can(link[4])]
    if shown:
        _link_cards(shown, "booking-links")


def staff_home(context: PageContext) -> None:
    """Doctors and shared-center readers (their area) and CDC officers (the whole county)."""
    institution_summary(context)
    booking_links(context)
    data_center.alerts_summary(context)
    if links := data_center.data_center_links(context):
        _link_cards(links, "data-center-links")
    with section(t("查找居民"), "person_search"):
        resident_search(context)


def clerk_home(context: PageContext) -> None:
    """The service-window clerk registers residents, looks them up and runs the booking desk."""
    institution_summary(context)
    booking_links(context)
    register_form(context)
    with section(t("查找居民"), "person_search"):
        resident_search(context)


def bureau_home(context: PageContext) -> None:
    """County figures the bureau may see: aggregates only, no person named."""
    data_center.dashboard_summary(context)
    _link_cards(data_center.data_center_links(context), "data-center-links")
    with context.work(inline=True) as work:
        by_tier = {
            tier: registry.list_institutions(
                work.session, registry.InstitutionQuery(tier=tier, limit=1)
            )[0]
            for tier in TIERS
        }
        residents = registry.count_residents(work.session, work.actor)
        year, visits = clinical.encounters_by_tier(work.session, work.actor)
        with section(t("全县概况"), "insights"):
            figures = ui.grid().classes("w-full grid-cols-2 sm:grid-cols-4 gap-2")
        with figures:
            _figure(t("居民"), residents, "county-residents")
            for tier, count in by_tier.items():
                _figure(
                    t("{tier}机构").format(tier=code_name(TIERS, tier)),
                    count,
                    f"institutions-{tier}",
                )
        with section(t("各级机构就诊人次"), "bar_chart"):
            if year is None:
                ui.label(t("暂无就诊数据")).classes("text-grey-7")
            else:
                ui.label(t("{year} 年").format(year=year)).classes("text-grey-8")
                _visits_chart(visits)


def _visits_chart(visits: dict[str, int]) -> None:
    tiers = list(TIERS)
    ui.echart(
        {
            "grid": {"left": 60, "right": 10, "top": 24, "bottom": 30},
            "tooltip": {"trigger": "axis"},
            "xAxis": {"type": "category", "data": [code_name(TIERS, tier) for tier in tiers]},
            "yAxis": {"type": "value"},
            "series": [
                {
                    "name": t("就诊人次"),
                    "type": "bar",
                    "data": [visits.get(tier, 0) for tier in tiers],
                    "label": {"show": True, "position": "top"},
                }
            ],
        }
    ).classes("w-full h-64").props("data-testid=county-chart")


def admin_home(context: PageContext) -> None:
    """The IT administrator's way to accounts, institutions and the audit log."""
    links = [
        ("/users", "manage_accounts", t("用户管理"), t("创建和停用账号")),
        ("/institutions", "account_tree", t("医疗机构"), t("医共体、机构和科室")),
        ("/audit", "policy", t("审计日志"), t("谁在何时查看或修改了什么")),
    ]
    if context.actor.can(roles.SCHEDULE_MANAGE):
        links.append(("/schedules", "calendar_month", t("排班管理"), t("排班、放号和停诊")))
    links.extend(data_center.data_center_links(context))
    _link_cards(links, "admin-links")
    data_center.alerts_summary(context)
