"""JSON API of the data center: the bureau's dashboard (数据驾驶舱).

Thin: parse and validate the query, call the service with the lake of this server, answer the
service's views. The services check ``aggregate:read`` and answer 409 (``not-computed``) while
the lake has not been exported and computed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request

from yigongti import analytics
from yigongti.analytics.schemas import (
    FlowsOut,
    RankingOut,
    RecordsOut,
    TileOut,
    TrendOut,
    UnitOut,
)
from yigongti.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["analytics"])

Period = Annotated[
    str,
    Query(
        pattern=r"^\d{4}(-(0[1-9]|1[0-2])|Q[1-4])?$",
        description="A month 2026-03, a quarter 2026Q1 or a year 2026",
    ),
]
PeriodKind = Annotated[str, Query(pattern="^(month|quarter|year)$")]
Grain = Annotated[str, Query(pattern="^(institution|community|county)$")]
Code = Annotated[str, Query(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
UnitId = Annotated[str, Query(min_length=1, max_length=40)]


def _lake(request: Request) -> Path:
    return request.app.state.settings.lake_dir


@router.get("/dashboard/units", response_model=list[UnitOut])
def units(request: Request, session: SessionDep, actor: ActorDep) -> list[UnitOut]:
    """The county, its medical communities and institutions, as ids for the other queries."""
    return analytics.dashboard_units(session, actor, _lake(request))


@router.get("/dashboard/periods", response_model=list[str])
def periods(
    request: Request, session: SessionDep, actor: ActorDep, period_kind: PeriodKind = "month"
) -> list[str]:
    """The periods of a kind that hold computed values, the latest first."""
    return analytics.dashboard_periods(session, actor, _lake(request), period_kind)


@router.get("/dashboard/headline", response_model=list[TileOut])
def headline(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    period: Period | None = None,
    period_kind: PeriodKind = "month",
    community_id: UnitId | None = None,
) -> list[TileOut]:
    """The headline indicators at the county or a community, with targets and traffic lights."""
    return analytics.headline(
        session, actor, _lake(request), period, community_id, period_kind=period_kind
    )


@router.get("/dashboard/trend", response_model=TrendOut)
def trend(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    indicator: Code,
    grain: Grain,
    unit_id: UnitId,
    period_kind: PeriodKind = "month",
) -> TrendOut:
    """An indicator's values at one unit, period by period."""
    return analytics.trend(session, actor, _lake(request), indicator, grain, unit_id, period_kind)


@router.get("/dashboard/ranking", response_model=RankingOut)
def ranking(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    indicator: Code,
    period: Period | None = None,
    community_id: UnitId | None = None,
    grain: Annotated[str, Query(pattern="^(institution|community)$")] = "institution",
) -> RankingOut:
    """Institutions (or communities) by an indicator in a period, the best first."""
    return analytics.ranking(
        session, actor, _lake(request), indicator, period, community_id, grain=grain
    )


@router.get("/dashboard/referral-flows", response_model=FlowsOut)
def referral_flows(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    period: Period,
    community_id: UnitId | None = None,
) -> FlowsOut:
    """Referred visits between tiers in a period, as Sankey nodes and links."""
    return analytics.referral_flows(session, actor, _lake(request), period, community_id)


@router.get("/dashboard/records", response_model=RecordsOut)
def records(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    indicator: Code,
    grain: Grain,
    unit_id: UnitId,
    period: Period,
    side: Annotated[str, Query(pattern="^(numerator|denominator)$")] = "numerator",
    limit: Annotated[int, Query(ge=1, le=analytics.MAX_RECORDS_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RecordsOut:
    """The lake rows behind one side of an indicator at a unit in a period (each read audited;
    the rows carry a pseudonymous resident key, never a name, ID number or phone)."""
    return analytics.records_behind(
        session,
        actor,
        _lake(request),
        indicator,
        grain,
        unit_id,
        period,
        side=side,
        limit=limit,
        offset=offset,
    )
