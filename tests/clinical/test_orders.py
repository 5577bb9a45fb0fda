"""Immunizations, prescriptions, service requests, encounters and conditions of the shared
record: checked, scoped, audited; the long-prescription rule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.support import (
    actor,
    audit_rows_after,
    count_rows,
    max_seq,
    places,
    resident_outside,
)
from yigongti import clinical, registry
from yigongti.clinical import (
    NewCondition,
    NewEncounter,
    NewImmunization,
    NewMedicationRequest,
    NewServiceRequest,
)
from yigongti.db import unit_of_work
from yigongti.kernel import Conflict, Invalid, NotFound, now
from yigongti.registry.models import Resident
from yigongti.synth import builders


def _child(session: Session) -> Resident:
    """A toddler born in the demo village clinic's village about 13 months ago."""
    village = places(session).village
    return builders.make_resident(session, village, birth_date=date.today() - timedelta(days=400))


def test_a_dose_is_recorded_read_and_searched_by_vaccine(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, child = actor(session, "village_doctor"), _child(session)
        start = max_seq(session)
        dose = clinical.record_immunization(
            session,
            doctor,
            NewImmunization(child.id, "HepB", 1, child.birth_date, lot_number="B2025011"),
        )
        assert clinical.get_immunization(session, doctor, dose.id) == dose
        total, found = clinical.search_immunizations(
            session, doctor, resident_id=child.id, code="HepB"
        )
    with unit_of_work(engine) as session:
        rows = audit_rows_after(session, start)
    assert dose.status == "completed" and dose.lot_number == "B2025011"
    assert dose.id in {d.id for d in found} and total >= 1
    assert [(r.action, r.person_id) for r in rows] == [
        ("create", child.id),
        ("read", child.id),
        ("search", child.id),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vaccine_code": "XYZ"}, "vaccine_code"),
        ({"dose_number": 4}, "dose_number"),
        ({"days_before_birth": 1}, "occurred_on"),
        ({"status": "not-done"}, "status_reason"),
    ],
)
def test_bad_doses_are_refused_naming_the_field(engine: Engine, change: dict, field: str) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        doctor, child = actor(session, "village_doctor"), _child(session)
        before = change.get("days_before_birth", 0)
        values = {"vaccine_code": "HepB", "dose_number": 1, "status": "completed", **change}
        new = NewImmunization(
            child.id,
            values["vaccine_code"],
            values["dose_number"],
            child.birth_date - timedelta(days=before),
            status=values["status"],
        )
        clinical.record_immunization(session, doctor, new)
    assert [f.field for f in refused.value.fields] == [field]
    assert count_rows(engine, "immunizations") == 0


def test_a_dose_not_given_says_why(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, child = actor(session, "village_doctor"), _child(session)
        new = NewImmunization(
            child.id, "MMR", 1, date.today(), status="not-done", status_reason="MEDPREC"
        )
        skipped = clinical.record_immunization(session, doctor, new)
    assert (skipped.status, skipped.status_reason) == ("not-done", "MEDPREC")


def _prescription(resident_id: object, days: int, code: str = "C08CA01") -> NewMedicationRequest:
    return NewMedicationRequest(
        resident_id=resident_id,  # type: ignore[arg-type]
        medication_code=code,
        dosage_text="每日一次，每次5mg",
        quantity=days,
        days_supply=days,
        authored_at=now(),
    )


def test_an_ordinary_prescription_is_not_a_long_one(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        made = clinical.record_medication_request(
            session, doctor, _prescription(here.resident.id, 14)
        )
    assert (made.long_prescription, made.status, made.medication_name) == (
        False,
        "active",
        "氨氯地平",
    )
    assert made.quantity_unit == "tablet" and made.prescriber_id == doctor.practitioner_id


def test_a_long_prescription_needs_the_condition_the_medicine_treats(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        here = places(session)
        patient = builders.make_resident(session, here.village, birth_date=date(1955, 3, 1))
        patient_id = patient.id
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        clinical.record_medication_request(
            session, actor(session, "village_doctor"), _prescription(patient_id, 60)
        )
    assert refused.value.fields[0].field == "days_supply" and "I10" in refused.value.en
    assert count_rows(engine, "medication_requests") == 0
    with unit_of_work(engine) as session:
        builders.add_condition(session, session.get(Resident, patient_id), "I10")
        made = clinical.record_medication_request(
            session, actor(session, "village_doctor"), _prescription(patient_id, 84)
        )
    assert made.long_prescription and made.days_supply == 84


def test_no_prescription_is_longer_than_twelve_weeks(engine: Engine) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        builders.add_condition(session, here.resident, "I10")
        clinical.record_medication_request(session, doctor, _prescription(here.resident.id, 85))
    assert refused.value.fields[0].field == "days_supply"


def test_an_unknown_medicine_is_refused(engine: Engine) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        clinical.record_medication_request(
            session, doctor, _prescription(here.resident.id, 7, code="N02BE01X")
        )
    assert refused.value.fields[0].field == "medication_code"


def test_prescriptions_are_searched_by_long_prescription_and_stopped(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        builders.add_medication_request(session, here.resident, here.clinic, days_supply=28)
        long = builders.add_medication_request(session, here.resident, here.clinic, days_supply=56)
        total, found = clinical.search_medication_requests(
            session, doctor, resident_id=here.resident.id, long_prescription=True
        )
        stopped = clinical.update_medication_request(session, doctor, long.id, status="stopped")
    assert total == 1 and found[0].id == long.id
    assert stopped.status == "stopped"


def _referral(resident_id: object, to: object) -> NewServiceRequest:
    return NewServiceRequest(
        resident_id=resident_id,  # type: ignore[arg-type]
        category="referral",
        authored_at=now() - timedelta(hours=1),
        code="03",
        text="血压控制不佳，转上级医院心内科",
        reason_code="I10",
        performer_institution_id=to,  # type: ignore[arg-type]
    )


def test_an_up_referral_is_requested_then_completed_by_the_encounter_it_led_to(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        here = places(session)
        center, lead, who = here.center.id, here.lead.id, here.resident.id
        referral = clinical.record_service_request(
            session, actor(session, "township_doctor"), _referral(who, lead)
        )
        county = actor(session, "county_doctor")
        visit = clinical.record_encounter(
            session,
            county,
            NewEncounter(who, "outpatient", now(), "I10", referral="up", referred_from_id=center),
        )
        done = clinical.update_service_request(
            session, county, referral.id, status="completed", fulfilled_by_id=visit.id
        )
        with pytest.raises(Conflict):
            clinical.update_service_request(session, county, referral.id, status="revoked")
        active = clinical.search_service_requests(
            session, county, resident_id=who, category="referral", status="active"
        )
    assert referral.requester_institution_id == center and referral.intent == "order"
    assert (done.status, done.fulfilled_by_id) == ("completed", visit.id)
    assert visit.status == "in-progress" and visit.institution_id == lead
    assert active == (0, [])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"performer_institution_id": None}, "performer_institution_id"),
        ({"reason_code": "X99"}, "reason_code"),
        ({"code": "zz"}, "code"),
        ({"intent": "wish"}, "intent"),
    ],
)
def test_bad_service_requests_are_refused_naming_the_field(
    engine: Engine, change: dict, field: str
) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        here = places(session)
        request = _referral(here.resident.id, here.lead.id)
        new = NewServiceRequest(**{**request.__dict__, **change})
        clinical.record_service_request(session, actor(session, "township_doctor"), new)
    assert [f.field for f in refused.value.fields] == [field]
    assert count_rows(engine, "service_requests") == 0


def test_encounters_and_conditions_are_recorded_and_searched_in_scope(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        started = now() - timedelta(hours=2)
        visit = clinical.record_encounter(
            session,
            doctor,
            NewEncounter(here.resident.id, "outpatient", started, "J06.900", ended_at=now()),
        )
        problem = clinical.record_condition(
            session, doctor, NewCondition(here.resident.id, "E11.900", date(2024, 5, 1))
        )
        visits = clinical.search_encounters(
            session, doctor, resident_id=here.resident.id, status="finished", date_from=started
        )
        problems = clinical.search_conditions(
            session, doctor, resident_id=here.resident.id, code="E11.900"
        )
        stranger = resident_outside(session, doctor)
        assert clinical.search_conditions(session, doctor, resident_id=stranger.id) == (0, [])
    assert visit.status == "finished" and visit.institution_id == here.clinic.id
    assert visit in visits[1]
    assert problems[1] == [problem]
    with unit_of_work(engine) as session:
        assert clinical.get_condition(session, actor(session, "resident"), problem.id) == problem


def test_an_unknown_diagnosis_is_refused(engine: Engine) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        clinical.record_encounter(
            session, doctor, NewEncounter(here.resident.id, "outpatient", now(), "J06.9X")
        )
    assert refused.value.fields[0].field == "diagnosis_code"


def test_a_doctor_records_for_his_own_institution_only(engine: Engine) -> None:
    with pytest.raises(Invalid) as refused, unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        clinical.record_condition(
            session, doctor, NewCondition(here.resident.id, "I10", date(2024, 1, 1), here.lead.id)
        )
    assert refused.value.fields[0].field == "institution_id"


def test_a_resident_is_found_by_his_e_health_card_number(engine: Engine) -> None:
    card = "ab" * 32
    with unit_of_work(engine) as session:
        here = places(session)
        session.get(Resident, here.resident.id).ehealth_card_no = card.upper()
        session.flush()
        found = registry.resident_by_identifier(session, registry.EHEALTH_CARD_NO, card)
        by_number = registry.resident_by_identifier(
            session, registry.ID_NUMBER, here.resident.id_number
        )
        total, listed = registry.search_residents(session, actor(session, "village_doctor"), card)
        with pytest.raises(NotFound):
            registry.resident_by_identifier(session, registry.EHEALTH_CARD_NO, "cd" * 32)
        with pytest.raises(Invalid):
            registry.resident_by_identifier(session, registry.EHEALTH_CARD_NO, "12345")
    assert found.id == by_number.id == here.resident.id
    assert total == 1 and listed[0].id == here.resident.id


def test_another_villages_immunizations_and_prescriptions_are_not_found(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        doctor, here = actor(session, "village_doctor"), places(session)
        stranger = resident_outside(session, doctor)
        dose = builders.add_immunization(session, stranger, here.lead)
        drug = builders.add_medication_request(session, stranger, here.lead)
    with unit_of_work(engine) as session:
        doctor = actor(session, "village_doctor")
        with pytest.raises(NotFound):
            clinical.get_immunization(session, doctor, dose.id)
        with pytest.raises(NotFound):
            clinical.get_medication_request(session, doctor, drug.id)
        _, doses = clinical.search_immunizations(session, doctor, limit=100)
        assert dose.id not in {d.id for d in doses}
