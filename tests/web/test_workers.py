"""``ygt serve --workers N``: each worker on its own socket, a dead one replaced, all stopped."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from yigongti.bench import booking as bench
from yigongti.db import make_engine
from yigongti.db.migrate import upgrade

pytestmark = pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")


def _workers(supervisor: int) -> set[int]:
    """The worker processes of ``supervisor`` (spawned children running a server)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == supervisor and b"spawn_main" in command:
            found.add(int(stat.parent.name))
    return found


def _wait(condition: Callable[[], bool], seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_two_workers_serve_a_dead_one_is_replaced_and_sigterm_stops_all(
    database_url: str, tmp_path: Path
) -> None:
    port = bench.free_port()
    data_dir = tmp_path / "server"
    server = bench.start_server(database_url, secrets.token_urlsafe(48), data_dir, port, 2)
    try:
        bench.wait_healthy(port, server, data_dir)
        _wait(lambda: len(_workers(server.pid)) == 2)
        first = _workers(server.pid)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: len(_workers(server.pid)) == 2 and victim not in _workers(server.pid))
        bench.wait_healthy(port, server, data_dir)
        survivors = _workers(server.pid)
        server.terminate()
        assert server.wait(timeout=30) == 0, bench.server_log(data_dir)
        assert not any(Path(f"/proc/{pid}").exists() for pid in survivors)
    finally:
        bench.stop_server(server)


def test_a_port_taken_by_another_program_is_refused_clearly(
    database_url: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "YGT_DATABASE_URL": database_url, "YGT_DATA_DIR": str(tmp_path)}
        command = [sys.executable, "-m", "yigongti.cli", "serve", "--port", str(port)]
        done = subprocess.run(
            [*command, "--workers", "2", "--jobs-every", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stdout
