"""Use cases of the data center: lake."""

from __future__ import annotations

__all__: list[str] = []
