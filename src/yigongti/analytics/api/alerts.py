"""JSON API of the data center: indicator alerts, read and closed."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from yigongti import analytics
from yigongti.analytics.schemas import AlertOut, AlertPage, CloseAlertIn
from yigongti.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["analytics"])


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    session: SessionDep,
    actor: ActorDep,
    institution_id: uuid.UUID | None = None,
    indicator: Annotated[str | None, Query(max_length=40)] = None,
    status: Literal["open", "closed", "all"] = "open",
    period: Annotated[str | None, Query(max_length=8)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AlertPage:
    """Alerts the caller may see (all county-wide, else their institution's), newest first."""
    total, items = analytics.open_alerts(
        session,
        actor,
        institution_id,
        indicator=indicator,
        status=None if status == "all" else status,
        period=period,
        limit=limit,
        offset=offset,
    )
    return AlertPage(total=total, items=items)


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def get_alert(alert_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> AlertOut:
    """One alert."""
    return analytics.get_alert(session, actor, alert_id)


@router.post("/alerts/{alert_id}/close", response_model=AlertOut)
def close_alert(
    alert_id: uuid.UUID, body: CloseAlertIn, session: SessionDep, actor: ActorDep
) -> AlertOut:
    """Close an open alert with a note saying what was found or done."""
    return analytics.close_alert(session, actor, alert_id, body.note)
