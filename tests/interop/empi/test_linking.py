"""Linking incoming records: on the ID number, probabilistically, to review, or to a new
resident; re-sending updates; bad input is refused with nothing written."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.interop.empi.conftest import record_of, stranger
from tests.support import actor, count_rows, new_id_number, places
from yigongti.db import unit_of_work
from yigongti.interop import empi
from yigongti.interop.empi.models import LinkChange, Review, SourceRecord
from yigongti.kernel import Forbidden, Invalid
from yigongti.registry.models import Resident
from yigongti.synth.builders import make_resident


def test_a_valid_id_number_of_a_resident_links_deterministically(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        resident = make_resident(session, places(session).village, birth_date=date(1970, 5, 6))
        outcome = empi.link_record(
            session, actor(session, "window_clerk"), record_of(session, resident)
        )
        assert (outcome.decision, outcome.method) == ("linked", "id_number")
        assert outcome.resident_id == resident.id
        history = session.scalars(select(LinkChange)).all()
        assert [(h.to_resident_id, h.method) for h in history] == [(resident.id, "id_number")]


def test_a_mistyped_name_with_the_same_id_and_birth_date_still_links(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        resident = make_resident(session, places(session).village, name="王建国")
        record = record_of(session, resident, name="玉建国", phone=None, address=None)
        outcome = empi.link_record(session, actor(session, "window_clerk"), record)
        assert (outcome.resident_id, outcome.method) == (resident.id, "id_number")


def test_a_child_without_an_id_number_links_to_the_child_not_the_parent(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        village = places(session).village
        parent = make_resident(session, village, name="楼海峰", birth_date=date(1990, 3, 1))
        child = make_resident(
            session,
            village,
            name="楼子涵",
            birth_date=date(2025, 6, 9),
            sex="female",
            id_number=None,
            phone=parent.phone,
        )
        record = record_of(session, child, name="楼子晗")  # a homophone of the given name
        outcome = empi.link_record(session, actor(session, "window_clerk"), record)
        assert (outcome.decision, outcome.method) == ("linked", "probabilistic")
        assert outcome.resident_id == child.id
        assert outcome.probability is not None and outcome.probability >= 0.99


def test_an_uncertain_record_goes_to_review_and_the_clerks_decision_links_it(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        resident = make_resident(
            session,
            places(session).village,
            name="鲍秀娥",
            sex="female",
            birth_date=date(1948, 7, 14),
        )
        clerk = actor(session, "window_clerk")
        # Same name, birth date one digit off, nothing else to go on.
        record = record_of(
            session,
            resident,
            birth_date=date(1948, 7, 24),
            id_number=None,
            phone=None,
            address=None,
        )
        outcome = empi.link_record(session, clerk, record)
        assert (outcome.decision, outcome.resident_id) == ("review", None)
        total, reviews = empi.open_reviews(session, clerk)
        mine = [r for r in reviews if r.source_record_id == outcome.source_record_id]
        assert total >= 1 and len(mine) == 1
        assert mine[0].candidate_id == resident.id
        assert mine[0].agreements["birth_date"] == "close"
        assert "*" in (mine[0].candidate.id_number or "*")  # masked
        linked_to = empi.decide_review(session, clerk, mine[0].id, same_as=resident.id)
        assert linked_to == resident.id
        source = session.get(SourceRecord, outcome.source_record_id)
        assert source is not None and (source.resident_id, source.link_method) == (
            resident.id,
            "review",
        )
        assert session.get(Review, mine[0].id).status == "decided"  # type: ignore[union-attr]
        assert empi.identifiers_of(session, resident.id) == [(record.institution_id, record.mrn)]


def test_a_record_like_nobody_becomes_a_new_resident(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        number = new_id_number(session, date(1931, 2, 3))
        before = session.scalar(select(func.count()).select_from(Resident))
        outcome = empi.link_record(
            session, actor(session, "window_clerk"), stranger(session, id_number=number)
        )
        assert (outcome.decision, outcome.method) == ("new", "new")
        resident = session.get(Resident, outcome.resident_id)
        assert resident is not None and resident.id_number == number
        assert session.scalar(select(func.count()).select_from(Resident)) == before + 1


def test_resending_the_same_medical_record_number_updates_instead_of_duplicating(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        resident = make_resident(session, places(session).village)
        clerk = actor(session, "window_clerk")
        record = record_of(session, resident)
        first = empi.link_record(session, clerk, record)
        again = empi.link_record(session, clerk, record)
        moved = empi.link_record(
            session, clerk, record_of(session, resident, mrn=record.mrn, phone="13800000000")
        )
        assert first.source_record_id == again.source_record_id == moved.source_record_id
        rows = session.scalars(select(SourceRecord).where(SourceRecord.mrn == record.mrn)).all()
        assert len(rows) == 1 and rows[0].phone == "13800000000"
        assert len(session.scalars(select(LinkChange)).all()) == 1  # one link, never repeated


def test_an_id_number_with_a_wrong_check_digit_is_refused_naming_it_and_nothing_is_written(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        resident = make_resident(session, places(session).village)
        number = resident.id_number or ""
        wrong = number[:17] + ("0" if number[17] != "0" else "1")
        record = record_of(session, resident, id_number=wrong)
        with pytest.raises(Invalid) as refused:
            empi.link_record(session, actor(session, "window_clerk"), record)
        assert refused.value.fields[0].field == "id_number"
        assert "18th character" in refused.value.en
    assert count_rows(engine, "empi_source_records") == 0


def test_a_backlog_treats_a_mistyped_id_as_noise_and_reports_progress(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        resident = make_resident(session, places(session).village, birth_date=date(1966, 1, 23))
        number = resident.id_number or ""
        swapped = number[:8] + number[9] + number[8] + number[10:]  # two digits swapped
        clerk = actor(session, "window_clerk")
        staged = empi.stage_records(
            session,
            clerk,
            [record_of(session, resident, id_number=swapped), stranger(session, sex=None)],
        )
        assert staged == 2
        institution_id = places(session).center.id
    calls: list[tuple[int, int]] = []
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
    report = empi.link_backlog(engine, clerk, institution_id, lambda d, t: calls.append((d, t)))
    assert (report.total, report.linked, report.review) == (2, 1, 1)  # the stranger lacks a sex
    assert calls[0] == (0, 2) and calls[-1] == (2, 2)
    with unit_of_work(engine) as session:
        assert empi.identifiers_of(session, resident.id)[0][0] == institution_id


def test_match_candidates_ranks_the_person_first_and_audits_each_shown(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        resident = make_resident(session, places(session).village, name="郑美玲", sex="female")
        found = empi.match_candidates(
            session, actor(session, "township_doctor"), record_of(session, resident, id_number=None)
        )
        assert found[0].resident_id == resident.id
        assert found[0].agreements["name"] == "exact"
        assert found[0].probability > 0.99


def test_an_institutions_account_cannot_send_another_institutions_records(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        resident = make_resident(session, places(session).village)
        record = record_of(session, resident)  # the township center's record
        for role in ("village_doctor", "county_doctor", "integration"):
            with pytest.raises(Forbidden):
                empi.link_record(session, actor(session, role), record)
    assert count_rows(engine, "empi_source_records") == 0


def _batch_records(session: Session) -> list[empi.PatientRecord]:
    """Records of every kind: on the ID number, probabilistic, review, new, a second record of
    that new person in the same batch, a refused one, and a held ID under another name."""
    village = places(session).village
    known = make_resident(session, village, birth_date=date(1970, 5, 6))
    parent = make_resident(session, village, name="楼海峰", birth_date=date(1990, 3, 1))
    child = make_resident(
        session,
        village,
        name="楼子涵",
        birth_date=date(2025, 6, 9),
        sex="female",
        id_number=None,
        phone=parent.phone,
    )
    doubtful = make_resident(
        session, village, name="鲍秀娥", sex="female", birth_date=date(1948, 7, 14)
    )
    number = new_id_number(session, date(1931, 2, 3))
    return [
        record_of(session, known),
        record_of(session, child, name="楼子晗"),
        record_of(
            session,
            doubtful,
            birth_date=date(1948, 7, 24),
            id_number=None,
            phone=None,
            address=None,
        ),
        stranger(session, id_number=number),
        stranger(session, id_number=number, name="欧阳昕"),
        stranger(session, id_number="110101193102030000"),
        record_of(session, known, name="完颜守绪", birth_date=date(1931, 2, 3)),
    ]


def _summary(outcomes: list) -> list[tuple]:
    """Outcomes with the ids of residents registered in the run replaced by their order."""
    new_ids: dict[object, int] = {}
    out = []
    for o in outcomes:
        if not isinstance(o, empi.LinkOutcome):
            out.append(("error", type(o).__name__))
            continue
        if o.decision == "new":
            new_ids[o.resident_id] = len(new_ids)
        who = f"new#{new_ids[o.resident_id]}" if o.resident_id in new_ids else o.resident_id
        out.append((o.decision, o.method, who))
    return out


def test_a_batch_links_each_record_as_one_by_one_and_writes_nothing_for_a_refused_one(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        records = _batch_records(session)
    single: list = []
    with Session(engine) as session:
        clerk = actor(session, "window_clerk")
        for record in records:
            try:
                with session.begin_nested():
                    single.append(empi.link_record(session, clerk, record))
            except (Invalid, Forbidden) as error:
                single.append(error)
        session.rollback()
    with Session(engine) as session:
        sources, residents = (
            count_rows(engine, "empi_source_records"),
            count_rows(engine, "residents"),
        )
        batch = empi.link_records(session, actor(session, "window_clerk"), records)
        written = session.scalar(select(func.count()).select_from(SourceRecord))
        registered = session.scalar(select(func.count()).select_from(Resident))
        session.rollback()

    assert _summary(batch) == _summary(single)
    kinds = [s[0] for s in _summary(batch)]
    assert kinds == ["linked", "linked", "review", "new", "linked", "error", "review"]
    assert written == sources + 6  # the refused record left no source record
    assert registered == residents + 1


def test_a_batch_re_sending_a_medical_record_number_updates_its_source_record(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        resident = make_resident(session, places(session).village)
        clerk = actor(session, "window_clerk")
        first = record_of(session, resident)
        again = record_of(session, resident, mrn=first.mrn, phone="13800000000")
        sources = session.scalar(select(func.count()).select_from(SourceRecord))
        outcomes = empi.link_records(session, clerk, [first, again])
        assert [(o.decision, o.resident_id) for o in outcomes] == [  # type: ignore[union-attr]
            ("linked", resident.id),
            ("linked", resident.id),
        ]
        assert session.scalar(select(func.count()).select_from(SourceRecord)) == sources + 1
