"""The web UI (NiceGUI), mounted into the FastAPI application beside the JSON API.

NiceGUI is one application per process: its pages are declared once, and it is mounted with
``ui.run_with`` into the first FastAPI app. A later app of the same process (tests build
several) gets the same NiceGUI app mounted and started by its own lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.routing import Match, Mount
from starlette.types import Scope

from yigongti.web.app import API_PREFIX
from yigongti.web.i18n import t
from yigongti.web.ui.context import HostScope

_state = {"pages": False, "run_with": False}


def mount_ui(app: FastAPI) -> None:
    """Serve the web UI from ``app``: pages at ``/``, the JSON API and /healthz untouched."""
    from nicegui import ui

    _keep_storage_in(app.state.settings.data_dir)
    if not _state["pages"]:
        _register_pages()
        # Chinese has no capitals; English labels keep their own case too.
        ui.button.default_props("no-caps")
        _state["pages"] = True
    app.add_middleware(HostScope, host=app)
    if not _state["run_with"]:
        ui.run_with(
            app,
            storage_secret=app.state.secret,
            title=t("医共体信息平台 yigongti"),
            language="zh-CN",
            show_welcome_message=False,
            favicon="🏥",
        )
        _state["run_with"] = True
    else:
        _mount_again(app)
    _leave_api_paths_alone(app)


def _register_pages() -> None:
    from yigongti.analytics import pages as analytics_pages
    from yigongti.booking import pages as booking_pages
    from yigongti.interop.empi import pages as empi_pages
    from yigongti.registry import pages as registry_pages
    from yigongti.security import pages as security_pages
    from yigongti.web.ui import home, login

    login.register()
    home.register()
    registry_pages.register()
    security_pages.register()
    booking_pages.register()
    analytics_pages.register()
    empi_pages.register()


def _keep_storage_in(data_dir: Path) -> None:
    """Keep NiceGUI's per-user storage under the data dir instead of ``./.nicegui``."""
    from nicegui.storage import Storage

    Storage.path = (data_dir / "ui-storage").resolve()
    Storage.path.mkdir(parents=True, exist_ok=True)


class _UiMount(Mount):
    """NiceGUI's mount at ``/`` that leaves the API's paths alone.

    Without it, an unknown API path or a wrong method would reach the UI and get an HTML page;
    left alone, they get the API's own 404 or 405 as problem+json, as without the UI.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """No match for the API's paths; the mount's usual match for every other path."""
        path = scope.get("path", "")
        if path == "/healthz" or path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            return Match.NONE, {}
        return super().matches(scope)


def _leave_api_paths_alone(app: FastAPI) -> None:
    """Swap the plain mount of the NiceGUI app for :class:`_UiMount`."""
    from nicegui import core

    for index, route in enumerate(app.router.routes):
        if isinstance(route, Mount) and route.app is core.app:
            app.router.routes[index] = _UiMount(route.path, app=core.app)


def _mount_again(app: FastAPI) -> None:
    """Mount the already configured NiceGUI app into another FastAPI app of this process."""
    from nicegui import core
    from nicegui.nicegui import _shutdown, _startup

    app.mount("/", core.app)
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(inner: FastAPI) -> AsyncIterator[object]:
        await _startup()
        async with outer(inner) as state:
            yield state
        await _shutdown()

    app.router.lifespan_context = lifespan
