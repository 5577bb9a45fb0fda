"""JSON API of the data center and supervision, one module per area."""

from __future__ import annotations

from fastapi import APIRouter

from yigongti.analytics.api import alerts, catalog, dashboard, lake, reports

router = APIRouter()
for _area in (lake, catalog, alerts, reports, dashboard):
    router.include_router(_area.router)
