"""JSON API of the data center: the indicator catalog. The bureau reads it, checks and saves
new versions of indicators and measures, and recomputes the values."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from yigongti import analytics
from yigongti.analytics.catalog.check import Problem
from yigongti.analytics.catalog.model import Catalog
from yigongti.analytics.schemas import (
    CatalogOut,
    CatalogVersionOut,
    CheckOut,
    IndicatorDetailOut,
    IndicatorIn,
    IndicatorOut,
    MeasureIn,
    MeasureOut,
    ProblemOut,
    RecomputeIn,
    RecomputeOut,
)
from yigongti.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["analytics"])
Code = Annotated[str, Path(min_length=1, max_length=40)]


def _catalog_out(catalog: Catalog) -> CatalogOut:
    return CatalogOut(
        measures=[MeasureOut.model_validate(m) for m in catalog.measures.values()],
        indicators=[IndicatorOut.model_validate(i) for i in catalog.indicators.values()],
    )


def _check_out(problems: list[Problem]) -> CheckOut:
    return CheckOut(
        ok=not problems,
        problems=[ProblemOut(field=p.field, message=p.en, message_zh=p.zh) for p in problems],
    )


@router.get("/indicators", response_model=CatalogOut)
def list_indicators(session: SessionDep, actor: ActorDep) -> CatalogOut:
    """The catalog in force: every measure and indicator, with calibers, sources and targets."""
    return _catalog_out(analytics.catalog_of(session, actor))


@router.get("/indicators/{code}", response_model=IndicatorDetailOut)
def get_indicator(code: Code, session: SessionDep, actor: ActorDep) -> IndicatorDetailOut:
    """One indicator: its definition and caliber, its measures, and every version of it."""
    detail = analytics.indicator_detail(session, actor, code)
    return IndicatorDetailOut(
        indicator=IndicatorOut.model_validate(detail.indicator),
        measures=[MeasureOut.model_validate(m) for m in detail.measures],
        versions=[CatalogVersionOut.model_validate(v) for v in detail.versions],
    )


@router.post("/indicators/check", response_model=CheckOut)
def check_indicator(body: IndicatorIn, session: SessionDep, actor: ActorDep) -> CheckOut:
    """Check an indicator without saving it: the problems a save would refuse, if any."""
    return _check_out(analytics.check_indicator_definition(session, actor, body.definition()))


@router.post("/measures/check", response_model=CheckOut)
def check_measure(body: MeasureIn, session: SessionDep, actor: ActorDep) -> CheckOut:
    """Check a measure without saving it: the problems a save would refuse, if any."""
    return _check_out(analytics.check_measure_definition(session, actor, body.definition()))


@router.post("/indicators", response_model=IndicatorOut, status_code=201)
def save_indicator(body: IndicatorIn, session: SessionDep, actor: ActorDep) -> IndicatorOut:
    """Save an indicator as its next version (422 with each problem of a bad formula)."""
    saved = analytics.save_indicator(session, actor, body.definition(), body.note)
    return IndicatorOut.model_validate(saved)


@router.post("/measures", response_model=MeasureOut, status_code=201)
def save_measure(body: MeasureIn, session: SessionDep, actor: ActorDep) -> MeasureOut:
    """Save a measure as its next version (422 with each problem of a bad condition)."""
    saved = analytics.save_measure(session, actor, body.definition(), body.note)
    return MeasureOut.model_validate(saved)


@router.post("/indicators/recompute", response_model=RecomputeOut)
def recompute(
    request: Request, session: SessionDep, actor: ActorDep, body: RecomputeIn | None = None
) -> RecomputeOut:
    """Compute every indicator over the lake with the catalog in force and save the values."""
    settings = request.app.state.settings
    done = analytics.recompute(
        session,
        actor,
        settings.lake_dir,
        settings.county_code,
        (body or RecomputeIn()).engine,
    )
    return RecomputeOut.model_validate(done)
