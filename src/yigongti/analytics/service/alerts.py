"""Use cases of the data center: alerts."""

from __future__ import annotations

__all__: list[str] = []
