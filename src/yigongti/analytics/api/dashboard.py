"""JSON API of the data center: dashboard."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["analytics"])
