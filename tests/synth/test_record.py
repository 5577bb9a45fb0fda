"""The synthetic year's clinical record beyond encounters: chronic follow-ups with their
readings and prescriptions, children's immunizations, lab reports, referral requests and
e-health cards."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.synth.helpers import JAN_1, YEAR, Builder, Built, age
from yigongti.clinical.models import (
    Condition,
    DiagnosticReport,
    Encounter,
    Immunization,
    MedicationRequest,
    Observation,
    ServiceRequest,
)
from yigongti.db.migrate import upgrade
from yigongti.registry.models import Institution, Resident
from yigongti.synth import build_county

RESIDENTS = 1_500


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_summary_counts_the_rows_written(county: Built) -> None:
    summary = county.summary
    with Session(county.engine) as session:
        assert summary.observations == _count(session, Observation) > 0
        assert summary.diagnostic_reports == _count(session, DiagnosticReport) > 0
        assert summary.immunizations == _count(session, Immunization) > 0
        assert summary.medication_requests == _count(session, MedicationRequest) > 0
        assert summary.service_requests == _count(session, ServiceRequest) > 0


def test_each_managed_hypertensive_has_four_blood_pressures_one_a_quarter(county: Built) -> None:
    with Session(county.engine) as session:
        managed = session.execute(
            select(Resident.id, Resident.birth_date)
            .join(Condition, Condition.resident_id == Resident.id)
            .where(Condition.code == "I10", Resident.permanent.is_(True))
        ).all()
        readings = Counter(
            session.scalars(select(Observation.resident_id).where(Observation.code == "85354-9"))
        )
        panel = session.scalar(select(Observation).where(Observation.code == "85354-9").limit(1))
    adults = {r for r, born in managed if age(born) >= 35}
    assert adults and set(readings) == adults
    assert set(readings.values()) == {4}
    assert panel is not None and [c["code"] for c in panel.components] == ["8480-6", "8462-4"]
    assert panel.category == "vital-signs" and panel.value is None


def test_blood_pressure_control_is_plausible(county: Built) -> None:
    with Session(county.engine) as session:
        flags = Counter(
            session.scalars(select(Observation.interpretation).where(Observation.code == "85354-9"))
        )
    high = flags["H"] / sum(flags.values())
    assert 0.3 < high < 0.6  # about 40% of follow-ups above target


def test_diabetics_have_a_fasting_glucose_each_quarter(county: Built) -> None:
    with Session(county.engine) as session:
        diabetic = set(
            session.scalars(
                select(Condition.resident_id)
                .join(Resident, Resident.id == Condition.resident_id)
                .where(Condition.code == "E11.900", Resident.permanent.is_(True))
            )
        )
        tests = Counter(
            session.scalars(
                select(Observation.resident_id).where(
                    Observation.code == "14771-0", Observation.report_id.is_(None)
                )
            )
        )
    assert diabetic and set(tests) == diabetic and set(tests.values()) == {4}


def test_long_prescriptions_are_twelve_weeks_for_patients_with_the_condition(
    county: Built,
) -> None:
    with Session(county.engine) as session:
        rows = session.execute(
            select(MedicationRequest.resident_id, MedicationRequest.days_supply).where(
                MedicationRequest.long_prescription.is_(True)
            )
        ).all()
        chronic = set(
            session.scalars(
                select(Condition.resident_id).where(Condition.code.in_(("I10", "E11.900")))
            )
        )
        total = _count(session, MedicationRequest)
    assert rows and {days for _, days in rows} == {84}
    assert {who for who, _ in rows} <= chronic
    assert 0.15 < len(rows) / total < 0.5


def test_young_children_have_their_programme_doses_mostly_on_time(county: Built) -> None:
    year_end = date(YEAR, 12, 31)
    with Session(county.engine) as session:
        toddlers = dict(
            session.execute(
                select(Resident.id, Resident.birth_date).where(
                    Resident.birth_date.between(date(YEAR - 5, 1, 1), date(YEAR - 2, 12, 31))
                )
            ).all()
        )
        doses = session.execute(
            select(Immunization.resident_id, Immunization.vaccine_code, Immunization.occurred_on)
        ).all()
    hepb = Counter(who for who, code, _ in doses if code == "HepB" and who in toddlers)
    complete = sum(1 for who in toddlers if hepb[who] == 3)
    assert toddlers and complete / len(toddlers) > 0.85
    assert all(toddlers.get(who, on) <= on <= year_end for who, _, on in doses)
    bcg_delay = [
        (on - toddlers[who]).days for who, code, on in doses if code == "BCG" and who in toddlers
    ]
    late = sum(1 for d in bcg_delay if d > 14) / len(bcg_delay)
    assert 0.05 < late < 0.3


def test_every_up_referred_encounter_has_the_referral_request_it_fulfilled(county: Built) -> None:
    with Session(county.engine) as session:
        up = session.execute(
            select(Encounter.id, Encounter.referred_from_id, Encounter.institution_id).where(
                Encounter.referral == "up"
            )
        ).all()
        requests = {
            r.fulfilled_by_id: r
            for r in session.scalars(
                select(ServiceRequest).where(ServiceRequest.category == "referral")
            )
        }
        started = dict(session.execute(select(Encounter.id, Encounter.started_at)).all())
    assert up and len(requests) == len(up)
    for encounter, sent_from, seen_at in up:
        request = requests[encounter]
        assert request.requester_institution_id == sent_from
        assert request.performer_institution_id == seen_at
        assert request.status == "completed" and request.intent == "order"
        assert started[encounter] - timedelta(days=6) < request.authored_at < started[encounter]


def test_lab_reports_follow_county_hospital_encounters_with_their_results(county: Built) -> None:
    with Session(county.engine) as session:
        reports = session.execute(
            select(DiagnosticReport, Encounter, Institution.kind)
            .join(Encounter, Encounter.id == DiagnosticReport.encounter_id)
            .join(Institution, Institution.id == Encounter.institution_id)
        ).all()
        results = Counter(
            session.scalars(select(Observation.report_id).where(Observation.report_id.is_not(None)))
        )
        owners = dict(
            session.execute(
                select(Observation.report_id, Observation.resident_id).where(
                    Observation.report_id.is_not(None)
                )
            ).all()
        )
    assert reports and {kind for _, _, kind in reports} == {"county_hospital"}
    for report, encounter, _ in reports:
        assert results[report.id] == 3
        assert owners[report.id] == report.resident_id == encounter.resident_id
        assert encounter.started_at < report.effective_at < report.issued_at


def test_nine_in_ten_residents_have_an_e_health_card(county: Built) -> None:
    with Session(county.engine) as session:
        cards = list(session.scalars(select(Resident.ehealth_card_no)))
    held = [c for c in cards if c is not None]
    assert 0.85 < len(held) / len(cards) < 0.95
    assert len(set(held)) == len(held)
    assert all(re.fullmatch(r"[0-9A-F]{64}", c) for c in held)


def _record_fingerprint(engine: Engine) -> str:
    """A hash of the record tables' rows that matter, each table in id order."""
    digest = hashlib.sha256()
    queries = (
        select(Observation.id, Observation.code, Observation.value, Observation.components),
        select(Immunization.id, Immunization.vaccine_code, Immunization.occurred_on),
        select(
            MedicationRequest.id, MedicationRequest.medication_code, MedicationRequest.days_supply
        ),
        select(ServiceRequest.id, ServiceRequest.fulfilled_by_id),
        select(DiagnosticReport.id, DiagnosticReport.code, DiagnosticReport.conclusion),
        select(Resident.id, Resident.ehealth_card_no),
    )
    with Session(engine) as session:
        for query in queries:
            key = query.selected_columns[0]
            for row in session.execute(query.order_by(key)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_every_backend_builds_the_same_record(build: Builder, empty_engine: Engine) -> None:
    upgrade(empty_engine)
    build_county(empty_engine, residents=RESIDENTS, seed=11, encounters=True)
    reference = build(residents=RESIDENTS, seed=11, encounters=True)
    assert _record_fingerprint(empty_engine) == _record_fingerprint(reference.engine)


def test_the_record_is_dated_within_the_year_or_before(county: Built) -> None:
    with Session(county.engine) as session:
        latest = session.scalar(select(func.max(Observation.effective_at)))
        earliest = session.scalar(select(func.min(Observation.effective_at)))
    assert latest is not None and earliest is not None
    assert earliest.date() >= JAN_1 and latest.date() <= date(YEAR, 12, 31)
