"""UTCDateTime: times are stored as UTC instants and never guessed from a naive value."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from yigongti.db import UTCDateTime

CST = timezone(timedelta(hours=8))
metadata = MetaData()
moments = Table(
    "moments", metadata, Column("id", Integer, primary_key=True), Column("at", UTCDateTime)
)


@pytest.fixture
def db(empty_engine: Engine) -> Iterator[Engine]:
    metadata.create_all(empty_engine)
    yield empty_engine


def _store_and_read(engine: Engine, value: datetime | None) -> datetime | None:
    with engine.begin() as connection:
        connection.execute(insert(moments).values(id=1, at=value))
    with engine.connect() as connection:
        return connection.scalar(select(moments.c.at).where(moments.c.id == 1))


def test_an_aware_time_comes_back_as_the_same_instant_in_utc(db: Engine) -> None:
    written = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=CST)
    read = _store_and_read(db, written)
    assert read == written
    assert read.utcoffset() == timedelta(0)
    assert (read.day, read.hour, read.microsecond) == (1, 0, 123456)


def test_a_utc_time_comes_back_unchanged(db: Engine) -> None:
    written = datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert _store_and_read(db, written) == written


def test_a_naive_time_is_refused_and_nothing_is_stored(db: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        _store_and_read(db, datetime(2025, 3, 1, 8, 30))
    with db.connect() as connection:
        assert connection.scalar(select(moments.c.id)) is None


def test_a_missing_time_stays_missing(db: Engine) -> None:
    assert _store_and_read(db, None) is None
