"""Use cases of the data center: catalog."""

from __future__ import annotations

__all__: list[str] = []
