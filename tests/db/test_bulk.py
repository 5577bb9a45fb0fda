"""db.bulk: many checked rows written at once, as a flush or an INSERT would write them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, String, Table, Uuid, select
from sqlalchemy.orm import DeclarativeBase, Session

from yigongti.db import UTCDateTime
from yigongti.db.bulk import among, insert_rows, insert_values
from yigongti.kernel import uuid7

CST = timezone(timedelta(hours=8))
metadata = MetaData()
things = Table(
    "bulk_things",
    metadata,
    Column("id", Uuid, primary_key=True, default=uuid7),
    Column("name", String(20)),
    Column("kind", String(10), default="plain"),
    Column("parts", JSON),
    Column("at", UTCDateTime),
    Column("n", Integer),
)


@pytest.fixture
def db(empty_engine: Engine) -> Iterator[Engine]:
    metadata.create_all(empty_engine)
    yield empty_engine


def test_values_are_written_with_their_types_and_missing_columns_take_their_defaults(
    db: Engine,
) -> None:
    at = datetime(2025, 3, 1, 8, 30, tzinfo=CST)
    rows = [
        {"name": "甲", "parts": [{"code": "8480-6", "value": 120.0}], "at": at, "n": 1},
        {"name": "O'Brien \\ tab\t", "parts": None, "at": None, "n": None},
    ]
    with Session(db) as session, session.begin():
        insert_values(session, things, rows)
    with db.connect() as connection:
        read = connection.execute(select(things).order_by(things.c.name)).mappings().all()
    assert [(r["name"], r["kind"], r["parts"], r["at"], r["n"]) for r in read] == [
        ("O'Brien \\ tab\t", "plain", None, None, None),
        ("甲", "plain", [{"code": "8480-6", "value": 120.0}], at, 1),
    ]
    assert all(r["id"] is not None for r in read)


class _Base(DeclarativeBase):
    metadata = metadata


class Thing(_Base):
    """An ORM class over ``bulk_things``."""

    __table__ = things


def test_unsaved_objects_get_their_ids_and_defaults_and_stay_out_of_the_session(
    db: Engine,
) -> None:
    made = [Thing(name="甲", n=1), Thing(name="乙", kind="special", n=2)]
    with Session(db) as session, session.begin():
        insert_rows(session, made)
        assert not session.new and all(t not in session for t in made)
    assert all(t.id is not None for t in made)
    with db.connect() as connection:
        read = dict(connection.execute(select(things.c.id, things.c.kind)).all())
    assert read == {made[0].id: "plain", made[1].id: "special"}


def test_among_finds_the_rows_an_in_list_finds(db: Engine) -> None:
    with Session(db) as session, session.begin():
        insert_values(session, things, [{"name": f"n{i}", "n": i} for i in range(30)])
    with Session(db) as session:
        ids = list(session.scalars(select(things.c.id).where(things.c.n < 20)))
        wanted = set(ids[::3]) | {uuid7()}  # and an id of no row
        found = set(session.scalars(select(things.c.id).where(among(session, things.c.id, wanted))))
        by_name = set(session.scalars(select(things.c.n).where(among(session, things.c.name, []))))
    assert found == set(ids[::3])
    assert by_name == set()
