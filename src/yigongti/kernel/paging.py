"""Pages of results at the API edge."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a longer list: the total count and the items of this page."""

    total: int
    limit: int
    offset: int
    items: list[T]
