"""The pool replaces a connection the database ended, before a request uses it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool


@pytest.mark.parametrize("template", ["postgresql"], indirect=True)
def test_a_connection_the_database_ended_is_replaced_at_the_next_checkout(
    engine: Engine,
) -> None:
    with engine.connect() as connection:
        first = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    # The server ends the pooled connection while it idles (asked on a connection of its own).
    admin = create_engine(engine.url, poolclass=NullPool)
    with admin.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    admin.dispose()
    with engine.connect() as connection:
        second = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    assert second != first
