"""Merging residents found to be one person, and undoing it exactly; both in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from tests.interop.empi.conftest import record_of
from tests.support import actor, places
from yigongti.db import unit_of_work
from yigongti.interop import empi
from yigongti.interop.empi.models import LinkChange, SourceRecord
from yigongti.kernel import Conflict, Forbidden
from yigongti.registry.models import Resident
from yigongti.security import AuditEvent
from yigongti.synth.builders import make_resident


def _links(session) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return dict(session.execute(select(SourceRecord.id, SourceRecord.resident_id)).all())


def test_merge_then_unmerge_restores_every_link_exactly_and_both_are_audited(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        village = places(session).village
        survivor = make_resident(session, village, name="施国华")
        duplicate = make_resident(session, village, name="施国华")
        clerk, admin = actor(session, "window_clerk"), actor(session, "system_admin")
        for person in (survivor, duplicate, duplicate):
            empi.link_record(session, clerk, record_of(session, person))
        before = _links(session)

        merge = empi.merge_residents(session, admin, survivor.id, duplicate.id, "同一人重复建档")
        assert merge.records_moved == 2
        assert set(_links(session).values()) == {survivor.id}
        assert len(empi.identifiers_of(session, survivor.id)) == 3
        assert session.get(Resident, duplicate.id).merged_into_id == survivor.id  # type: ignore[union-attr]

        undone = empi.unmerge(session, admin, merge.id)
        assert undone.records_moved == 2 and undone.undone_at is not None
        assert _links(session) == before
        assert session.get(Resident, duplicate.id).merged_into_id is None  # type: ignore[union-attr]
        history = session.scalars(select(LinkChange).where(LinkChange.merge_id == merge.id)).all()
        assert sorted(h.why for h in history) == ["merge", "merge", "unmerge", "unmerge"]
        session.flush()
    with unit_of_work(engine) as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == str(merge.id))
        ).all()
        assert sorted(actions) == ["merge", "merge", "unmerge", "unmerge"]


def test_a_merge_cannot_be_undone_twice(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        village = places(session).village
        a, b = make_resident(session, village), make_resident(session, village)
        admin = actor(session, "system_admin")
        merge = empi.merge_residents(session, admin, a.id, b.id, "duplicate registration")
        empi.unmerge(session, admin, merge.id)
        with pytest.raises(Conflict):
            empi.unmerge(session, admin, merge.id)


@pytest.mark.parametrize("role", ["village_doctor", "window_clerk"])
def test_only_the_system_administrator_merges(engine: Engine, role: str) -> None:
    with unit_of_work(engine) as session:
        village = places(session).village
        a, b = make_resident(session, village), make_resident(session, village)
        with pytest.raises(Forbidden):
            empi.merge_residents(session, actor(session, role), a.id, b.id, "duplicate")


def test_a_village_doctor_cannot_see_or_decide_reviews(engine: Engine) -> None:
    with unit_of_work(engine) as session, pytest.raises(Forbidden):
        empi.open_reviews(session, actor(session, "village_doctor"))
