"""Use cases of the data center: dashboard."""

from __future__ import annotations

__all__: list[str] = []
