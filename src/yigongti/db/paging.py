"""One page of a query's rows with the count of all of them."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def page(session: Session, statement: Select[Any], limit: int, offset: int) -> tuple[int, list[T]]:
    """How many rows ``statement`` selects in all, and rows ``offset`` to ``offset + limit``."""
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    total = session.scalar(counted) or 0
    return total, list(session.scalars(statement.limit(limit).offset(offset)))
