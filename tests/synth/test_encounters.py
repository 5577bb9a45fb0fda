"""A year of visits whose indicators match the model county's report."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests.synth.helpers import YEAR, Built
from yigongti.clinical.models import Encounter, FeeLine
from yigongti.kernel import local
from yigongti.registry.codes import PRIMARY_KINDS, icd10
from yigongti.registry.models import Department, Institution, Practitioner


def _visits_by_kind(session: Session) -> list[tuple[str, str, int]]:
    query = select(Encounter.kind, Institution.kind, Encounter.total_fen).join(
        Institution, Institution.id == Encounter.institution_id
    )
    return [tuple(row) for row in session.execute(query)]


def test_primary_care_visit_share_is_about_two_thirds(county: Built) -> None:
    with Session(county.engine) as session:
        visits = [(k, i) for k, i, _ in _visits_by_kind(session) if k != "inpatient"]
    share = sum(i in PRIMARY_KINDS for _, i in visits) / len(visits)
    assert 0.60 <= share <= 0.70
    assert abs(share - county.summary.primary_care_share) < 1e-9


def test_drug_share_is_about_28_percent(county: Built) -> None:
    with Session(county.engine) as session:
        revenue = dict(
            session.execute(
                select(FeeLine.category, func.sum(FeeLine.amount_fen)).group_by(FeeLine.category)
            ).all()
        )
    share = revenue["drug"] / sum(revenue.values())
    assert 0.25 <= share <= 0.31
    assert abs(share - county.summary.drug_share) < 1e-9


def test_average_costs_fall_with_the_tier(county: Built) -> None:
    totals: dict[tuple[str, str], list[int]] = defaultdict(list)
    with Session(county.engine) as session:
        for kind, inst_kind, fen in _visits_by_kind(session):
            tier = {"county_hospital": "county", "private_hospital": "county"}.get(
                inst_kind, "village" if inst_kind == "village_clinic" else "township"
            )
            totals[(kind, tier)].append(fen)
    mean = {key: sum(v) / len(v) / 100 for key, v in totals.items()}
    assert 240 <= mean[("outpatient", "county")] <= 320
    assert 95 <= mean[("outpatient", "township")] <= 135
    assert 35 <= mean[("outpatient", "village")] <= 65
    assert 7_500 <= mean[("inpatient", "county")] <= 10_500
    assert 2_300 <= mean[("inpatient", "township")] <= 3_700


def test_each_encounter_total_is_the_sum_of_its_fee_lines(county: Built) -> None:
    with Session(county.engine) as session:
        sums = dict(
            session.execute(
                select(FeeLine.encounter_id, func.sum(FeeLine.amount_fen)).group_by(
                    FeeLine.encounter_id
                )
            ).all()
        )
        totals = dict(session.execute(select(Encounter.id, Encounter.total_fen)).all())
        beds = session.execute(
            select(Encounter.kind).join(FeeLine).where(FeeLine.category == "bed")
        ).scalars()
        assert set(beds) == {"inpatient"}
    assert totals == sums
    assert len(totals) == county.summary.encounters


def test_visits_per_resident_and_admissions_are_realistic(county: Built) -> None:
    with Session(county.engine) as session:
        kinds = Counter(session.scalars(select(Encounter.kind)))
    residents = county.summary.residents
    assert 3.5 <= kinds["outpatient"] / residents <= 4.6
    assert 0.2 <= kinds["emergency"] / residents <= 0.4
    assert 0.11 <= kinds["inpatient"] / residents <= 0.16


def test_outpatients_come_in_clinic_hours_of_the_year_with_a_monday_peak(county: Built) -> None:
    with Session(county.engine) as session:
        starts = [local(s) for s in session.scalars(select(Encounter.started_at))]
        outpatient = [
            local(s)
            for s in session.scalars(
                select(Encounter.started_at).where(Encounter.kind == "outpatient")
            )
        ]
    assert all(s.year == YEAR for s in starts)
    assert all(8 <= s.hour < 17 for s in outpatient)
    weekdays = Counter(s.weekday() for s in outpatient)
    assert weekdays[0] == max(weekdays.values()) and weekdays[6] == min(weekdays.values())


def test_encounters_name_a_department_and_practitioner_of_their_institution(
    county: Built,
) -> None:
    codes = set(icd10())
    with Session(county.engine) as session:
        query = (
            select(Encounter, Department, Practitioner)
            .join(Department, Department.id == Encounter.department_id)
            .join(Practitioner, Practitioner.id == Encounter.practitioner_id)
            .limit(2_000)
        )
        rows = session.execute(query).all()
        assert len(rows) == 2_000
        for encounter, department, practitioner in rows:
            assert department.institution_id == encounter.institution_id
            assert practitioner.institution_id == encounter.institution_id
            assert encounter.diagnosis_code in codes
            assert encounter.started_at.tzinfo is not None
            assert encounter.started_at < encounter.ended_at
            assert encounter.started_at > datetime(YEAR - 1, 12, 31, tzinfo=UTC)


def test_bulk_rows_keep_foreign_keys_and_indexes(county: Built) -> None:
    with county.engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        indexes = set(
            connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'index'")
            ).scalars()
        )
    assert {
        "ix_encounters_resident_id",
        "ix_fee_lines_encounter_id",
        "ix_residents_name",
    } <= indexes
