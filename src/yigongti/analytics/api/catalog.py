"""JSON API of the data center: catalog."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["analytics"])
