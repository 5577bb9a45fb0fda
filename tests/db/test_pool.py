"""The pool replaces a connection that died while it sat idle, without pinging busy ones."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from yigongti.db import engine as engines


@pytest.mark.parametrize("template", ["postgresql"], indirect=True)
def test_a_connection_killed_while_idle_is_replaced_at_the_next_checkout(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 0.05)
    with engine.connect() as connection:
        first = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    # The server ends the pooled connection while it idles (asked on a connection of its own).
    admin = create_engine(engine.url, poolclass=NullPool)
    with admin.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    admin.dispose()
    time.sleep(0.1)
    with engine.connect() as connection:
        second = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    assert second != first


@pytest.mark.parametrize("template", ["postgresql"], indirect=True)
def test_a_connection_used_again_at_once_is_not_pinged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(connection))
    for _ in range(3):
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    assert pings == []
