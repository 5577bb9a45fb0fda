"""What every page needs: the host application, the logged-in user, and a unit of work.

NiceGUI runs as a sub-application mounted into the FastAPI app and replaces ``scope["app"]``
with itself, so the host (with the engine and settings in ``app.state``) travels in a scope key
of its own, set by :class:`HostScope`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from fastapi import FastAPI, Request
from nicegui import app as nicegui_app
from nicegui import ui
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from yigongti.db import unit_of_work
from yigongti.kernel import DomainError, Forbidden, Unauthenticated, now
from yigongti.security import Actor, active_user, actor_for
from yigongti.settings import Settings
from yigongti.web.i18n import current_language, t

HOST_KEY = "yigongti.host"
USER_KEY = "user_id"
LOGIN_AT_KEY = "login_at"


class HostScope:
    """ASGI middleware that records the host application in every request's scope."""

    def __init__(self, app: ASGIApp, host: FastAPI) -> None:
        self.app = app
        self.host = host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tag the scope, then pass the request on."""
        if scope["type"] in ("http", "websocket"):
            scope[HOST_KEY] = self.host
        await self.app(scope, receive, send)


def host_of(request: Request) -> FastAPI:
    """The FastAPI application a UI request arrived at."""
    return request.scope[HOST_KEY]


def client_ip(request: Request) -> str | None:
    """The browser's address as the server sees it (recorded in the audit log)."""
    return request.client.host if request.client else None


def error_text(exc: DomainError) -> str:
    """A service error in the user's language."""
    return exc.message(current_language())


def remember_login(user_id: uuid.UUID) -> None:
    """Keep the logged-in user in this browser's user storage."""
    nicegui_app.storage.user[USER_KEY] = str(user_id)
    nicegui_app.storage.user[LOGIN_AT_KEY] = now().isoformat()


def forget_login() -> None:
    """Log out: drop the user but keep the language choice."""
    nicegui_app.storage.user.pop(USER_KEY, None)
    nicegui_app.storage.user.pop(LOGIN_AT_KEY, None)


def logged_in_user_id(settings: Settings) -> uuid.UUID | None:
    """The user of this browser session, unless his login is older than a token would live."""
    stored = nicegui_app.storage.user.get(USER_KEY)
    login_at = nicegui_app.storage.user.get(LOGIN_AT_KEY)
    if not stored or not login_at:
        return None
    # A UI login expires like an API token does (等保: sessions end after a set time).
    if now() - datetime.fromisoformat(login_at) > timedelta(minutes=settings.token_minutes):
        forget_login()
        return None
    return uuid.UUID(stored)


@dataclass
class Work:
    """One unit of work of a page: its session and the actor, resolved on first use.

    The actor is resolved lazily so that a disabled account fails inside the ``with`` block,
    where :meth:`PageContext.work` can turn it into a redirect to the login page.
    """

    session: Session
    context: PageContext

    @cached_property
    def actor(self) -> Actor:
        """The logged-in user as the acting user of service calls."""
        user = active_user(self.session, self.context.user_id)
        return actor_for(user, self.context.client_ip)


@dataclass
class PageContext:
    """The logged-in user of one page, and the application serving it.

    ``actor`` is the user as he was when the page was built: pages use it to choose what to
    show. Service calls take the actor of their own unit of work (:attr:`Work.actor`), which
    is checked again, so an account disabled meanwhile can do nothing more.
    """

    host: FastAPI
    user_id: uuid.UUID
    client_ip: str | None
    actor: Actor
    display_name: str

    @property
    def engine(self) -> Engine:
        """The database engine of the host application."""
        return self.host.state.engine

    @property
    def settings(self) -> Settings:
        """The settings of the host application."""
        return self.host.state.settings

    @property
    def role(self) -> str:
        """The user's role code."""
        return self.actor.role

    @contextmanager
    def work(
        self, *, inline: bool = False, passthrough: type[DomainError] | None = None
    ) -> Iterator[Work]:
        """A unit of work; a service error is shown instead of raised.

        ``inline`` shows the error as a banner where the page is being built (for page
        builders); otherwise it pops up as a notification (for event handlers). Errors of the
        ``passthrough`` class are raised for the caller to place (e.g. under a form field). A
        lost login sends the user to the login page.
        """
        try:
            with unit_of_work(self.engine) as session:
                yield Work(session, self)
        except Unauthenticated:
            forget_login()
            ui.navigate.to("/login")
        except DomainError as exc:
            if passthrough is not None and isinstance(exc, passthrough):
                raise
            show_error(exc, inline=inline)


def show_error(exc: DomainError, *, inline: bool = False) -> None:
    """Show a service error in the user's language, as a banner or a notification."""
    message = error_text(exc)
    if not inline:
        ui.notify(message, type="negative", multi_line=True)
        return
    forbidden = isinstance(exc, Forbidden)
    with ui.card().classes("w-full bg-red-1").props("flat bordered") as card:
        card.props(f"data-testid={'no-permission' if forbidden else 'error-banner'}")
        with ui.row().classes("items-center no-wrap"):
            ui.icon("block" if forbidden else "error", color="negative", size="md")
            with ui.column().classes("gap-0"):
                if forbidden:
                    ui.label(t("无权限")).classes("text-subtitle1 text-negative")
                ui.label(message).classes("text-negative")
