"""Web pages of the registries: institutions, practitioners and teams, residents.

Pages render what the registry services return; every rule and permission is theirs.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session

from yigongti import clinical, registry
from yigongti.registry.codes import INSTITUTION_KINDS, TEAM_ROLES, TIERS, TITLES
from yigongti.security import roles
from yigongti.web.i18n import pick, t
from yigongti.web.ui.institution_form import institution_form
from yigongti.web.ui.record import (
    code_name,
    conditions_list,
    encounters_list,
    people_list,
    resident_card,
    section,
)
from yigongti.web.ui.resident_form import register_form
from yigongti.web.ui.search import asks_reason, reason_input, record_href, resident_search
from yigongti.web.ui.shell import enter, to_login

if TYPE_CHECKING:
    from yigongti.registry.models import FamilyDoctorTeam, Institution, Practitioner

OUTSIDE = "outside"
PAGE_SIZE = 30
COMMUNITY_PREFIX = "community:"


def register() -> None:
    """Declare the registry's pages."""
    ui.page("/institutions")(institutions_page)
    ui.page("/practitioners")(practitioners_page)
    ui.page("/residents")(residents_page)
    ui.page("/residents/{resident_id}")(resident_page)


def kind_name(kind: str) -> str:
    """An institution kind in the user's language."""
    names = INSTITUTION_KINDS.get(kind)
    return pick(names[1], names[2]) if names else kind


# --- institutions -------------------------------------------------------------------------


def _node(node: registry.InstitutionNode) -> dict[str, Any]:
    return {
        "id": str(node.institution.id),
        "label": node.institution.name,
        "children": [_node(child) for child in node.children],
    }


def institution_tree(session: Session) -> list[dict[str, Any]]:
    """Communities (lead hospital, members, village clinics) and the institutions outside."""
    trees, outside = registry.community_trees(session)
    nodes: list[dict[str, Any]] = []
    for tree in trees:
        # The lead hospital runs the community: its members show under it.
        if tree.lead is not None:
            lead = _node(tree.lead)
            lead["children"] = [*lead["children"], *(_node(member) for member in tree.others)]
            children = [lead]
        else:
            children = [_node(member) for member in tree.others]
        nodes.append(
            {
                "id": f"{COMMUNITY_PREFIX}{tree.community.id}",
                "label": tree.community.name,
                "icon": "hub",
                "children": children,
            }
        )
    # Units outside every community hang under their parent if it is outside too.
    outside_ids = {inst.id for inst in outside}
    loose = {inst.id: registry.InstitutionNode(inst) for inst in outside}
    for inst in outside:
        if inst.parent_id in outside_ids:
            loose[inst.parent_id].children.append(loose[inst.id])
    tops = [loose[i.id] for i in outside if i.parent_id is None or i.parent_id not in outside_ids]
    nodes.append(
        {
            "id": OUTSIDE,
            "label": t("医共体外机构"),
            "icon": "domain",
            "children": [_node(top) for top in tops],
        }
    )
    return nodes


def _institution_details(session: Session, institution: Institution) -> None:
    ui.label(institution.name).classes("text-h6").props("data-testid=institution-name")
    with ui.grid(columns="auto 1fr").classes("w-full gap-x-4 gap-y-1"):
        community = registry.community_of(session, institution.id)
        for label, value in (
            (t("机构代码"), institution.code),
            (t("机构类型"), kind_name(institution.kind)),
            (t("层级"), code_name(TIERS, institution.tier)),
            (t("所有制"), t("公立") if institution.ownership == "public" else t("民营")),
            (t("所属医共体"), community.name if community else t("无")),
        ):
            ui.label(label).classes("text-grey-7")
            ui.label(value)
    ui.label(t("科室")).classes("text-subtitle2 q-mt-sm")
    if institution.departments:
        with ui.row().classes("gap-1").props("data-testid=departments"):
            for department in institution.departments:
                ui.chip(department.name).props("dense outline")
    else:
        ui.label(t("无")).classes("text-grey-7")
    ui.label(t("转诊路径")).classes("text-subtitle2 q-mt-sm")
    chain = registry.referral_chain(session, institution.id)
    with ui.row().classes("items-center gap-1").props("data-testid=referral-chain"):
        for index, step in enumerate(chain):
            if index:
                ui.icon("arrow_forward", color="grey")
            ui.label(step.name).classes("text-body2")


def institutions_page(request: Request) -> RedirectResponse | None:
    """The institution tree; selecting one shows its departments and referral chain."""
    context = enter(request, t("医疗机构"))
    if context is None:
        return to_login()
    with ui.row().classes("w-full items-start gap-3"):
        with ui.card().classes("w-full md:w-5/12").props("data-testid=institution-tree"):
            tree_box = ui.column().classes("w-full")
        details = ui.card().classes("w-full md:w-6/12 md:sticky md:top-20")
        details.props("data-testid=institution-details")
    with details:
        ui.label(t("请在机构树中选择一个机构")).classes("text-grey-7")

    def show(event: object) -> None:
        selected = getattr(event, "value", None)
        if not selected or selected == OUTSIDE or selected.startswith(COMMUNITY_PREFIX):
            return
        details.clear()
        with context.work() as work, details:
            institution = registry.get_institution(work.session, uuid.UUID(selected))
            _institution_details(work.session, institution)

    def draw_tree() -> None:
        tree_box.clear()
        with context.work(inline=True) as work:
            nodes = institution_tree(work.session)
        with tree_box:
            tree = ui.tree(nodes, on_select=show).props("dense")
            # Open the communities and their lead hospitals: the members show at once.
            tops = [str(node["id"]) for node in nodes]
            leads = [str(child["id"]) for node in nodes for child in node["children"][:1]]
            tree.expand(tops + leads)

    draw_tree()
    if context.actor.can(roles.REGISTRY_WRITE):
        institution_form(context, on_created=draw_tree)
    return None


# --- practitioners and teams --------------------------------------------------------------


def practitioners_page(request: Request) -> RedirectResponse | None:
    """Practitioners by name or pinyin initials and institution; family-doctor teams."""
    context = enter(request, t("医务人员"))
    if context is None:
        return to_login()
    institutions: dict[str, str] = {}
    with context.work(inline=True) as work:
        _, rows = registry.list_institutions(work.session, registry.InstitutionQuery(limit=5000))
        institutions = {str(i.id): i.name for i in rows}
    # Start with the user's own institution: his colleagues and its teams.
    own = str(context.actor.institution_id) if context.actor.institution_id else None
    with ui.card().classes("w-full").props("data-testid=practitioner-search"):
        with ui.grid().classes("w-full grid-cols-1 sm:grid-cols-2 gap-x-4 gap-y-0"):
            query = ui.input(t("姓名或拼音首字母")).props(
                "clearable data-testid=practitioner-query maxlength=40"
            )
            where = ui.select(
                institutions,
                label=t("机构"),
                value=own if own in institutions else None,
                clearable=True,
                with_input=True,
            ).props("data-testid=practitioner-institution")
        button = ui.button(t("查询"), icon="search").props("unelevated")
    results = ui.column().classes("w-full")
    with section(t("家庭医生团队"), "groups"):
        teams = ui.column().classes("w-full")

    def search() -> None:
        results.clear()
        teams.clear()
        institution_id = uuid.UUID(where.value) if where.value else None
        with context.work() as work:
            total, found = registry.list_practitioners(
                work.session,
                registry.PractitionerQuery(
                    institution_id=institution_id, q=query.value or None, limit=PAGE_SIZE
                ),
            )
            with results:
                ui.label(t("共 {total} 人").format(total=total)).classes("text-grey-8")
                _practitioner_list(work.session, found)
                if total > len(found):
                    ui.label(t("仅显示前 {n} 人，请缩小查询范围").format(n=len(found))).classes(
                        "text-caption text-grey-7"
                    )
            with teams:
                if institution_id is None:
                    ui.label(t("选择机构后显示其家庭医生团队")).classes("text-grey-7")
                else:
                    _team_list(registry.list_teams(work.session, institution_id))

    button.on_click(search)
    query.on("keydown.enter", search)
    where.on_value_change(search)
    search()
    return None


def _practitioner_list(session: Session, found: list[Practitioner]) -> None:
    with ui.list().props("bordered separator data-testid=practitioners").classes("w-full"):
        for person in found:
            institution = registry.get_institution(session, person.institution_id)
            title = TITLES.get(person.title)
            departments = t("、").join(d.name for d in person.departments) or t("未分科室")
            with ui.expansion().classes("w-full") as item:
                with item.add_slot("header"), ui.item_section():
                    ui.item_label(f"{person.name} · {pick(title[1], title[2]) if title else ''}")
                    ui.item_label(institution.name).props("caption")
                with ui.grid(columns="auto 1fr").classes("gap-x-4 gap-y-1 px-4 pb-2"):
                    for label, value in (
                        (t("专业"), person.specialty or t("无")),
                        (t("科室"), departments),
                        (t("拼音首字母"), person.name_initials),
                    ):
                        ui.label(label).classes("text-grey-7")
                        ui.label(value)


def _team_list(teams: list[FamilyDoctorTeam]) -> None:
    if not teams:
        ui.label(t("无")).classes("text-grey-7")
        return
    with ui.list().props("dense separator data-testid=teams").classes("w-full"):
        for team in teams:
            with ui.item(), ui.item_section():
                ui.item_label(team.name)
                members = t("、").join(
                    f"{m.practitioner.name} ({code_name(TEAM_ROLES, m.role)})" for m in team.members
                )
                ui.item_label(members).props("caption")


# --- residents ----------------------------------------------------------------------------


def residents_page(request: Request, q: str = "", reason: str = "") -> RedirectResponse | None:
    """Search residents in the actor's scope; roles that register residents get the form."""
    context = enter(request, t("居民档案"))
    if context is None:
        return to_login()
    with section(t("查找居民"), "person_search"):
        resident_search(context, initial=q, reason=reason)
    if context.actor.can(roles.RESIDENT_WRITE):
        with ui.expansion(t("登记居民"), icon="person_add").classes("w-full"):
            register_form(context)
    return None


def resident_page(request: Request, resident_id: str, reason: str = "") -> RedirectResponse | None:
    """A resident's record: card, household, conditions and encounters."""
    context = enter(request, t("居民档案"))
    if context is None:
        return to_login()
    try:
        person = uuid.UUID(resident_id)
    except ValueError:
        ui.label(t("您的权限范围内无此居民")).classes("text-negative")
        return None
    if asks_reason(context) and not reason:
        _ask_reason(person)
        return None
    stated = reason or None
    with context.work(inline=True) as work:
        view = registry.get_resident(work.session, work.actor, person, reason=stated)
        household = registry.household_of(work.session, work.actor, person, reason=stated)
        conditions = clinical.conditions_of(work.session, work.actor, person, reason=stated)
        total, visits = clinical.encounters_of(work.session, work.actor, person, reason=stated)
        resident_card(context, view, reason=stated)
        with section(t("同户成员"), "home"):
            people_list(
                [m for m in household if m.id != view.id],
                empty=t("无"),
                testid="household",
                href=lambda member: record_href(member.id, stated),
            )
        with section(t("慢病记录"), "monitor_heart"):
            conditions_list(conditions)
        with section(t("就诊记录"), "history"):
            encounters_list(work.session, total, visits)
    return None


def _ask_reason(person: uuid.UUID) -> None:
    with ui.card().classes("w-full").props("data-testid=reason-required"):
        ui.label(t("卫健局角色查看个人档案须填写事由，事由将记入审计日志")).classes("text-body1")
        why = reason_input()
        ui.button(
            t("查看"),
            on_click=lambda: ui.navigate.to(
                f"/residents/{person}?{urlencode({'reason': why.value.strip()})}"
            ),
        ).props("unelevated data-testid=reason-submit")
