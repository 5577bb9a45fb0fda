"""Reports through the service: units named from the registry, who may read which report,
and the errors before anything is computed or for a unit that does not exist."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pyarrow as pa
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.analytics.test_reports import results
from tests.support import Places, actor, places
from yigongti import analytics
from yigongti.analytics.catalog.model import builtin_catalog
from yigongti.analytics.reports import Report
from yigongti.db import unit_of_work
from yigongti.kernel import Conflict, Forbidden, Invalid, NotFound
from yigongti.registry.models import Institution

COUNTY_NAME = "云岭县"


def figures_of(at: Places) -> analytics.Figures:
    """A month, a quarter and a year of drug shares at the center, the lead hospital, their
    community and the county."""
    center, lead = str(at.center.id), str(at.lead.id)
    community, county = str(at.community.id), at.center.county_code
    table = results(
        ("drug_share", "institution", center, "2026-03", 35.0, None, None),
        ("drug_share", "institution", lead, "2026-03", 25.0, None, None),
        ("drug_share", "community", community, "2026-03", 29.0, None, None),
        ("drug_share", "county", county, "2026-03", 28.0, None, None),
        ("drug_share", "county", county, "2026Q1", 28.5, None, None),
        ("drug_share", "institution", center, "2026", 31.5, None, None),
        ("drug_share", "institution", lead, "2026", 28.0, None, None),
    )
    return analytics.Figures(table, builtin_catalog(), county, COUNTY_NAME)


def _drug(report: Report) -> float | None:
    return next(r.value for s in report.sections for r in s.rows if r.code == "drug_share")


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with unit_of_work(engine) as s:
        yield s


def test_the_county_report_ranks_the_countys_institutions_by_their_registry_names(
    session: Session,
) -> None:
    at = places(session)
    analyst = actor(session, "bureau_analyst")
    report = analytics.report_for(
        session, analyst, figures_of(at), "monthly", "county", None, "2026-03"
    )
    assert report.unit.name == COUNTY_NAME and _drug(report) == 28.0
    assert report.ranking is not None
    assert [r.name for r in report.ranking.rows] == [at.lead.name, at.center.name]


def test_a_community_report_ranks_only_its_members(session: Session) -> None:
    at = places(session)
    outsider = session.scalar(
        select(Institution)
        .where(Institution.community_id.is_not(None), Institution.community_id != at.community.id)
        .order_by(Institution.code)
        .limit(1)
    )
    assert outsider is not None, "the test county has a second medical community"
    base = figures_of(at)
    extra = results(("drug_share", "institution", str(outsider.id), "2026-03", 20.0, None, None))
    figures = replace(base, results=pa.concat_tables([base.results, extra]))
    analyst = actor(session, "bureau_analyst")
    report = analytics.report_for(
        session, analyst, figures, "monthly", "community", str(at.community.id), "2026-03"
    )
    assert report.unit.name == at.community.name and _drug(report) == 29.0
    assert report.ranking is not None
    assert {r.unit_id for r in report.ranking.rows} == {str(at.center.id), str(at.lead.id)}
    county = analytics.report_for(session, analyst, figures, "monthly", "county", None, "2026-03")
    assert county.ranking is not None and county.ranking.rows[0].unit_id == str(outsider.id)


def test_a_township_doctor_reads_his_own_institutions_report_only(session: Session) -> None:
    at = places(session)
    doctor = actor(session, "township_doctor")
    figures = figures_of(at)
    own = analytics.report_for(session, doctor, figures, "monthly", "institution", None, "2026-03")
    assert own.unit.name == at.center.name and _drug(own) == 35.0
    for grain, unit_id in (
        ("institution", str(at.lead.id)),
        ("community", str(at.community.id)),
        ("county", None),
    ):
        with pytest.raises(Forbidden):
            analytics.report_for(session, doctor, figures, "monthly", grain, unit_id, "2026-03")
    with pytest.raises(Forbidden):
        analytics.assessment_for(session, doctor, figures, 2026)


def test_roles_with_neither_aggregate_nor_alert_read_get_no_report(session: Session) -> None:
    figures = figures_of(places(session))
    for role in ("cdc_officer", "resident", "window_clerk"):
        with pytest.raises(Forbidden):
            analytics.report_for(
                session, actor(session, role), figures, "monthly", "county", None, "2026-03"
            )


def test_before_anything_is_computed_a_report_is_a_conflict(session: Session) -> None:
    at = places(session)
    empty = analytics.Figures(None, builtin_catalog(), at.center.county_code, COUNTY_NAME)
    analyst = actor(session, "bureau_analyst")
    with pytest.raises(Conflict) as raised:
        analytics.report_for(session, analyst, empty, "monthly", "county", None, "2026-03")
    assert "尚未计算" in raised.value.zh
    with pytest.raises(Conflict):
        analytics.assessment_for(session, analyst, empty, 2026)


def test_unknown_units_are_not_found_and_malformed_ones_invalid(session: Session) -> None:
    figures = figures_of(places(session))
    analyst = actor(session, "bureau_analyst")
    cases = [
        ("institution", str(uuid.uuid4()), NotFound),
        ("community", str(uuid.uuid4()), NotFound),
        ("county", "110101", NotFound),
        ("institution", "not-a-uuid", Invalid),
        ("town", None, Invalid),
    ]
    for grain, unit_id, error in cases:
        with pytest.raises(error):
            analytics.report_for(session, analyst, figures, "monthly", grain, unit_id, "2026-03")


def test_a_period_without_values_for_the_unit_is_not_found(session: Session) -> None:
    figures = figures_of(places(session))
    analyst = actor(session, "bureau_analyst")
    with pytest.raises(NotFound):
        analytics.report_for(session, analyst, figures, "monthly", "county", None, "2026-04")
    bulletin = analytics.report_for(
        session, analyst, figures, "quarterly", "county", None, "2026Q1"
    )
    assert _drug(bulletin) == 28.5


def test_the_assessment_names_institutions_and_ranks_them(session: Session) -> None:
    at = places(session)
    assessment = analytics.assessment_for(
        session, actor(session, "bureau_analyst"), figures_of(at), 2026
    )
    assert [(r.name, r.rank) for r in assessment.rows] == [(at.lead.name, 1), (at.center.name, 2)]
    assert assessment.title == "云岭县2026年度机构考核"


def test_files_are_named_after_the_unit_and_period(session: Session) -> None:
    at = places(session)
    analyst = actor(session, "bureau_analyst")
    report = analytics.report_for(
        session, analyst, figures_of(at), "monthly", "county", None, "2026-03"
    )
    file = analytics.report_file(report, "xlsx")
    assert file.filename == "云岭县-2026-03-运行监测月报.xlsx"
    assert file.ascii_filename == "monthly-county-2026-03.xlsx"
    assert file.content[:2] == b"PK"  # a zip: the xlsx container
    with pytest.raises(Invalid):
        analytics.report_file(report, "docx")
