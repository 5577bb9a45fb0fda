"""The one FastAPI application: JSON API under /api/v1, /healthz, and the NiceGUI web UI."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, text

from yigongti import analytics, booking, clinical, registry, security  # noqa: F401 - packages register their hooks
from yigongti.analytics.api import router as analytics_router
from yigongti.booking import api as booking_api
from yigongti.booking.api import router as booking_router
from yigongti.clinical.api import router as record_router
from yigongti.db import make_engine
from yigongti.interop.bulk import BULK_IMPORT_PATH
from yigongti.interop.bulk import router as bulk_router
from yigongti.interop.empi.api import router as empi_router
from yigongti.interop.fhir import resources  # noqa: F401 - registers the FHIR resource types
from yigongti.interop.fhir.api import router as fhir_router
from yigongti.registry.api import router as registry_router
from yigongti.security.api import router as security_router
from yigongti.settings import Settings, get_settings
from yigongti.web.deps import refuse_nul_characters
from yigongti.web.errors import PROBLEM_RESPONSES, PROBLEM_SCHEMA, install_error_handlers
from yigongti.web.hot import Application
from yigongti.web.jobs import scheduled_jobs
from yigongti.web.limits import Admission, BodyLimit

API_PREFIX = "/api/v1"

# Requests of a rush, served before the application's own layers (web.hot); each is
# documented by the FastAPI route of the same path, which answers the same.
HOT_ROUTES = [("POST", f"{API_PREFIX}/bookings", booking_api.post_booking)]


def api_router() -> APIRouter:
    """Every domain's router, as mounted under ``/api/v1``."""
    router = APIRouter(prefix=API_PREFIX, dependencies=[Depends(refuse_nul_characters)])
    for domain_router in (
        security_router,
        registry_router,
        record_router,
        booking_router,
        analytics_router,
        empi_router,
    ):
        # Every error answers problem+json; the document says so instead of FastAPI's default.
        router.include_router(domain_router, responses=PROBLEM_RESPONSES)
    return router


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, with_ui: bool = True
) -> FastAPI:
    """Build the application on ``settings`` (or the environment's) and its database."""
    settings = settings or get_settings()
    app = Application(
        title="yigongti",
        version="0.1.0",
        summary="County medical community platform (医共体信息平台)",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(
        settings.effective_database_url, pool_size=settings.db_pool_size, max_overflow=10
    )
    app.state.secret = settings.effective_secret_key
    app.state.booking_pool = None  # opened by the lifespan on PostgreSQL
    install_error_handlers(app)
    app.include_router(api_router())
    app.include_router(bulk_router)  # before the generic /fhir/{type}/{id} routes
    app.include_router(fhir_router)
    _document_problems(app)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability."""
        with app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok"}

    if with_ui:
        from yigongti.web.ui import mount_ui

        mount_ui(app)
    # The edge limits: every request under the API and FHIR prefixes shares the connection
    # pool, so they share one admission line; hot routes pass the same limits (web.hot).
    body_limits: dict[str, Any] = {
        "max_bytes": settings.max_body_bytes,
        "per_path": {BULK_IMPORT_PATH: settings.bulk_import_max_bytes},
    }
    admission: dict[str, Any] = {
        "slots": asyncio.Semaphore(settings.db_pool_size),
        "prefix": (API_PREFIX, "/fhir"),
    }
    app.add_middleware(BodyLimit, **body_limits)
    app.add_middleware(Admission, **admission)
    app.serve_first(HOT_ROUTES, lambda hot: Admission(BodyLimit(hot, **body_limits), **admission))
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    if app.state.settings.warm_routes_at_start:
        await warm_routes(app)
    async with booking_pool(app), scheduled_jobs(app):
        yield


@asynccontextmanager
async def booking_pool(app: FastAPI) -> AsyncIterator[None]:
    """On PostgreSQL, ``app.state.booking_pool``: asyncio connections in autocommit for the
    booking rush (``booking.book_at_once``), as many as the admission line lets in."""
    app.state.booking_pool = None
    engine: Engine = app.state.engine
    if engine.dialect.name != "postgresql":
        yield
        return
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    size = app.state.settings.db_pool_size
    pool = AsyncConnectionPool(
        conninfo,
        min_size=size,
        max_size=size,
        kwargs={"autocommit": True},
        configure=booking.Rehearsal(),
        open=False,
    )
    async with pool:
        app.state.booking_pool = pool
        try:
            yield
        finally:
            app.state.booking_pool = None


async def warm_routes(app: FastAPI) -> None:
    """Send one request for a path no API route serves through ``app`` itself.

    FastAPI builds each route's matching context (parameter adapters and the like) the first
    time a request is matched against it: 0.3 to 0.4 s of CPU per process, otherwise paid by
    the first requests of a rush. Matching a path that no route serves builds them all.
    """
    path = f"{API_PREFIX}/-"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    await app(scope, receive, send)


def _document_problems(app: FastAPI) -> None:
    """Add the problem+json schema to the OpenAPI components the error responses refer to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()  # FastAPI caches it as app.openapi_schema
            document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                PROBLEM_SCHEMA
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (used by ``ygt serve`` with workers).

    Built with the garbage collector paused: start-up allocates a great many long-lived
    objects (models, routes, schemas), and collecting them meanwhile is wasted work; frozen
    afterwards, they stay out of every later collection of the worker.
    """
    gc.disable()
    try:
        return create_app()
    finally:
        gc.enable()
        gc.freeze()
