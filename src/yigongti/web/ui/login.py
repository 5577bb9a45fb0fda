"""Login and logout."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import run, ui

from yigongti.db import unit_of_work
from yigongti.kernel import DomainError
from yigongti.security import LoginOutcome, authenticate
from yigongti.web.i18n import t
from yigongti.web.ui.context import (
    client_ip,
    error_text,
    forget_login,
    host_of,
    logged_in_user_id,
    remember_login,
)
from yigongti.web.ui.shell import language_switch


def register() -> None:
    """Declare the login and logout pages."""
    ui.page("/login")(login_page)
    ui.page("/logout")(logout_page)


def login_page(request: Request) -> RedirectResponse | None:
    """Username and password; a failure shows why (wrong password, account locked)."""
    host = host_of(request)
    if logged_in_user_id(host.state.settings) is not None:
        return RedirectResponse("/", status_code=303)
    settings = host.state.settings
    ui.page_title(f"{t('登录')} · {t('医共体信息平台')}")
    ui.query("body").classes("bg-blue-grey-1")
    with ui.column().classes("w-full items-center pt-8 px-2"):
        card = ui.card().classes("w-full max-w-sm").props("data-testid=login-card")
    with card:
        with ui.row().classes("w-full items-center no-wrap"):
            ui.icon("local_hospital", color="primary", size="lg")
            with ui.column().classes("gap-0 grow"):
                ui.label(t("医共体信息平台")).classes("text-h6")
                ui.label(settings.county_name).classes("text-caption text-grey-8")
            with ui.element("div").classes("bg-primary rounded"):
                language_switch()
        username = ui.input(t("用户名")).props("autofocus data-testid=username").classes("w-full")
        password = ui.input(t("密码"), password=True, password_toggle_button=True)
        password.classes("w-full").props("data-testid=password")
        error = ui.label().classes("text-negative").props("data-testid=login-error")
        error.visible = False

        async def submit() -> None:
            outcome = await run.io_bound(
                _authenticate, request, username.value.strip(), password.value
            )
            if outcome.error is not None:
                error.set_text(error_text(outcome.error))
                error.visible = True
                password.set_value("")
                return
            assert outcome.user is not None
            remember_login(outcome.user.id)
            ui.navigate.to("/")

        password.on("keydown.enter", submit)
        ui.button(t("登录"), on_click=submit).classes("w-full").props(
            "unelevated data-testid=login-submit"
        )
    return None


def _authenticate(request: Request, username: str, password: str) -> LoginOutcome:
    """Check the password in a unit of work of its own, committed even when it fails.

    The failure count must be stored, or the lockout after repeated failures would never come.
    """
    host = host_of(request)
    settings = host.state.settings
    try:
        with unit_of_work(host.state.engine) as session:
            return authenticate(
                session,
                username,
                password,
                client=client_ip(request),
                max_failures=settings.lockout_failures,
                lock_minutes=settings.lockout_minutes,
            )
    except DomainError as exc:
        return LoginOutcome(None, exc)


def logout_page(request: Request) -> RedirectResponse:
    """Forget the login of this browser and return to the login page."""
    forget_login()
    return RedirectResponse("/login", status_code=303)
