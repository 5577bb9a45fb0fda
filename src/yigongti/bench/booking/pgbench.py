"""PostgreSQL for the bench: a database of its own, and pgbench's simple-update as the reference."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

DEFAULT_PG = os.environ.get("YGT_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")


def pg_url(admin_url: str, database: str) -> str:
    """The URL of ``database`` on the server of ``admin_url``."""
    return admin_url.rsplit("/", 1)[0] + "/" + database


def _pg_admin(admin_url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


@contextlib.contextmanager
def pg_database(admin_url: str, name: str) -> Iterator[str]:
    """A new, empty database ``name``, dropped when the block ends, whatever happens in it."""
    _pg_admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_admin(admin_url, f"CREATE DATABASE {name}")
    try:
        yield pg_url(admin_url, name)
    finally:
        _pg_admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def pgbench_clients(admin_url: str, wanted: int) -> int:
    """As many pgbench clients as wanted, but at most what ``max_connections`` leaves free."""
    (limit,), (reserved,) = (
        _pg_admin(admin_url, "SHOW max_connections")[0],
        _pg_admin(admin_url, "SHOW superuser_reserved_connections")[0],
    )
    in_use = _pg_admin(
        admin_url, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
    )[0][0]
    return max(1, min(wanted, int(limit) - max(int(reserved), 10) - int(in_use)))


TPS = re.compile(r"tps = ([\d.]+) \(without initial connection time\)")


def pgbench(url: str, clients: int, seconds: int, scale: int = 10) -> float:
    """tps of pgbench's built-in simple-update script on ``url`` (initialised at ``scale``)."""
    command = shutil.which("pgbench")
    if command is None:
        raise RuntimeError("pgbench is not installed (Debian: postgresql-client)")
    subprocess.run(
        [command, "-i", "-q", "-s", str(scale), url], check=True, capture_output=True, timeout=600
    )
    threads = min(2, clients)
    done = subprocess.run(
        [
            command,
            "-b",
            "simple-update",
            "-n",
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(seconds),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    found = TPS.search(done.stdout)
    if found is None:
        raise RuntimeError(f"no tps in pgbench's output:\n{done.stdout}\n{done.stderr}")
    return float(found.group(1))
