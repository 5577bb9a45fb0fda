"""API models of the data center: requests in, the services' own views out, one section per
area (lake, catalog, alerts, reports, dashboard)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from yigongti.analytics.reports import Assessment, AssessmentRow
from yigongti.analytics.service import dashboard as _dashboard
from yigongti.analytics.service.alerts import AlertView


# lake
class LakeFileOut(BaseModel):
    """A file pushed into the lake: what it was, who pushed it, and what became of it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    dataset: str
    filename: str
    institution_id: uuid.UUID | None
    sha256: str
    source: str
    status: str  # loaded | rejected
    rows: int  # rows written to the lake
    rejected_rows: int  # rows with at least one problem
    months: list[str]
    paths: list[str]  # relative to the lake root
    loaded_by: str
    loaded_at: datetime
    duplicate: bool = False  # this push repeated bytes pushed before; nothing was written


class RowErrorOut(BaseModel):
    """One problem of a rejected file: its line (None: the file as a whole), column and why."""

    model_config = ConfigDict(from_attributes=True)

    line: int | None
    column: str
    reason_zh: str
    reason_en: str


class LakeFileDetailOut(LakeFileOut):
    """A pushed file with its report (the first 1,000 problems of a rejected file)."""

    report: list[RowErrorOut]


class DatasetExportOut(BaseModel):
    """What one export did to one dataset."""

    model_config = ConfigDict(from_attributes=True)

    dataset: str
    rewritten: list[str]  # months whose export files were written again
    unchanged: list[str]
    removed: list[str]  # months that have no rows any more
    rows: int  # rows written
    files: int  # files written


class ExportReportOut(BaseModel):
    """What one export of the database into the lake did."""

    model_config = ConfigDict(from_attributes=True)

    datasets: list[DatasetExportOut]
    rows: int
    files: int


# dashboard
# The dashboard's views are the API's answers: one definition of how each is shown outside.
UnitOut = _dashboard.Unit
TileOut = _dashboard.Tile
TrendOut = _dashboard.Trend
RankingOut = _dashboard.Ranking
FlowsOut = _dashboard.Flows
RecordsOut = _dashboard.RecordsPage


# reports and alerts
class AssessmentOut(BaseModel):
    """The annual assessment: every unit's total score and place, and its indicator scores."""

    title: str
    area: str
    year: str
    grain: str
    weights: dict[str, float]  # as chosen, before renormalising per unit
    indicators: list[str]  # the weighted indicators that have a target for the year
    generated_at: datetime
    rows: list[AssessmentRow]

    @classmethod
    def of(cls, assessment: Assessment) -> AssessmentOut:
        """The API's form of an assessment document."""
        return cls(
            title=assessment.title,
            area=assessment.area,
            year=assessment.year,
            grain=assessment.grain,
            weights=dict(assessment.weights),
            indicators=[i.code for i in assessment.indicators],
            generated_at=assessment.generated_at,
            rows=list(assessment.rows),
        )


AlertOut = AlertView


class AlertPage(BaseModel):
    """A page of alerts and how many match in all."""

    total: int
    items: list[AlertView]


class CloseAlertIn(BaseModel):
    """Why an alert is closed: what was found or done."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=500)


# catalog
class TargetIn(BaseModel):
    """A year's target and alert threshold, in the indicator's unit."""

    model_config = ConfigDict(extra="forbid")

    target: float
    alert: float | None = None


class MeasureIn(BaseModel):
    """A measure as the bureau defines it: a sum or count over one dataset's rows."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40)
    zh: str = Field(min_length=1, max_length=100)
    en: str = Field(min_length=1, max_length=200)
    dataset: str = Field(min_length=1, max_length=20)
    aggregate: str = Field(pattern="^(sum|count)$")
    column: str | None = Field(default=None, max_length=60)
    where: str | None = Field(default=None, max_length=2000)
    stock: bool = False
    note: str = Field(default="", max_length=500)  # why this version (kept with it)
    # A definition read from GET may be sent back as it is: the service numbers the versions.
    version: int | None = Field(default=None, description="Ignored: saving adds the next version")

    def definition(self) -> dict[str, object]:
        """The stored form the service checks (without the note and version)."""
        return self.model_dump(exclude={"note", "version"})


class IndicatorIn(BaseModel):
    """An indicator as the bureau defines it: formula over measures, caliber, source, targets."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40)
    zh: str = Field(min_length=1, max_length=100)
    en: str = Field(min_length=1, max_length=200)
    caliber_zh: str = Field(min_length=1, max_length=2000)
    caliber_en: str = Field(min_length=1, max_length=2000)
    source: str = Field(min_length=1, max_length=500)
    source_version: str = Field(min_length=1, max_length=40)
    unit: str = Field(min_length=1, max_length=20)
    direction: str = Field(pattern="^(higher|lower)$")
    numerator: str | None = Field(default=None, max_length=2000)
    denominator: str | None = Field(default=None, max_length=2000)
    scale: float = 1.0
    growth_of: str | None = Field(default=None, max_length=40)
    grains: list[str] = Field(default_factory=lambda: ["institution", "community", "county"])
    targets: dict[str, TargetIn] = Field(default_factory=dict)
    # Tiers whose institutions the targets bind; None = every tier.
    target_tiers: list[Literal["county", "township", "village"]] | None = None
    # Values over fewer cases than this open no alert (small clinics' months); None = all.
    min_denominator: float | None = Field(default=None, ge=0, le=1e12)
    note: str = Field(default="", max_length=500)  # why this version (kept with it)
    # A definition read from GET may be sent back as it is: the service numbers the versions.
    version: int | None = Field(default=None, description="Ignored: saving adds the next version")

    def definition(self) -> dict[str, object]:
        """The stored form the service checks (without the note and version)."""
        return self.model_dump(exclude={"note", "version"})


class MeasureOut(BaseModel):
    """A measure of the catalog in force."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    zh: str
    en: str
    dataset: str
    aggregate: str
    column: str | None
    where: str | None
    stock: bool
    version: int


class TargetOut(BaseModel):
    """A year's target and alert threshold."""

    model_config = ConfigDict(from_attributes=True)

    target: float
    alert: float | None


class IndicatorOut(BaseModel):
    """An indicator of the catalog in force, with its caliber, source and targets."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    zh: str
    en: str
    caliber_zh: str
    caliber_en: str
    source: str
    source_version: str
    unit: str
    direction: str
    numerator: str | None
    denominator: str | None
    scale: float
    growth_of: str | None
    grains: list[str]
    targets: dict[str, TargetOut]
    target_tiers: list[str] | None = None
    min_denominator: float | None = None
    version: int


class CatalogOut(BaseModel):
    """The catalog in force: its measures and indicators, in catalog order."""

    measures: list[MeasureOut]
    indicators: list[IndicatorOut]


class CatalogVersionOut(BaseModel):
    """One version of an indicator or measure as it was saved (or shipped: saved_at empty)."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    code: str
    version: int
    definition: dict[str, object]
    note: str
    saved_by: str
    saved_at: datetime | None


class IndicatorDetailOut(BaseModel):
    """An indicator with the measures its value is made of and every version of it."""

    indicator: IndicatorOut
    measures: list[MeasureOut]
    versions: list[CatalogVersionOut]


class ProblemOut(BaseModel):
    """One problem of a definition: the field, and what is wrong, in both languages."""

    model_config = ConfigDict(from_attributes=True)

    field: str
    message: str
    message_zh: str


class CheckOut(BaseModel):
    """A dry-run check of a definition: whether it could be saved, and why not."""

    ok: bool
    problems: list[ProblemOut]


class RecomputeIn(BaseModel):
    """Which engine computes the catalog (Spark needs the optional extra)."""

    model_config = ConfigDict(extra="forbid")

    engine: str = Field(default="duckdb", pattern="^(duckdb|spark)$")


class RecomputeOut(BaseModel):
    """What a recomputation produced."""

    model_config = ConfigDict(from_attributes=True)

    rows: int
    engine: str
    seconds: float
    computed_at: datetime
