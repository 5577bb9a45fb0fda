"""Web pages of security: the audit-log search and the accounts list.

The services decide who may use them (``audit:read``, ``user:manage``); a role without the
permission sees the service's refusal.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti import registry
from yigongti.kernel import SHANGHAI, Invalid, local, now
from yigongti.security import (
    AuditQuery,
    create_user,
    list_users,
    search_audit,
    set_user_active,
)
from yigongti.security.roles import ROLES
from yigongti.web.i18n import pick, t
from yigongti.web.ui.context import PageContext, error_text
from yigongti.web.ui.resident_form import clear_errors, show_field_errors
from yigongti.web.ui.shell import enter, role_name, to_login
from yigongti.web.ui.tables import data_table

AUDIT_PAGE = 50
ACTIONS = (
    "login",
    "login_failed",
    "lockout",
    "read",
    "reveal",
    "search",
    "create",
    "update",
    "enable",
    "disable",
)


def register() -> None:
    """Declare the pages of security."""
    ui.page("/audit")(audit_page)
    ui.page("/users")(users_page)


def _moment(value: str | None, *, end_of_day: bool = False) -> datetime | None:
    """A date typed in the filter, as the start (or end) of that day in China time."""
    if not value:
        return None
    day = date.fromisoformat(value)
    if end_of_day:
        return datetime.combine(day + timedelta(days=1), time(), SHANGHAI) - timedelta(
            microseconds=1
        )
    return datetime.combine(day, time(), SHANGHAI)


def _when(moment: datetime | None) -> str:
    return f"{local(moment):%Y-%m-%d %H:%M:%S}" if moment else ""


def audit_page(request: Request) -> RedirectResponse | None:
    """Search the audit log by actor, action and dates, newest first."""
    context = enter(request, t("审计日志"))
    if context is None:
        return to_login()
    # Built first, dropped again if the service refuses: then only its refusal shows.
    body = ui.column().classes("w-full")
    with body:
        with ui.card().classes("w-full").props("data-testid=audit-filters"):
            with ui.grid().classes("w-full grid-cols-1 sm:grid-cols-4 gap-x-4 gap-y-0"):
                actor_name = ui.input(t("操作人用户名")).props("clearable data-testid=audit-actor")
                action = ui.select(list(ACTIONS), label=t("操作"), clearable=True).props(
                    "data-testid=audit-action"
                )
                since = ui.input(t("起始日期")).props(
                    "type=date stack-label data-testid=audit-since"
                )
                until = ui.input(t("结束日期")).props(
                    "type=date stack-label data-testid=audit-until"
                )
            button = ui.button(t("查询"), icon="search").props(
                "unelevated data-testid=audit-submit"
            )
        table = data_table(
            "audit-table",
            "seq",
            [
                ("seq", t("序号")),
                ("at", t("时间")),
                ("actor", t("操作人")),
                ("role", t("角色")),
                ("action", t("操作")),
                ("object", t("对象")),
                ("reason", t("事由")),
                ("client", t("来源地址")),
            ],
        )
        table.pagination = {"rowsPerPage": AUDIT_PAGE}
        summary = ui.label().classes("text-grey-8").props("data-testid=audit-total")
        pager = ui.pagination(1, 1, direction_links=True)
        pager.visible = False

    def search(page: int = 1, *, inline: bool = False) -> bool:
        query = AuditQuery(
            actor_name=(actor_name.value or "").strip() or None,
            action=action.value or None,
            since=_moment(since.value),
            until=_moment(until.value, end_of_day=True),
            limit=AUDIT_PAGE,
            offset=(page - 1) * AUDIT_PAGE,
        )
        done = False
        with context.work(inline=inline) as work:
            total, rows = search_audit(work.session, work.actor, query)
            table.rows = [
                {
                    "seq": row.seq,
                    "at": _when(row.at),
                    "actor": row.actor_name,
                    "role": role_name(row.actor_role) if row.actor_role in ROLES else "",
                    "action": row.action,
                    "object": f"{row.object_type} {row.object_id or ''}".strip(),
                    "reason": row.reason or "",
                    "client": row.client or "",
                }
                for row in rows
            ]
            table.update()
            summary.set_text(t("共 {total} 条，最新的在前").format(total=total))
            pages = max(1, -(-total // AUDIT_PAGE))
            pager.max = pages
            pager.visible = pages > 1
            done = True
        return done

    def first_page() -> None:
        if pager.value == 1:
            search(1)
        else:
            pager.set_value(1)  # its change handler searches

    button.on_click(first_page)
    pager.on_value_change(lambda event: search(event.value))
    if not search(1, inline=True):
        body.delete()
    return None


def users_page(request: Request) -> RedirectResponse | None:
    """Accounts: list, enable or disable, create."""
    context = enter(request, t("用户管理"))
    if context is None:
        return to_login()
    # Built first, dropped again if the service refuses: then only its refusal shows.
    table = data_table(
        "users-table",
        "id",
        [
            ("username", t("用户名")),
            ("name", t("姓名")),
            ("role", t("角色")),
            ("institution", t("机构")),
            ("last", t("最近登录")),
            ("active", t("状态")),
        ],
    )
    table.add_slot(
        "body-cell-active",
        f"""<q-td :props="props">
            <q-toggle :model-value="props.row.active" dense
                @update:model-value="() => $parent.$emit('toggle', props.row)" />
            <span v-if="props.row.locked" class="text-negative q-ml-sm">{t("已锁定")}</span>
        </q-td>""",
    )

    def load(*, inline: bool = False) -> bool:
        done = False
        with context.work(inline=inline) as work:
            users = list_users(work.session, work.actor, limit=200)
            rows = []
            for user in users:
                rows.append(
                    {
                        "id": str(user.id),
                        "username": user.username,
                        "name": user.display_name,
                        "role": role_name(user.role),
                        "institution": registry.get_institution(
                            work.session, user.institution_id
                        ).name
                        if user.institution_id
                        else "",
                        "last": _when(user.last_login_at),
                        "active": user.active,
                        "locked": bool(user.locked_until and user.locked_until > now()),
                    }
                )
            table.rows = rows
            table.update()
            done = True
        return done

    def toggle(event: object) -> None:
        row = getattr(event, "args", {})
        with context.work() as work:
            set_user_active(work.session, work.actor, uuid.UUID(row["id"]), not row["active"])
        load()

    table.on("toggle", toggle)
    if load(inline=True):
        _new_user_form(context, load)
    else:
        table.delete()
    return None


def _new_user_form(context: PageContext, on_created: Callable[[], None]) -> None:
    with context.work() as work:
        _, rows = registry.list_institutions(work.session, registry.InstitutionQuery(limit=5000))
        institutions = {str(i.id): i.name for i in rows}
    with (
        ui.expansion(t("新建账号"), icon="person_add")
        .classes("w-full")
        .props("data-testid=user-form")
    ):
        with ui.grid().classes("w-full grid-cols-1 sm:grid-cols-2 gap-x-4 gap-y-0"):
            username = ui.input(t("用户名")).props("maxlength=64 data-testid=user-username")
            name = ui.input(t("显示名称")).props("maxlength=60 data-testid=user-name")
            # Resident accounts need the resident they belong to; they are made elsewhere.
            role = ui.select(
                {code: pick(r.zh, r.en) for code, r in ROLES.items() if code != "resident"},
                label=t("角色"),
            ).props("data-testid=user-role")
            institution = ui.select(
                institutions, label=t("机构"), with_input=True, clearable=True
            ).props("data-testid=user-institution")
            password = ui.input(t("初始密码"), password=True, password_toggle_button=True)
            password.props("data-testid=user-password")
        fields = {
            "username": username,
            "display_name": name,
            "role": role,
            "institution_id": institution,
            "password": password,
        }

        def submit() -> None:
            clear_errors(fields)
            created = None
            try:
                with context.work(passthrough=Invalid) as work:
                    created = create_user(
                        work.session,
                        work.actor,
                        username=(username.value or "").strip(),
                        password=password.value or "",
                        role=role.value or "",
                        display_name=(name.value or "").strip() or (username.value or ""),
                        institution_id=uuid.UUID(institution.value) if institution.value else None,
                    )
            except Invalid as exc:
                if not show_field_errors(exc, fields):
                    ui.notify(error_text(exc), type="negative", multi_line=True)
            if created is not None:
                ui.notify(t("已创建账号：{name}").format(name=created.username), type="positive")
                on_created()

        ui.button(t("创建"), icon="add", on_click=submit).props(
            "unelevated data-testid=user-submit"
        )
