"""The master patient index's review queue in the browser, on a 390-px phone."""

from __future__ import annotations

import uuid
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import Engine, select

from tests.e2e.support import MASKED_ID, AsRole
from tests.support import actor, places
from yigongti.db import unit_of_work
from yigongti.interop import empi
from yigongti.interop.empi.models import SourceRecord
from yigongti.registry.models import Resident


def _uncertain_record(engine: Engine) -> tuple[str, str]:
    """A record of a resident sent without ID or phone, birth date a day off: it goes to review."""
    with unit_of_work(engine) as session:
        at = places(session)
        resident = session.scalar(
            select(Resident)
            .where(Resident.residence_village_id == at.village.id, Resident.id_number.is_not(None))
            .order_by(Resident.id_number)
            .limit(1)
        )
        assert resident is not None
        day = resident.birth_date
        record = empi.PatientRecord(
            institution_id=at.center.id,
            mrn="E2E-REVIEW-1",
            name=resident.name,
            sex=resident.sex,
            birth_date=day + timedelta(days=10 if day.day < 19 else -10),  # one digit off
            id_number=None,
            phone=None,
            address=None,
        )
        outcome = empi.link_record(session, actor(session, "window_clerk"), record)
        assert outcome.decision == "review", outcome
        return str(outcome.source_record_id), resident.name


def test_a_clerk_on_a_phone_sees_both_records_masked_and_decides_same_person(
    as_role: AsRole, demo_engine: Engine
) -> None:
    source_id, name = _uncertain_record(demo_engine)
    page = as_role("window_clerk", 390, 844, path="/empi/reviews")
    card = page.get_by_test_id("review-card").first
    expect(card).to_be_visible()
    expect(card.get_by_text(name).first).to_be_visible()
    expect(card.get_by_text(MASKED_ID)).to_have_count(1)  # the candidate's, masked
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    card.get_by_test_id("review-same").click()
    expect(page.get_by_test_id("empty")).to_be_visible()
    with unit_of_work(demo_engine) as session:
        source = session.get(SourceRecord, uuid.UUID(source_id))
        assert source is not None and source.link_method == "review"


def test_the_review_queue_is_in_the_clerks_menu_but_not_the_village_doctors(
    as_role: AsRole,
) -> None:
    clerk = as_role("window_clerk")
    expect(clerk.get_by_test_id("nav").get_by_text("患者主索引审核")).to_have_count(1)
    doctor = as_role("village_doctor")
    expect(doctor.get_by_test_id("nav").get_by_text("患者主索引审核")).to_have_count(0)
