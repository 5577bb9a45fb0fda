"""Use cases of the data center: reports."""

from __future__ import annotations

__all__: list[str] = []
