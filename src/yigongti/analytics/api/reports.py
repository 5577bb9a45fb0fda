"""JSON API of the data center: the monthly report, the quarterly bulletin and the annual
assessment, as Excel or PDF files (and the assessment as JSON)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response

from yigongti import analytics
from yigongti.analytics.reports import PDF_MEDIA_TYPE, XLSX_MEDIA_TYPE
from yigongti.analytics.schemas import AssessmentOut
from yigongti.kernel import invalid_field
from yigongti.web.deps import ActorDep, SessionDep
from yigongti.web.errors import PROBLEM

router = APIRouter(tags=["analytics"])


def get_figures(request: Request, session: SessionDep) -> analytics.Figures:
    """The figures of this server's county: the last computed RESULTS and the catalog."""
    settings = request.app.state.settings
    return analytics.current_figures(
        session, settings.lake_dir, settings.county_code, settings.county_name
    )


FiguresDep = Annotated[analytics.Figures, Depends(get_figures)]
Grain = Annotated[
    Literal["institution", "community", "county"],
    Query(description="institution, community or county"),
]
UnitId = Annotated[
    str | None,
    Query(
        max_length=40,
        description="Institution or community id (UUID), or the county code; "
        "defaults to the county, or to one's own institution",
    ),
]
Period = Annotated[str, Query(max_length=10)]
FileFormat = Annotated[Literal["xlsx", "pdf"], Query(alias="format")]
_UNAVAILABLE = {
    503: {
        "description": "PDF export is not available: WeasyPrint or a CJK font is missing",
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}
_FILES = {
    200: {
        "description": "The report file",
        "content": {XLSX_MEDIA_TYPE: {}, PDF_MEDIA_TYPE: {}},
    },
    **_UNAVAILABLE,
}


def content_disposition(filename: str, ascii_filename: str) -> str:
    """An attachment header naming the file in ASCII and, per RFC 5987, in UTF-8."""
    return f"attachment; filename=\"{ascii_filename}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _file(file: analytics.ReportFile) -> Response:
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": content_disposition(file.filename, file.ascii_filename)},
    )


@router.get("/reports/monthly", response_class=Response, responses=_FILES)
def monthly_report(
    session: SessionDep,
    actor: ActorDep,
    figures: FiguresDep,
    period: Period,
    grain: Grain = "county",
    unit_id: UnitId = None,
    file_format: FileFormat = "xlsx",
) -> Response:
    """The monthly monitoring report (月度监测) of a unit for a month (``2026-03``)."""
    report = analytics.report_for(session, actor, figures, "monthly", grain, unit_id, period)
    return _file(analytics.report_file(report, file_format))


@router.get("/reports/quarterly", response_class=Response, responses=_FILES)
def quarterly_bulletin(
    session: SessionDep,
    actor: ActorDep,
    figures: FiguresDep,
    period: Period,
    grain: Grain = "county",
    unit_id: UnitId = None,
    file_format: FileFormat = "xlsx",
) -> Response:
    """The quarterly bulletin (季度通报) of a unit for a quarter (``2026Q1``)."""
    report = analytics.report_for(session, actor, figures, "quarterly", grain, unit_id, period)
    return _file(analytics.report_file(report, file_format))


def _weights(text: str | None) -> dict[str, float] | None:
    """``drug_share:20,total_cost_growth:10`` as a mapping; None when not given."""
    if text is None:
        return None
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        code, _, number = part.partition(":")
        try:
            weights[code.strip()] = float(number)
        except ValueError:
            raise invalid_field(
                "weights",
                f"Weights are code:number pairs separated by commas, not '{part}'",
                f"权重应写作“指标代码:数值”，以逗号分隔，而不是“{part}”",
            ) from None
    return weights


@router.get(
    "/reports/assessment",
    response_class=Response,
    responses={
        200: {
            "model": AssessmentOut,
            "description": "The assessment as JSON, or as a file",
            "content": {XLSX_MEDIA_TYPE: {}, PDF_MEDIA_TYPE: {}},
        },
        **_UNAVAILABLE,
    },
)
def assessment(
    session: SessionDep,
    actor: ActorDep,
    figures: FiguresDep,
    year: Annotated[str, Query(max_length=6)],
    grain: Grain = "institution",
    weights: Annotated[
        str | None,
        Query(max_length=2000, description="code:weight pairs, e.g. drug_share:20,on_time_rate:5"),
    ] = None,
    file_format: Annotated[Literal["json", "xlsx", "pdf"], Query(alias="format")] = "json",
) -> Response:
    """The annual assessment (年度考核): every unit's weighted score against the year's
    targets, and its place."""
    result = analytics.assessment_for(session, actor, figures, year, _weights(weights), grain)
    if file_format == "json":
        body = AssessmentOut.of(result).model_dump_json()
        return Response(body, media_type="application/json")
    return _file(analytics.assessment_file(result, file_format))
