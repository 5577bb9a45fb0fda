"""Observations and diagnostic reports of the shared record: recorded with checked codes and
units, interpreted, kept in scope and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.support import actor, audit_rows_after, count_rows, max_seq, places, resident_outside
from yigongti import clinical
from yigongti.clinical import NewDiagnosticReport, NewObservation, ObservationComponent
from yigongti.db import unit_of_work
from yigongti.kernel import Conflict, Forbidden, Invalid, NotFound, now
from yigongti.synth import builders

REASON = "慢病管理质量抽查"


def _bp(
    resident_id: object, systolic: float, diastolic: float, unit: str = "mm[Hg]"
) -> NewObservation:
    return NewObservation(
        resident_id=resident_id,  # type: ignore[arg-type]
        code="85354-9",
        effective_at=now() - timedelta(hours=1),
        components=(
            ObservationComponent("8480-6", systolic, unit),
            ObservationComponent("8462-4", diastolic, unit),
        ),
    )


def _glucose(resident_id: object, value: float, unit: str = "mmol/L") -> NewObservation:
    return NewObservation(
        resident_id=resident_id,  # type: ignore[arg-type]
        code="14771-0",
        effective_at=now() - timedelta(hours=2),
        value=value,
        unit=unit,
    )


def test_a_village_doctor_records_a_blood_pressure_read_back_as_high(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        start = max_seq(session)
        recorded = clinical.record_observation(session, doctor, _bp(here.resident.id, 152, 88))
        read = clinical.get_observation(session, doctor, recorded.id)
    with unit_of_work(engine) as session:
        rows = audit_rows_after(session, start)
    assert read == recorded
    assert read.category == "vital-signs" and read.code_system == "http://loinc.org"
    assert read.institution_id == here.clinic.id and read.practitioner_id == doctor.practitioner_id
    systolic, diastolic = read.components
    assert (systolic.code, systolic.value, systolic.interpretation) == ("8480-6", 152, "H")
    assert (diastolic.code, diastolic.interpretation) == ("8462-4", "N")
    assert read.interpretation == "H" and not read.critical
    assert [(r.action, r.object_type, r.person_id) for r in rows] == [
        ("create", "observation", here.resident.id),
        ("read", "observation", here.resident.id),
    ]


def test_a_systolic_pressure_of_180_is_a_critical_value(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        reading = clinical.record_observation(session, doctor, _bp(here.resident.id, 182, 96))
    assert reading.critical and reading.interpretation == "H"


def test_a_fasting_glucose_is_a_number_in_mmol_per_litre(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        low = clinical.record_observation(session, doctor, _glucose(here.resident.id, 3.2))
        usual = clinical.record_observation(session, doctor, _glucose(here.resident.id, 5.4))
    assert (low.category, low.value, low.unit) == ("laboratory", 3.2, "mmol/L")
    assert (low.interpretation, low.critical) == ("L", True)
    assert (usual.interpretation, usual.critical) == ("N", False)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (_glucose(None, 5.4, unit="mg/dL"), "unit"),
        (_glucose(None, 540), "value"),
        (_bp(None, 150, 90, unit="kPa"), "components"),
        (NewObservation(None, "99999-9", now(), value=1, unit="1"), "code"),  # type: ignore[arg-type]
        (
            NewObservation(None, "14771-0", now(), value=5, unit="mmol/L", category="exam"),
            "category",
        ),  # type: ignore[arg-type]
        (
            NewObservation(None, "14771-0", now() + timedelta(days=1), value=5, unit="mmol/L"),
            "effective_at",
        ),  # type: ignore[arg-type]
    ],
    ids=["unit", "implausible", "component-unit", "code", "category", "future"],
)
def test_bad_codes_units_and_values_are_refused_naming_the_field_and_nothing_is_written(
    engine: Engine, bad: NewObservation, field: str
) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        clinical.record_observation(
            session, doctor, type(bad)(**{**bad.__dict__, "resident_id": here.resident.id})
        )
    assert [f.field for f in refused.value.fields] == [field]
    assert count_rows(engine, "observations") == 0


def test_a_blood_pressure_needs_both_its_components(engine: Engine) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        half = NewObservation(
            here.resident.id,
            "85354-9",
            now(),
            components=(ObservationComponent("8480-6", 130, "mm[Hg]"),),
        )
        clinical.record_observation(session, doctor, half)
    assert refused.value.fields[0].field == "components"


def test_a_village_doctor_does_not_see_another_villages_observations(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        stranger = resident_outside(session, doctor)
        theirs = builders.add_observation(session, stranger, here.lead)
        mine = builders.add_observation(session, here.resident, here.clinic)
    with unit_of_work(engine) as session:
        doctor = actor(session, "village_doctor")
        with pytest.raises(NotFound):
            clinical.get_observation(session, doctor, theirs.id)
        _, found = clinical.search_observations(session, doctor, limit=100)
        assert mine.id in {o.id for o in found} and theirs.id not in {o.id for o in found}
        assert clinical.search_observations(session, doctor, resident_id=stranger.id) == (0, [])
        with pytest.raises(Forbidden):
            clinical.record_observation(session, actor(session, "resident"), _bp(stranger.id, 1, 1))
        with pytest.raises(NotFound):
            clinical.record_observation(session, doctor, _bp(stranger.id, 130, 80))


def test_search_filters_sorts_pages_and_is_audited_once(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        for days in (40, 20, 1):
            builders.add_observation(
                session, here.resident, here.clinic, effective_at=now() - timedelta(days=days)
            )
        builders.add_observation(
            session, here.resident, here.clinic, code="14771-0", value=6.0, unit="mmol/L"
        )
        start = max_seq(session)
        total, page = clinical.search_observations(
            session,
            doctor,
            resident_id=here.resident.id,
            code="85354-9",
            category="vital-signs",
            date_from=(now() - timedelta(days=30)).date(),
            sort="date",
            limit=1,
        )
    with unit_of_work(engine) as session:
        rows = audit_rows_after(session, start)
        everything = clinical.search_observations(
            session, actor(session, "village_doctor"), resident_id=here.resident.id
        )
    assert total == 2 and len(page) == 1
    assert page[0].effective_at < now() - timedelta(days=10)  # oldest first
    assert everything[0] == 4
    assert [(r.action, r.object_type, r.person_id) for r in rows] == [
        ("search", "observation", here.resident.id)
    ]
    assert "hits=2" in (rows[0].detail or "")


def test_an_observation_entered_in_error_stays_so(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        reading = clinical.record_observation(session, doctor, _bp(here.resident.id, 130, 80))
        wrong = clinical.update_observation(session, doctor, reading.id, status="entered-in-error")
        assert wrong.status == "entered-in-error"
        with pytest.raises(Conflict):
            clinical.update_observation(session, doctor, reading.id, status="final")
        with pytest.raises(Invalid):
            clinical.update_observation(session, doctor, reading.id, status="deleted")


def test_a_resident_sees_his_own_observations(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        here = places(session)
        own = builders.add_observation(session, here.resident, here.clinic)
    with unit_of_work(engine) as session:
        himself = actor(session, "resident")
        assert clinical.get_observation(session, himself, own.id).id == own.id
        total, found = clinical.search_observations(session, himself)
    assert total == 1 and found[0].id == own.id


def test_a_bureau_analyst_reads_observations_only_with_a_reason(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        here = places(session)
        own = builders.add_observation(session, here.resident, here.clinic)
    with unit_of_work(engine) as session:
        analyst = actor(session, "bureau_analyst")
        with pytest.raises(Forbidden):
            clinical.search_observations(session, analyst)
        assert clinical.get_observation(session, analyst, own.id, reason=REASON).id == own.id


def _lab_report(resident_id: object, *results: NewObservation) -> NewDiagnosticReport:
    return NewDiagnosticReport(
        resident_id=resident_id,  # type: ignore[arg-type]
        category="LAB",
        code="24323-8",
        effective_at=now() - timedelta(hours=3),
        conclusion="空腹血糖偏高",
        results=results,
    )


def test_a_lab_report_is_recorded_with_its_results(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "county_doctor"), places(session)
        who = here.resident.id
        report = clinical.record_diagnostic_report(
            session, doctor, _lab_report(who, _glucose(who, 7.8), _glucose(who, 7.9))
        )
        read = clinical.get_diagnostic_report(session, doctor, report.id)
        results = clinical.search_observations(session, doctor, report_id=report.id)
        found = clinical.search_diagnostic_reports(session, doctor, resident_id=who, category="LAB")
    assert read == report and len(read.result_ids) == 2
    assert {o.id for o in results[1]} == set(read.result_ids)
    assert all(o.institution_id == here.lead.id and o.interpretation == "H" for o in results[1])
    assert found == (1, [report])


def test_a_report_with_a_bad_result_is_refused_whole(engine: Engine) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        doctor, here = actor(session, "county_doctor"), places(session)
        who = here.resident.id
        clinical.record_diagnostic_report(
            session, doctor, _lab_report(who, _glucose(who, 7.8), _glucose(who, 7.8, "mg/dL"))
        )
    assert refused.value.fields[0].field == "unit"
    assert count_rows(engine, "diagnostic_reports") == 0
    assert count_rows(engine, "observations") == 0


def test_a_report_code_must_fit_its_category(engine: Engine) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        doctor, here = actor(session, "county_doctor"), places(session)
        wrong = NewDiagnosticReport(here.resident.id, "RAD", "24323-8", now())
        clinical.record_diagnostic_report(session, doctor, wrong)
    assert refused.value.fields[0].field == "code"


def test_a_report_entered_in_error_takes_its_results_with_it(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "county_doctor"), places(session)
        who = here.resident.id
        report = clinical.record_diagnostic_report(
            session, doctor, _lab_report(who, _glucose(who, 6))
        )
        clinical.update_diagnostic_report(session, doctor, report.id, status="entered-in-error")
        result = clinical.get_observation(session, doctor, report.result_ids[0])
    assert result.status == "entered-in-error"
