"""JSON API of the data center: alerts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["analytics"])
