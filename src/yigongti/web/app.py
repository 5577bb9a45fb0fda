"""The one FastAPI application: JSON API under /api/v1, /healthz, and the NiceGUI web UI."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine, text

from yigongti import clinical, registry, security  # noqa: F401 - packages register their hooks
from yigongti.clinical.api import router as record_router
from yigongti.db import make_engine
from yigongti.registry.api import router as registry_router
from yigongti.security.api import router as security_router
from yigongti.settings import Settings, get_settings
from yigongti.web.errors import install_error_handlers
from yigongti.web.limits import BodyLimit

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every domain's router, as mounted under ``/api/v1``."""
    router = APIRouter(prefix=API_PREFIX)
    for domain_router in (security_router, registry_router, record_router):
        router.include_router(domain_router)
    return router


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, with_ui: bool = True
) -> FastAPI:
    """Build the application on ``settings`` (or the environment's) and its database."""
    settings = settings or get_settings()
    app = FastAPI(
        title="yigongti",
        version="0.1.0",
        summary="County medical community platform (医共体信息平台)",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.effective_database_url)
    app.state.secret = settings.effective_secret_key
    install_error_handlers(app)
    app.include_router(api_router())

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability."""
        with app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok"}

    if with_ui:
        from yigongti.web.ui import mount_ui

        mount_ui(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (used by ``ygt serve`` with workers)."""
    return create_app()
